import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { Client, Metadata, Server, ServerCredentials, credentials, status } from "@grpc/grpc-js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { instrumentService } from "./instrument.js";
import { loadServices } from "./proto.js";
import { keepUndecodable } from "./undecodable.js";

// A real server on a unix socket, sent bodies that are not protobufs of the request type.
describe("keepUndecodable", () => {
  const dir = mkdtempSync(join(tmpdir(), "skiff-undecodable-"));
  const socket = join(dir, "test.sock");
  const server = new Server();
  let client: Client;
  const seen: unknown[] = [];

  beforeAll(async () => {
    const definition = loadServices().runtime;
    server.addService(
      keepUndecodable(definition),
      instrumentService(
        definition,
        {
          Version: (request: unknown) => {
            seen.push(request);
            return {
              version: "x",
              runtime_name: "t",
              runtime_version: "1",
              runtime_api_version: "v1",
            };
          },
          GetContainerEvents: async () => undefined,
        },
        {
          service: "runtime.v1.RuntimeService",
          log: pino({ level: "silent" }),
          gate: { notReady: () => undefined },
        },
      ),
    );
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(`unix://${socket}`, ServerCredentials.createInsecure(), (err) =>
        err ? reject(err) : resolve(),
      ),
    );
    client = new Client(`unix://${socket}`, credentials.createInsecure());
  });

  afterAll(() => {
    client.close();
    server.forceShutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  const unary = (method: string, body: Buffer) =>
    new Promise<{ code: number; details: string }>((resolve) =>
      client.makeUnaryRequest(
        `/runtime.v1.RuntimeService/${method}`,
        (b: Buffer) => b,
        (b: Buffer) => b,
        body,
        new Metadata(),
        {},
        (err) =>
          resolve(
            err ? { code: err.code, details: err.details } : { code: status.OK, details: "" },
          ),
      ),
    );

  test("a body cut short is INVALID_ARGUMENT naming the request type; the handler never runs", async () => {
    seen.length = 0;
    // field 1 (version, a string) with an invalid wire type (6)
    const result = await unary("Version", Buffer.from([0x0e]));
    expect(result.code).toBe(status.INVALID_ARGUMENT);
    expect(result.details).toMatch(
      /^the request \(1 bytes\) is not a valid runtime\.v1\.VersionRequest protobuf: /,
    );
    expect(seen).toEqual([]);
  });

  test("a nested message cut short, a field with the wrong wire type: refused the same way", async () => {
    // RunPodSandboxRequest.config says 5 bytes follow; 1 does
    const cut = await unary("RunPodSandbox", Buffer.from([0x0a, 0x05, 0x0a]));
    expect(cut.code).toBe(status.INVALID_ARGUMENT);
    expect(cut.details).toContain("runtime.v1.RunPodSandboxRequest protobuf: index out of range");
    // config (a message) as a varint: read as a length past the end
    expect((await unary("RunPodSandbox", Buffer.from([0x08, 0x05]))).code).toBe(
      status.INVALID_ARGUMENT,
    );
  });

  test("a body that decodes still reaches the handler", async () => {
    seen.length = 0;
    expect((await unary("Version", Buffer.from([0x0a, 0x01, 0x61]))).code).toBe(status.OK);
    expect(seen).toEqual([{ version: "a" }]);
  });

  test("a server stream opened with an undecodable body ends INVALID_ARGUMENT", async () => {
    const call = client.makeServerStreamRequest(
      "/runtime.v1.RuntimeService/GetContainerEvents",
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.from([0xff]),
      new Metadata(),
      {},
    );
    const code = await new Promise<number>((resolve) => {
      call.on("data", () => undefined);
      call.on("error", (err: { code: number }) => resolve(err.code));
      call.on("status", (s: { code: number }) => resolve(s.code));
    });
    expect(code).toBe(status.INVALID_ARGUMENT);
  });
});
