/**
 * skiff-cri SIGKILLed in the middle of RunPodSandbox, at each crash point of the
 * SKIFF_TEST_CRASH_AT test hook (services/crash-point.ts), then restarted:
 * half-created pods are rolled back with nothing leaked (netns, CNI attachment and
 * host-local IP, veth, infra process and monitor, shm mount, pod dir, pod cgroup, store
 * row); a pod whose creation finished is re-adopted. Also: live pods survive a restart,
 * pods whose infra died meanwhile come back NotReady, and leftovers no row knows are
 * removed. The bridge has no gateway address, so ip_forward is never touched.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "@jest/globals";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { rpc } from "../../cri/src/cli/client.js";
import {
  bridgeNetwork,
  cniBinArgs,
  removeDirs,
  startDaemon,
  tempDirs,
  type BridgeNetwork,
  type DaemonDirs,
  type RunningDaemon,
} from "../harness/skiff-cri.js";
import {
  cgroupDirs,
  codeOf,
  forceCleanup,
  leftovers,
  listPods,
  nothingLeft,
  podConfig,
  podStatus,
  removeCgroupTree,
  runPod,
} from "./sandbox-helpers.js";

const tag = randomBytes(3).toString("hex");
const cgroupTop = `skiff-e2e-rec-${tag}`;
let dirs: DaemonDirs;
let net: BridgeNetwork;
let daemon: RunningDaemon | undefined;
let uid = 0;
const nextUid = () => `r${tag}-${++uid}`;

const infraPid = (id: string): number =>
  Number(readFileSync(join(dirs.state, "infra", id, "pid"), "utf8").trim());
/** The infra process's pid; none when the crash came before its create wrote one
 * (at sandbox:after-cni the infra is made while CNI runs). */
const infraPids = (id: string): number[] => {
  try {
    return [infraPid(id)];
  } catch {
    return [];
  }
};
const alive = (pid: number): boolean => existsSync(`/proc/${pid}`);

async function restart(env: Record<string, string> = {}): Promise<RunningDaemon> {
  await daemon?.stop("SIGKILL");
  daemon = await startDaemon(dirs, cniBinArgs, env);
  return daemon;
}

beforeAll(async () => {
  dirs = tempDirs("skiff-e2e-recovery-");
  net = bridgeNetwork(dirs.dir, { gateway: false });
  net.install(dirs);
  await restart();
});

afterEach(async () => {
  const d = daemon?.process.exitCode === null ? daemon : await restart();
  for (const p of await listPods(d).catch(() => [])) {
    await rpc(d.clients.runtime, "RemovePodSandbox", { pod_sandbox_id: p.id }).catch(
      () => undefined,
    );
  }
});

afterAll(async () => {
  try {
    await daemon?.stop("SIGKILL");
  } finally {
    if (dirs) forceCleanup(dirs);
    net?.cleanup();
    removeCgroupTree(cgroupTop);
    if (dirs) removeDirs(dirs);
  }
}, 120_000);

const crashPoints = [
  "sandbox:after-reserve",
  "sandbox:after-netns",
  "sandbox:after-cni",
  "sandbox:after-infra",
] as const;

describe("a crash in RunPodSandbox", () => {
  test.each(crashPoints)("at %s: restart rolls the pod back and leaks nothing", async (point) => {
    const crashing = await restart({ SKIFF_TEST_CRASH_AT: point });
    const podUid = nextUid();
    const config = podConfig("crash", { uid: podUid, cgroupParent: `/${cgroupTop}/pod${podUid}` });
    expect(await codeOf(runPod(crashing, config))).not.toBe("ok");
    await crashing.exited;
    expect(crashing.process.signalCode).toBe("SIGKILL");
    const infraBefore = leftovers(dirs, net).infra;
    const pids = infraBefore.flatMap(infraPids);

    const d = await restart();
    expect(await listPods(d)).toEqual([]);
    expect(leftovers(dirs, net)).toEqual(nothingLeft);
    expect(cgroupDirs(`${cgroupTop}/pod${podUid}`)).toEqual([]);
    for (const pid of pids) expect(alive(pid)).toBe(false);

    // the name is free again: the retry makes a working pod
    const id = await runPod(d, config);
    expect((await podStatus(d, id)).status.state).toBe("SANDBOX_READY");
    await rpc(d.clients.runtime, "RemovePodSandbox", { pod_sandbox_id: id });
    expect(leftovers(dirs, net)).toEqual(nothingLeft);
  });

  test("at sandbox:after-ready: the finished pod is re-adopted, READY with its IP", async () => {
    const crashing = await restart({ SKIFF_TEST_CRASH_AT: "sandbox:after-ready" });
    const config = podConfig("ready-crash", { uid: nextUid() });
    expect(await codeOf(runPod(crashing, config))).not.toBe("ok");
    await crashing.exited;

    const d = await restart();
    const pods = await listPods(d);
    expect(pods).toHaveLength(1);
    const id = pods[0]?.id ?? "";
    expect(pods[0]?.state).toBe("SANDBOX_READY");
    expect(await runPod(d, config)).toBe(id);
    const ip = (await podStatus(d, id)).status.network?.ip ?? "";
    expect(net.allocated()).toEqual([ip]);
    expect(alive(infraPid(id))).toBe(true);
    await rpc(d.clients.runtime, "RemovePodSandbox", { pod_sandbox_id: id });
    expect(leftovers(dirs, net)).toEqual(nothingLeft);
  });
});

describe("restarts", () => {
  test("live pods keep running and are re-adopted; a pod whose infra died is NotReady", async () => {
    let d = await restart();
    const keep = await runPod(d, podConfig("keep", { uid: nextUid() }));
    const lose = await runPod(d, podConfig("lose", { uid: nextUid() }));
    const keepIp = (await podStatus(d, keep)).status.network?.ip;
    const keepPid = infraPid(keep);
    const losePid = infraPid(lose);

    await d.stop("SIGKILL");
    process.kill(losePid, "SIGKILL");
    for (let i = 0; i < 100 && alive(losePid); i++) await sleep(20);
    d = await restart();

    const keepStatus = (await podStatus(d, keep)).status;
    expect(keepStatus.state).toBe("SANDBOX_READY");
    expect(keepStatus.network?.ip).toBe(keepIp);
    expect(infraPid(keep)).toBe(keepPid);
    expect(alive(keepPid)).toBe(true);
    expect((await podStatus(d, lose)).status.state).toBe("SANDBOX_NOTREADY");

    // kubelet's next steps release everything of both
    for (const id of [keep, lose]) {
      await rpc(d.clients.runtime, "StopPodSandbox", { pod_sandbox_id: id });
      await rpc(d.clients.runtime, "RemovePodSandbox", { pod_sandbox_id: id });
    }
    expect(alive(keepPid)).toBe(false);
    expect(leftovers(dirs, net)).toEqual(nothingLeft);
  });

  test("leftovers no store row knows are removed at start", async () => {
    await daemon?.stop("SIGKILL");
    const stray = "f".repeat(64);
    mkdirSync(join(dirs.state, "netns"), { recursive: true });
    writeFileSync(join(dirs.state, "netns", stray), "");
    mkdirSync(join(dirs.root, "sandboxes", stray), { recursive: true });
    const d = await restart();
    expect(await listPods(d)).toEqual([]);
    expect(leftovers(dirs, net)).toEqual(nothingLeft);
  });
});
