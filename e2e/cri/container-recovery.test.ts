/**
 * skiff-cri SIGKILLed inside CreateContainer and StopContainer, at the container crash
 * points of the SKIFF_TEST_CRASH_AT hook (services/crash-point.ts), then restarted: a
 * half-created container is rolled back (store row, rootfs mount, snapshot, monitor and
 * its waiting process, directories) and its name is free again; a container whose stop
 * was cut short is still running and stops on the next StopContainer.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { existsSync, mkdirSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { rpc } from "../../cri/src/cli/client.js";
import { busyboxImage, pushImage } from "../harness/images.js";
import { startRegistry, type TestRegistry } from "../harness/registry.js";
import {
  removeDirs,
  startDaemon,
  tempDirs,
  type DaemonDirs,
  type RunningDaemon,
} from "../harness/skiff-cri.js";
import { codeOf } from "./sandbox-helpers.js";

let registry: TestRegistry;
let dirs: DaemonDirs;
let daemon: RunningDaemon | undefined;
let image: string;
let podId: string;

const podConfig = {
  metadata: { name: "recovery", namespace: "e2e", uid: "uid-recovery", attempt: 0 },
  linux: {
    security_context: { namespace_options: { network: "NODE", pid: "CONTAINER", ipc: "POD" } },
  },
};

const containerConfig = (name: string) => ({
  metadata: { name, attempt: 0 },
  image: { image },
  // pid 1 of its namespace with no handler: SIGTERM is ignored, SIGKILL is not.
  command: ["sleep", "1000"],
});

async function restart(env: Record<string, string> = {}): Promise<RunningDaemon> {
  await daemon?.stop("SIGKILL");
  daemon = await startDaemon(dirs, [], env);
  return daemon;
}

const call = <T>(d: RunningDaemon, method: string, request: object) =>
  rpc<T>(d.clients.runtime, method, request);

const create = (d: RunningDaemon, name: string) =>
  call<{ container_id: string }>(d, "CreateContainer", {
    pod_sandbox_id: podId,
    config: containerConfig(name),
    sandbox_config: podConfig,
  });

const containersDir = () => join(dirs.root, "containers");
const mountsUnder = (dir: string) =>
  readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter((l) => l.split(" ")[4]?.startsWith(dir)).length;
/** Pids of the container processes and monitors the state dir knows. */
function containerPids(): number[] {
  const dir = join(dirs.state, "containers");
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((id) => {
    try {
      return [Number(readFileSync(join(dir, id, "pid"), "utf8").trim())];
    } catch {
      return [];
    }
  });
}
const alive = (pid: number) => pid > 0 && existsSync(`/proc/${pid}`);
const snapshotCount = () => readdirSync(join(dirs.root, "snapshots")).length;

beforeAll(async () => {
  registry = await startRegistry();
  image = `${registry.host}/library/busybox:latest`;
  await pushImage(registry, "library/busybox", "latest", busyboxImage("gzip"));
  dirs = tempDirs("skiff-e2e-crecovery-");
  mkdirSync(dirs.root, { recursive: true });
  const d = await restart();
  await rpc(d.clients.image, "PullImage", { image: { image } });
  podId = (await call<{ pod_sandbox_id: string }>(d, "RunPodSandbox", { config: podConfig }))
    .pod_sandbox_id;
});

afterAll(async () => {
  try {
    const d = daemon?.process.exitCode === null ? daemon : await restart();
    await call(d, "StopPodSandbox", { pod_sandbox_id: podId }).catch(() => undefined);
    await call(d, "RemovePodSandbox", { pod_sandbox_id: podId }).catch(() => undefined);
    await d.stop();
  } finally {
    if (dirs) removeDirs(dirs);
    await registry?.stop();
  }
}, 60_000);

describe("a crash in CreateContainer", () => {
  test.each(["container:after-rootfs", "container:after-shim"])(
    "at %s: restart rolls the container back and frees its name",
    async (point) => {
      const snapshotsBefore = snapshotCount();
      const crashing = await restart({ SKIFF_TEST_CRASH_AT: point });
      expect(await codeOf(create(crashing, "crash"))).not.toBe("ok");
      await crashing.exited;
      expect(crashing.process.signalCode).toBe("SIGKILL");
      expect(mountsUnder(containersDir())).toBe(1);
      const pids = containerPids();
      if (point === "container:after-shim") expect(pids.some(alive)).toBe(true);

      const d = await restart();
      expect((await call<{ containers: unknown[] }>(d, "ListContainers", {})).containers).toEqual(
        [],
      );
      expect(mountsUnder(containersDir())).toBe(0);
      expect(readdirSync(containersDir())).toEqual([]);
      expect(snapshotCount()).toBe(snapshotsBefore);
      for (const pid of pids) expect(alive(pid)).toBe(false);

      const { container_id } = await create(d, "crash");
      await call(d, "RemoveContainer", { container_id });
    },
  );
});

describe("a crash in StopContainer", () => {
  test("after the stop signal: the container still runs, and the next stop ends it", async () => {
    const first = await restart();
    const { container_id } = await create(first, "stopping");
    await call(first, "StartContainer", { container_id });
    const crashing = await restart({ SKIFF_TEST_CRASH_AT: "container:after-stop-signal" });
    expect(await codeOf(call(crashing, "StopContainer", { container_id, timeout: 30 }))).not.toBe(
      "ok",
    );
    await crashing.exited;

    const d = await restart();
    const state = async () =>
      (await call<{ status: { state: string } }>(d, "ContainerStatus", { container_id })).status
        .state;
    expect(await state()).toBe("CONTAINER_RUNNING");
    await call(d, "StopContainer", { container_id, timeout: 1 });
    expect(await state()).toBe("CONTAINER_EXITED");
    await call(d, "RemoveContainer", { container_id });
    expect(mountsUnder(containersDir())).toBe(0);
  });
});
