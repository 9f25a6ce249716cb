/**
 * gRPC clients for skiff-cri's socket: the CRI services and Skiff's own, typed with the
 * generated types. Used by the skiff CLI and by tests.
 */
import { credentials, type ServiceClientConstructor } from "@grpc/grpc-js";
import { loadGrpcObject } from "../grpc/proto.js";
import type { RuntimeServiceClient } from "../generated/runtime/v1/RuntimeService.js";
import type { ImageServiceClient } from "../generated/runtime/v1/ImageService.js";
import type { ConfigClient } from "../generated/skiff/v1/Config.js";
import type { ImagesClient } from "../generated/skiff/v1/Images.js";
import type { BuildsClient } from "../generated/skiff/v1/Builds.js";
import type { EventsClient } from "../generated/skiff/v1/Events.js";
import type { ContainersClient } from "../generated/skiff/v1/Containers.js";

export interface SkiffClients {
  runtime: RuntimeServiceClient;
  image: ImageServiceClient;
  config: ConfigClient;
  images: ImagesClient;
  builds: BuildsClient;
  events: EventsClient;
  containers: ContainersClient;
  close(): void;
}

export const defaultSocket = "/run/skiff/cri.sock";

export function connect(socket: string = defaultSocket): SkiffClients {
  const pkg = loadGrpcObject() as unknown as {
    runtime: { v1: Record<string, ServiceClientConstructor> };
    skiff: { v1: Record<string, ServiceClientConstructor> };
  };
  const address = `unix://${socket}`;
  const options = {
    "grpc.max_receive_message_length": 64 * 1024 * 1024,
    "grpc.max_send_message_length": 16 * 1024 * 1024,
  };
  const make = <T>(ctor: ServiceClientConstructor | undefined): T => {
    if (!ctor) throw new Error("service missing from the proto definitions");
    return new ctor(address, credentials.createInsecure(), options) as unknown as T;
  };
  const clients = {
    runtime: make<RuntimeServiceClient>(pkg.runtime.v1["RuntimeService"]),
    image: make<ImageServiceClient>(pkg.runtime.v1["ImageService"]),
    config: make<ConfigClient>(pkg.skiff.v1["Config"]),
    images: make<ImagesClient>(pkg.skiff.v1["Images"]),
    builds: make<BuildsClient>(pkg.skiff.v1["Builds"]),
    events: make<EventsClient>(pkg.skiff.v1["Events"]),
    containers: make<ContainersClient>(pkg.skiff.v1["Containers"]),
  };
  return {
    ...clients,
    close: () => Object.values(clients).forEach((c) => (c as unknown as { close(): void }).close()),
  };
}

/**
 * One unary call as a promise: `await rpc<VersionResponse__Output>(c.runtime, "Version", {})`.
 * The deadline defaults to two minutes.
 */
export function rpc<Res>(
  client: object,
  method: string,
  request: object,
  deadlineMs = 120_000,
): Promise<Res> {
  const fn = (client as Record<string, unknown>)[method];
  if (typeof fn !== "function") return Promise.reject(new Error(`no RPC named ${method}`));
  return new Promise((resolve, reject) => {
    fn.call(
      client,
      request,
      { deadline: Date.now() + deadlineMs },
      (err: Error | null, response?: Res) => (err ? reject(err) : resolve(response as Res)),
    );
  });
}
