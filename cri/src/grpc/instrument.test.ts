import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import {
  Server,
  ServerCredentials,
  credentials,
  status,
  type ServiceClientConstructor,
} from "@grpc/grpc-js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pino } from "pino";
import { SkiffError, errorKinds } from "../core/errors.js";
import { grpcCodeOf } from "./error-codes.js";
import { instrumentService, maxDetails, requestIds } from "./instrument.js";
import { loadGrpcObject, loadServices } from "./proto.js";

// A real gRPC server and client on a unix socket, serving the CRI RuntimeService
// through the instrument wrapper with handlers that misbehave on purpose.
describe("instrumentService", () => {
  const dir = mkdtempSync(join(tmpdir(), "skiff-instrument-"));
  const socket = join(dir, "test.sock");
  const lines: Record<string, unknown>[] = [];
  const log = pino(
    { level: "debug" },
    new Writable({
      write(chunk, _encoding, callback) {
        lines.push(JSON.parse(String(chunk)));
        callback();
      },
    }),
  );
  let ready = false;
  let kind: (typeof errorKinds)[number] = "NotFound";
  const server = new Server();
  let client: Record<string, (...args: unknown[]) => unknown> & { close(): void };

  beforeAll(async () => {
    const definition = loadServices().runtime;
    server.addService(
      definition,
      instrumentService(
        definition,
        {
          Version: () => ({
            version: "x",
            runtime_name: "test",
            runtime_version: "1",
            runtime_api_version: "v1",
          }),
          ContainerStatus: () => {
            throw new SkiffError(kind, `failing with ${kind}`);
          },
          PodSandboxStatus: () => {
            throw new TypeError("boom");
          },
          StartContainer: (request: { container_id: string }) => {
            throw new SkiffError("NotFound", `container ${request.container_id} not found`);
          },
        },
        {
          service: "runtime.v1.RuntimeService",
          log,
          gate: { notReady: () => (ready ? undefined : "recovering") },
        },
      ),
    );
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(`unix://${socket}`, ServerCredentials.createInsecure(), (err) =>
        err ? reject(err) : resolve(),
      ),
    );
    const pkg = loadGrpcObject() as unknown as {
      runtime: { v1: Record<string, ServiceClientConstructor> };
    };
    const Ctor = pkg.runtime.v1["RuntimeService"] as ServiceClientConstructor;
    client = new Ctor(`unix://${socket}`, credentials.createInsecure()) as unknown as typeof client;
  });

  afterAll(() => {
    client.close();
    server.forceShutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  const call = (method: string, request: object) =>
    new Promise<{ code: number; details?: string; response?: unknown }>((resolve) => {
      const fn = client[method] as (
        req: object,
        cb: (err: { code: number; details: string } | null, res?: unknown) => void,
      ) => void;
      fn.call(client, request, (err, response) =>
        resolve(err ? { code: err.code, details: err.details } : { code: status.OK, response }),
      );
    });

  test("refuses every call with UNAVAILABLE until the gate opens", async () => {
    ready = false;
    expect(await call("Version", {})).toEqual({ code: status.UNAVAILABLE, details: "recovering" });
    expect((await call("ListContainers", {})).code).toBe(status.UNAVAILABLE);
    ready = true;
    const ok = await call("Version", {});
    expect(ok.code).toBe(status.OK);
    expect(ok.response).toMatchObject({ runtime_name: "test" });
  });

  test("RPCs without a handler answer UNIMPLEMENTED, naming the RPC", async () => {
    ready = true;
    expect(await call("ListContainers", {})).toEqual({
      code: status.UNIMPLEMENTED,
      details: "runtime.v1.RuntimeService/ListContainers is not implemented by skiff-cri yet",
    });
  });

  test.each(errorKinds.map((k) => [k]))("error kind %s maps to its gRPC code", async (k) => {
    ready = true;
    kind = k;
    const result = await call("ContainerStatus", { container_id: "c1" });
    expect(result).toEqual({ code: grpcCodeOf[k], details: `failing with ${k}` });
  });

  test("a message quoting a huge field is cut, and the connection survives it", async () => {
    ready = true;
    const huge = "h".repeat(3 << 20);
    const result = await call("StartContainer", { container_id: huge });
    expect(result.code).toBe(status.NOT_FOUND);
    expect(result.details).toBe(
      `container ${"h".repeat(maxDetails - 10)}… (${(3 << 20) + 20 - maxDetails} more characters)`,
    );
    // the client kept its connection: the next call on it works
    expect((await call("Version", {})).code).toBe(status.OK);
    // a cut through a surrogate pair, and a lone surrogate, are sent as U+FFFD
    const emoji = await call("StartContainer", { container_id: `x${"\u{1f600}".repeat(3000)}` });
    expect(emoji.code).toBe(status.NOT_FOUND);
    expect(emoji.details?.slice(maxDetails - 1, maxDetails + 1)).toBe("\ufffd…");
    expect((await call("StartContainer", { container_id: "a\ud800b" })).details).toMatch(
      /^container a\ufffd+b not found$/,
    );
  });

  test("an unknown error is INTERNAL and logged with its stack and the request ids", async () => {
    ready = true;
    lines.length = 0;
    const result = await call("PodSandboxStatus", { pod_sandbox_id: "p1" });
    expect(result).toEqual({ code: status.INTERNAL, details: "internal error: boom" });
    const logged = lines.find((l) => l["msg"] === "internal error") as {
      err?: { stack?: string };
      rpc?: string;
      pod_sandbox_id?: string;
    };
    expect(logged?.err?.stack).toContain("TypeError: boom");
    expect(logged?.rpc).toBe("runtime.v1.RuntimeService/PodSandboxStatus");
    expect(logged?.pod_sandbox_id).toBe("p1");
  });

  test("each call is logged with its RPC name, ids and duration", async () => {
    ready = true;
    lines.length = 0;
    await call("ContainerStatus", { container_id: "c9" });
    const line = lines.find((l) => l["rpc"] === "runtime.v1.RuntimeService/ContainerStatus");
    expect(line).toMatchObject({
      container_id: "c9",
      code: expect.any(String),
      ms: expect.any(Number),
    });
  });

  test("a handler for an RPC the service lacks is a start-up error", () => {
    expect(() =>
      instrumentService(
        loadServices().runtime,
        { Verson: () => ({}) },
        { service: "s", log, gate: { notReady: () => undefined } },
      ),
    ).toThrow("s has no RPC named Verson");
  });
});

describe("requestIds", () => {
  test("picks the ids a request carries", () => {
    expect(
      requestIds({
        pod_sandbox_id: "p",
        container_id: "",
        image: { image: "busybox" },
        config: { metadata: { name: "n" } },
      }),
    ).toEqual({ pod_sandbox_id: "p", image: "busybox", name: "n" });
    expect(requestIds(undefined)).toEqual({});
  });
});
