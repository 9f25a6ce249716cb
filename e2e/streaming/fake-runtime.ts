/**
 * A tiny runtime.v1 RuntimeService for streaming tests and benchmarks: it answers
 * Version, Exec, ExecSync, Attach, PortForward and the status calls crictl makes, with
 * URLs from a StreamingServer backed by host processes (HostProcessBackend).
 */
import {
  Server,
  ServerCredentials,
  status,
  type ServiceError,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadServices } from "../../cri/src/grpc/proto.js";
import { execSync } from "../../cri/src/streaming/exec-sync.js";
import { HostProcessBackend } from "../../cri/src/streaming/host-process-backend.js";
import { StreamingServer } from "../../cri/src/streaming/server.js";
import type { Logger } from "../../cri/src/core/log.js";

export interface FakeRuntime {
  socket: string;
  dir: string;
  streaming: StreamingServer;
  backend: HostProcessBackend;
  close(): Promise<void>;
}

type Call = { request: Record<string, unknown> };
type Done = (err: Partial<ServiceError> | null, value?: unknown) => void;

/** A RuntimeService that knows one pod ("pod1") and whatever containers the test starts. */
export async function startFakeRuntime(
  opts: { logger?: Logger; tls?: { cert: Buffer; key: Buffer } } = {},
): Promise<FakeRuntime> {
  const dir = mkdtempSync(join(tmpdir(), "skiff-stream-"));
  const socket = join(dir, "cri.sock");
  const backend = new HostProcessBackend();
  const streaming = new StreamingServer({
    backend,
    ...(opts.logger ? { logger: opts.logger } : {}),
    ...(opts.tls ? { tls: opts.tls } : {}),
  });
  await streaming.start();
  const containerStatus = (id: string): Record<string, unknown> => ({
    id,
    metadata: { name: id, attempt: 0 },
    state: "CONTAINER_RUNNING",
    created_at: String(Date.now() * 1e6),
    started_at: String(Date.now() * 1e6),
    image: { image: "host" },
    image_ref: "host",
    labels: {},
    annotations: {},
  });
  const wrap =
    (fn: (req: Record<string, unknown>) => Promise<unknown> | unknown) =>
    (call: Call, done: Done): void => {
      Promise.resolve()
        .then(() => fn(call.request))
        .then(
          (v) => done(null, v),
          (err: Error & { kind?: string }) =>
            done({
              code: err.kind === "InvalidArgument" ? status.INVALID_ARGUMENT : status.INTERNAL,
              details: err.message,
            }),
        );
    };
  const impl: UntypedServiceImplementation = {
    Version: wrap(() => ({
      version: "0.1.0",
      runtime_name: "skiff-test",
      runtime_version: "0.1.0",
      runtime_api_version: "v1",
    })),
    Exec: wrap((r) => ({
      url: streaming.getExec({
        containerId: String(r.container_id),
        cmd: r.cmd as string[],
        tty: Boolean(r.tty),
        stdin: Boolean(r.stdin),
        stdout: Boolean(r.stdout),
        stderr: Boolean(r.stderr),
      }),
    })),
    ExecSync: wrap(async (r) => {
      const out = await execSync(backend, {
        containerId: String(r.container_id),
        cmd: r.cmd as string[],
        timeoutMs: Number(r.timeout ?? 0) * 1000,
      });
      return { stdout: out.stdout, stderr: out.stderr, exit_code: out.exitCode };
    }),
    Attach: wrap((r) => ({
      url: streaming.getAttach({
        containerId: String(r.container_id),
        tty: Boolean(r.tty),
        stdin: Boolean(r.stdin),
        stdout: Boolean(r.stdout),
        stderr: Boolean(r.stderr),
      }),
    })),
    PortForward: wrap((r) => ({
      url: streaming.getPortForward({
        podSandboxId: String(r.pod_sandbox_id),
        ports: (r.port as number[]) ?? [],
      }),
    })),
    ContainerStatus: wrap((r) => ({ status: containerStatus(String(r.container_id)), info: {} })),
    ListContainers: wrap(() => ({ containers: [] })),
    PodSandboxStatus: wrap((r) => ({
      status: {
        id: r.pod_sandbox_id,
        metadata: { name: "pod1", uid: "uid1", namespace: "default", attempt: 0 },
        state: "SANDBOX_READY",
        created_at: String(Date.now() * 1e6),
        labels: {},
        annotations: {},
      },
      info: {},
    })),
  };
  const server = new Server();
  server.addService(loadServices().runtime, impl);
  server.addService(loadServices().image, {
    ImageFsInfo: wrap(() => ({ image_filesystems: [], container_filesystems: [] })),
  });
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`unix://${socket}`, ServerCredentials.createInsecure(), (err) =>
      err ? reject(err) : resolve(),
    ),
  );
  return {
    socket,
    dir,
    streaming,
    backend,
    async close() {
      backend.stopAll();
      await streaming.stop();
      await new Promise<void>((r) => server.tryShutdown(() => r()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function crictlArgs(socket: string, args: string[]): string[] {
  return ["--runtime-endpoint", `unix://${socket}`, "--timeout", "10s", ...args];
}
