/**
 * The gRPC server of skiff-cri on its unix socket: the CRI RuntimeService and
 * ImageService (runtime.v1) and Skiff's own skiff.v1 services, every handler wrapped by
 * instrument.ts; a request body that does not decode reaches the wrapper as such
 * (undecodable.ts), which answers it INVALID_ARGUMENT. The socket is 0660 in a
 * directory created for it; a stale socket is replaced and a live one refused
 * (core/host/unix-socket.ts).
 */
import { Server, ServerCredentials } from "@grpc/grpc-js";
import { chmodSync, unlinkSync } from "node:fs";
import { prepareSocketPath } from "../core/host/unix-socket.js";
import { SystemError } from "../core/errors.js";
import type { Logger } from "../core/log.js";
import type { Services } from "./context.js";
import { imageHandlers } from "./image/index.js";
import { instrumentService, type Gate } from "./instrument.js";
import { loadServices } from "./proto.js";
import { passPreEncoded } from "./pre-encoded.js";
import { runtimeHandlers } from "./runtime/index.js";
import { skiffHandlers } from "./skiff/index.js";
import { keepUndecodable } from "./undecodable.js";

export interface GrpcServerOptions {
  socket: string;
  log: Logger;
  gate: Gate;
  services: Services;
}

/**
 * Requests up to 16 MiB (kubelet's limit); answers up to 40 MiB, so an ExecSync answer
 * with both streams at their 16 MiB cap still leaves the server.
 */
const maxReceiveBytes = 16 * 1024 * 1024;
const maxSendBytes = 40 * 1024 * 1024;

export class GrpcServer {
  private constructor(
    private readonly server: Server,
    readonly socket: string,
  ) {}

  static async listen(options: GrpcServerOptions): Promise<GrpcServer> {
    const definitions = loadServices();
    const server = new Server({
      "grpc.max_receive_message_length": maxReceiveBytes,
      "grpc.max_send_message_length": maxSendBytes,
    });
    const log = options.log;
    server.addService(
      passPreEncoded(keepUndecodable(definitions.runtime)),
      instrumentService(definitions.runtime, runtimeHandlers(options.services), {
        service: "runtime.v1.RuntimeService",
        log,
        gate: options.gate,
      }),
    );
    server.addService(
      keepUndecodable(definitions.image),
      instrumentService(definitions.image, imageHandlers(options.services), {
        service: "runtime.v1.ImageService",
        log,
        gate: options.gate,
      }),
    );
    const skiff = skiffHandlers(options.services);
    for (const [name, definition] of Object.entries(definitions.skiff)) {
      server.addService(
        keepUndecodable(definition),
        instrumentService(definition, skiff[name] ?? {}, {
          service: `skiff.v1.${name}`,
          log,
          gate: options.gate,
        }),
      );
    }

    await prepareSocketPath(options.socket);
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(`unix://${options.socket}`, ServerCredentials.createInsecure(), (err) =>
        err ? reject(new SystemError("listen on", options.socket, err)) : resolve(),
      ),
    );
    try {
      chmodSync(options.socket, 0o660);
    } catch (err) {
      server.forceShutdown();
      throw new SystemError("chmod", options.socket, err);
    }
    return new GrpcServer(server, options.socket);
  }

  /** Lets calls in flight finish for up to `graceMs`, then cuts the rest. */
  async stop(graceMs: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, graceMs);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    try {
      unlinkSync(this.socket);
    } catch {
      // already gone
    }
  }
}
