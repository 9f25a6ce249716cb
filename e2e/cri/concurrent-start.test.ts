/**
 * Many pods started at once, as kubelet does after a node reboot: every RunPodSandbox →
 * CreateContainer → StartContainer succeeds and every container runs (each reads its own
 * /dev/null and /dev/zero, made by skiff-shim's device step), then all are removed at
 * once and nothing is left.
 */
import { afterAll, beforeAll, expect, test } from "@jest/globals";
import { mkdirSync } from "node:fs";
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
import { podConfig } from "./sandbox-helpers.js";

const PODS = 24;

let registry: TestRegistry;
let dirs: DaemonDirs;
let daemon: RunningDaemon;
let image: string;

const call = <T>(method: string, request: object) =>
  rpc<T>(daemon.clients.runtime, method, request, 120_000);

beforeAll(async () => {
  registry = await startRegistry();
  image = `${registry.host}/library/busybox:latest`;
  await pushImage(registry, "library/busybox", "latest", busyboxImage("gzip"));
  dirs = tempDirs("skiff-e2e-concurrent-");
  mkdirSync(dirs.root, { recursive: true });
  daemon = await startDaemon(dirs);
  await rpc(daemon.clients.image, "PullImage", { image: { image } });
}, 60_000);

afterAll(async () => {
  try {
    const { items } = await call<{ items: { id: string }[] }>("ListPodSandbox", {});
    for (const { id } of items) {
      await call("StopPodSandbox", { pod_sandbox_id: id }).catch(() => undefined);
      await call("RemovePodSandbox", { pod_sandbox_id: id }).catch(() => undefined);
    }
    await daemon?.stop();
  } finally {
    if (dirs) removeDirs(dirs);
    await registry?.stop();
  }
}, 120_000);

test(`${PODS} pods started at once all run, and all are removed at once`, async () => {
  const started = await Promise.allSettled(
    Array.from({ length: PODS }, async (_, i) => {
      const config = podConfig(`many-${i}`, { hostNetwork: true });
      const { pod_sandbox_id } = await call<{ pod_sandbox_id: string }>("RunPodSandbox", {
        config,
      });
      const { container_id } = await call<{ container_id: string }>("CreateContainer", {
        pod_sandbox_id,
        config: {
          metadata: { name: "c", attempt: 0 },
          image: { image },
          command: ["sh", "-c", "head -c 4 /dev/zero > /dev/null && exec sleep 600"],
        },
        sandbox_config: config,
      });
      await call("StartContainer", { container_id });
      return { pod_sandbox_id, container_id };
    }),
  );
  const failures = started.flatMap((r) =>
    r.status === "rejected" ? [(r.reason as Error).message] : [],
  );
  expect(failures).toEqual([]);

  const { containers } = await call<{ containers: { state: string }[] }>("ListContainers", {});
  expect(containers.map((c) => c.state)).toEqual(Array(PODS).fill("CONTAINER_RUNNING"));

  await Promise.all(
    started.map(async (r) => {
      if (r.status !== "fulfilled") return;
      await call("StopPodSandbox", { pod_sandbox_id: r.value.pod_sandbox_id });
      await call("RemovePodSandbox", { pod_sandbox_id: r.value.pod_sandbox_id });
    }),
  );
  expect((await call<{ items: unknown[] }>("ListPodSandbox", {})).items).toEqual([]);
}, 180_000);
