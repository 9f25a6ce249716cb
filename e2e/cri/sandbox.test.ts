/**
 * CRI pod sandboxes end to end: a real skiff-cri over its socket (@grpc/grpc-js and
 * crictl), Debian's CNI plugins on a bridge of this file's own, the real kernel. Pods
 * get an IP, reach each other, a hostPort reaches a server in a pod, stop releases the
 * IP and veth, names are reserved, stop/remove are idempotent, filters work, bad input
 * is refused with nothing left, NetworkReady follows the CNI config dir.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "@jest/globals";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { get } from "node:http";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { status as grpcStatus } from "@grpc/grpc-js";
import { rpc } from "../../cri/src/cli/client.js";
import {
  bridgeNetwork,
  cniBinArgs,
  removeDirs,
  startDaemon,
  tempDirs,
  toolPath,
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
const cgroupTop = `skiff-e2e-${tag}`;
let dirs: DaemonDirs;
let net: BridgeNetwork;
let daemon: RunningDaemon;
const servers: ChildProcess[] = [];
let uid = 0;
const nextUid = () => `u${tag}-${++uid}`;

const netnsOf = (id: string) => join(dirs.state, "netns", id);
const nsenter = (id: string, ...args: string[]) =>
  spawnSync("nsenter", [`--net=${netnsOf(id)}`, ...args], { encoding: "utf8", timeout: 10_000 });
const infraPid = (id: string): number =>
  Number(readFileSync(join(dirs.state, "infra", id, "pid"), "utf8").trim());

/** The command name of `pid` once it has exec'd (start returns before the execve). */
async function commOf(pid: number): Promise<string> {
  let comm = "";
  for (let i = 0; i < 100; i++) {
    comm = readFileSync(`/proc/${pid}/comm`, "utf8").trim();
    if (comm !== "skiff-shim") break;
    await sleep(10);
  }
  return comm;
}

async function removeAll(d: RunningDaemon): Promise<void> {
  for (const p of await listPods(d)) {
    await rpc(d.clients.runtime, "RemovePodSandbox", { pod_sandbox_id: p.id });
  }
}

beforeAll(async () => {
  dirs = tempDirs("skiff-e2e-sandbox-");
  net = bridgeNetwork(dirs.dir, { gateway: true, portmap: true });
  net.install(dirs);
  daemon = await startDaemon(dirs, cniBinArgs);
});

// A failed test must not leave its pods to the next one.
afterEach(async () => {
  await removeAll(daemon).catch(() => undefined);
});

afterAll(async () => {
  for (const s of servers) s.kill("SIGKILL");
  try {
    if (daemon) {
      await removeAll(daemon).catch(() => undefined);
      await daemon.stop("SIGKILL");
    }
  } finally {
    if (dirs) forceCleanup(dirs);
    net?.cleanup();
    removeCgroupTree(cgroupTop);
    if (dirs) removeDirs(dirs);
  }
}, 120_000);

describe("RunPodSandbox", () => {
  test("a ready pod: IP from the bridge, hostname, sysctls, its own /dev/shm, files, status", async () => {
    const podUid = nextUid();
    const cgroupParent = `/${cgroupTop}/pod${podUid}`;
    const id = await runPod(
      daemon,
      podConfig("alpha", {
        uid: podUid,
        hostname: "alpha-host",
        labels: { app: "alpha" },
        cgroupParent,
        sysctls: { "net.ipv4.ip_unprivileged_port_start": "80", "kernel.shmmni": "1000" },
        dns: { servers: ["10.96.0.10"], searches: ["svc.cluster.local"], options: ["ndots:5"] },
      }),
    );
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    const { status, info } = await podStatus(daemon, id, true);
    expect(status.state).toBe("SANDBOX_READY");
    expect(status.network?.ip).toMatch(new RegExp(`^${net.prefix.replaceAll(".", "\\.")}\\.\\d+$`));
    expect(status.labels).toEqual({ app: "alpha" });
    expect(status.metadata).toMatchObject({ name: "alpha", uid: podUid, attempt: 0 });
    expect(status.linux?.namespaces.options).toMatchObject({
      network: "POD",
      ipc: "POD",
      pid: "CONTAINER",
    });
    const created = BigInt(status.created_at);
    expect(Number(created / 1_000_000n)).toBeGreaterThan(Date.now() - 60_000);
    const verbose = JSON.parse(info["info"] ?? "{}") as Record<string, unknown>;
    expect(verbose["pid"]).toBe(infraPid(id));
    expect(verbose["netNamespacePath"]).toBe(netnsOf(id));

    // the pod's namespaces, as the infra process holds them
    const pid = infraPid(id);
    const addr = nsenter(id, "ip", "-4", "-o", "addr", "show", "eth0").stdout;
    expect(addr).toContain(`${status.network?.ip}/24`);
    expect(nsenter(id, "cat", "/proc/sys/net/ipv4/ip_unprivileged_port_start").stdout.trim()).toBe(
      "80",
    );
    const inIpc = spawnSync(
      "nsenter",
      ["-t", String(pid), "-i", "cat", "/proc/sys/kernel/shmmni"],
      {
        encoding: "utf8",
      },
    );
    expect(inIpc.stdout.trim()).toBe("1000");
    const inUts = spawnSync("nsenter", ["-t", String(pid), "-u", "hostname"], { encoding: "utf8" });
    expect(inUts.stdout.trim()).toBe("alpha-host");
    expect(await commOf(pid)).toBe("skiff-infra");

    // files and /dev/shm the pod's containers will share
    const podDir = join(dirs.root, "sandboxes", id);
    expect(readFileSync(join(podDir, "resolv.conf"), "utf8")).toBe(
      "search svc.cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n",
    );
    expect(readFileSync(join(podDir, "hosts"), "utf8")).toContain(
      `${status.network?.ip}\talpha-host`,
    );
    expect(readFileSync(join(podDir, "hostname"), "utf8")).toBe("alpha-host\n");
    const shm = readFileSync("/proc/self/mountinfo", "utf8")
      .split("\n")
      .find((l) => l.split(" ")[4] === join(podDir, "shm"));
    expect(shm).toMatch(/ - tmpfs shm .*size=65536k/);

    // the pod cgroup under kubelet's parent holds the infra process
    const memory = cgroupDirs(`${cgroupTop}/pod${podUid}`);
    expect(memory.length).toBeGreaterThan(0);
    const procs = readFileSync(
      join("/sys/fs/cgroup/memory", cgroupTop, `pod${podUid}`, id, "cgroup.procs"),
      "utf8",
    );
    expect(procs.trim()).toBe(String(pid));

    await rpc(daemon.clients.runtime, "StopPodSandbox", { pod_sandbox_id: id });
    expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(join(podDir, "shm"));
    await rpc(daemon.clients.runtime, "RemovePodSandbox", { pod_sandbox_id: id });
    expect(cgroupDirs(`${cgroupTop}/pod${podUid}`)).toEqual([]);
    expect(existsSync(podDir)).toBe(false);
  });

  test("two pods on one bridge reach each other", async () => {
    const a = await runPod(daemon, podConfig("ping-a", { uid: nextUid() }));
    const b = await runPod(daemon, podConfig("ping-b", { uid: nextUid() }));
    const ipA = (await podStatus(daemon, a)).status.network?.ip ?? "";
    const ipB = (await podStatus(daemon, b)).status.network?.ip ?? "";
    expect(ipA).not.toBe(ipB);
    const ping = nsenter(a, "busybox", "ping", "-c", "1", "-W", "2", ipB);
    expect(ping.status).toBe(0);
    expect(nsenter(b, "busybox", "ping", "-c", "1", "-W", "2", ipA).status).toBe(0);
    for (const id of [a, b])
      await rpc(daemon.clients.runtime, "RemovePodSandbox", { pod_sandbox_id: id });
  });

  test("a hostPort reaches a server in the pod from the host", async () => {
    const hostPort = 20000 + Math.floor(Math.random() * 10000);
    const id = await runPod(
      daemon,
      podConfig("web", {
        uid: nextUid(),
        portMappings: [{ container_port: 8080, host_port: hostPort, protocol: "TCP" }],
      }),
    );
    const www = join(dirs.dir, "www");
    mkdirSync(www, { recursive: true });
    writeFileSync(join(www, "index.html"), `hello from ${tag}`);
    const server = spawn(
      "nsenter",
      [`--net=${netnsOf(id)}`, "busybox", "httpd", "-f", "-p", "8080", "-h", www],
      { stdio: "ignore" },
    );
    servers.push(server);
    let body = "";
    for (let i = 0; i < 50 && body === ""; i++) {
      body = await httpGet(net.gateway, hostPort).catch(async () => {
        await sleep(100);
        return "";
      });
    }
    expect(body).toBe(`hello from ${tag}`);
    server.kill("SIGKILL");
    await rpc(daemon.clients.runtime, "RemovePodSandbox", { pod_sandbox_id: id });
    await expect(httpGet(net.gateway, hostPort)).rejects.toThrow();
  });

  test("a host-network, host-IPC, host-PID pod: no netns, no CNI attachment, the node's namespaces", async () => {
    const id = await runPod(
      daemon,
      podConfig("hostnet", { uid: nextUid(), hostNetwork: true, hostIpc: true, hostPid: true }),
    );
    const { status } = await podStatus(daemon, id);
    expect(status.state).toBe("SANDBOX_READY");
    expect(status.network?.ip ?? "").toBe("");
    expect(status.linux?.namespaces.options).toMatchObject({ network: "NODE", ipc: "NODE" });
    expect(existsSync(netnsOf(id))).toBe(false);
    const pid = infraPid(id);
    expect(await commOf(pid)).toBe("skiff-infra");
    expect(spawnSync("readlink", [`/proc/${pid}/ns/net`]).stdout.toString()).toBe(
      spawnSync("readlink", ["/proc/self/ns/net"]).stdout.toString(),
    );
    expect(spawnSync("readlink", [`/proc/${pid}/ns/pid`]).stdout.toString()).toBe(
      spawnSync("readlink", ["/proc/self/ns/pid"]).stdout.toString(),
    );
    expect(net.allocated()).toEqual([]);
    await rpc(daemon.clients.runtime, "RemovePodSandbox", { pod_sandbox_id: id });
  });

  test("a shared pid namespace: the infra process is pid 1 of it", async () => {
    const id = await runPod(daemon, podConfig("sharedpid", { uid: nextUid(), sharedPid: true }));
    const pid = infraPid(id);
    const nspid = readFileSync(`/proc/${pid}/status`, "utf8").match(/^NSpid:\s+(.*)$/m)?.[1] ?? "";
    expect(nspid.split(/\s+/).at(-1)).toBe("1");
    expect((await podStatus(daemon, id)).status.linux?.namespaces.options.pid).toBe("POD");
    await rpc(daemon.clients.runtime, "RemovePodSandbox", { pod_sandbox_id: id });
  });

  test("a retried RunPodSandbox for the same name answers the first attempt's id", async () => {
    const config = podConfig("retry", { uid: nextUid() });
    const [first, concurrent] = await Promise.all([runPod(daemon, config), runPod(daemon, config)]);
    expect(concurrent).toBe(first);
    expect(await runPod(daemon, config)).toBe(first);
    const next = await runPod(daemon, {
      ...config,
      metadata: { ...(config["metadata"] as object), attempt: 1 },
    });
    expect(next).not.toBe(first);
    expect((await listPods(daemon)).map((p) => p.id).sort()).toEqual([first, next].sort());
    await rpc(daemon.clients.runtime, "RemovePodSandbox", { pod_sandbox_id: first });
    await rpc(daemon.clients.runtime, "RemovePodSandbox", { pod_sandbox_id: next });
  });
});

describe("StopPodSandbox and RemovePodSandbox", () => {
  test("stop releases the IP and the veth, keeps the pod NotReady; both are idempotent", async () => {
    const id = await runPod(daemon, podConfig("stopper", { uid: nextUid() }));
    const ip = (await podStatus(daemon, id)).status.network?.ip ?? "";
    expect(net.allocated()).toContain(ip);
    expect(net.veths()).toHaveLength(1);
    const pid = infraPid(id);

    await rpc(daemon.clients.runtime, "StopPodSandbox", { pod_sandbox_id: id });
    expect(net.allocated()).not.toContain(ip);
    expect(net.veths()).toEqual([]);
    expect(existsSync(netnsOf(id))).toBe(false);
    expect(existsSync(`/proc/${pid}`)).toBe(false);
    expect((await podStatus(daemon, id)).status.state).toBe("SANDBOX_NOTREADY");
    await rpc(daemon.clients.runtime, "StopPodSandbox", { pod_sandbox_id: id });

    await rpc(daemon.clients.runtime, "RemovePodSandbox", { pod_sandbox_id: id });
    await rpc(daemon.clients.runtime, "RemovePodSandbox", { pod_sandbox_id: id });
    expect(await codeOf(podStatus(daemon, id))).toBe(grpcStatus.NOT_FOUND);
    // Gone entirely: stopping it again still succeeds (api.proto: resources reclaimed).
    await rpc(daemon.clients.runtime, "StopPodSandbox", { pod_sandbox_id: id });
    expect(leftovers(dirs, net)).toEqual(nothingLeft);
  });

  test("remove of a running pod stops it first and leaves nothing", async () => {
    const id = await runPod(daemon, podConfig("direct-rm", { uid: nextUid() }));
    const pid = infraPid(id);
    await rpc(daemon.clients.runtime, "RemovePodSandbox", { pod_sandbox_id: id.slice(0, 12) });
    expect(existsSync(`/proc/${pid}`)).toBe(false);
    expect(await listPods(daemon)).toEqual([]);
    expect(leftovers(dirs, net)).toEqual(nothingLeft);
  });

  test("two attempts sharing a cgroup parent: removing the first leaves the second's cgroup; the last removes it", async () => {
    const podUid = nextUid();
    const cgroupParent = `/${cgroupTop}/pod${podUid}`;
    const first = await runPod(daemon, podConfig("attempts", { uid: podUid, cgroupParent }));
    const second = await runPod(
      daemon,
      podConfig("attempts", { uid: podUid, cgroupParent, attempt: 1 }),
    );
    const started = Date.now();
    await rpc(daemon.clients.runtime, "RemovePodSandbox", { pod_sandbox_id: first });
    expect(Date.now() - started).toBeLessThan(5000);
    expect((await podStatus(daemon, second)).status.state).toBe("SANDBOX_READY");
    expect(cgroupDirs(`${cgroupTop}/pod${podUid}/${second}`).length).toBeGreaterThan(0);
    await rpc(daemon.clients.runtime, "RemovePodSandbox", { pod_sandbox_id: second });
    expect(cgroupDirs(`${cgroupTop}/pod${podUid}`)).toEqual([]);
    expect(leftovers(dirs, net)).toEqual(nothingLeft);
  });

  test("a pod whose infra process died is NotReady", async () => {
    const id = await runPod(daemon, podConfig("dies", { uid: nextUid() }));
    const pid = infraPid(id);
    process.kill(pid, "SIGKILL");
    for (let i = 0; i < 50 && existsSync(`/proc/${pid}`); i++) await sleep(20);
    expect((await podStatus(daemon, id)).status.state).toBe("SANDBOX_NOTREADY");
    await rpc(daemon.clients.runtime, "RemovePodSandbox", { pod_sandbox_id: id });
    expect(leftovers(dirs, net)).toEqual(nothingLeft);
  });
});

describe("ListPodSandbox, UpdatePodSandboxResources", () => {
  test("filters by id prefix, state and labels", async () => {
    const a = await runPod(
      daemon,
      podConfig("list-a", { uid: nextUid(), labels: { app: "x", tier: "web" } }),
    );
    const b = await runPod(
      daemon,
      podConfig("list-b", { uid: nextUid(), labels: { app: "x", tier: "db" } }),
    );
    await rpc(daemon.clients.runtime, "StopPodSandbox", { pod_sandbox_id: b });
    const ids = async (filter: Record<string, unknown> | null) =>
      (await listPods(daemon, filter)).map((p) => p.id).sort();
    expect(await ids(null)).toEqual([a, b].sort());
    expect(await ids({ id: a.slice(0, 10) })).toEqual([a]);
    expect(await ids({ id: "ffffffffffffffffffffff" })).toEqual([]);
    expect(await ids({ state: { state: "SANDBOX_READY" } })).toEqual([a]);
    expect(await ids({ state: { state: "SANDBOX_NOTREADY" } })).toEqual([b]);
    expect(await ids({ label_selector: { app: "x" } })).toEqual([a, b].sort());
    expect(await ids({ label_selector: { app: "x", tier: "db" } })).toEqual([b]);
    expect(await ids({ label_selector: { app: "y" } })).toEqual([]);
    for (const id of [a, b])
      await rpc(daemon.clients.runtime, "RemovePodSandbox", { pod_sandbox_id: id });
  });

  test("pod resources and overhead size the pod cgroup, and can be updated", async () => {
    const podUid = nextUid();
    const id = await runPod(
      daemon,
      podConfig("sized", {
        uid: podUid,
        cgroupParent: `/${cgroupTop}/pod${podUid}`,
        resources: { memory_limit_in_bytes: String(256 * 1024 * 1024) },
      }),
    );
    const limitFile = join(
      "/sys/fs/cgroup/memory",
      cgroupTop,
      `pod${podUid}`,
      "memory.limit_in_bytes",
    );
    expect(readFileSync(limitFile, "utf8").trim()).toBe(String(256 * 1024 * 1024));
    await rpc(daemon.clients.runtime, "UpdatePodSandboxResources", {
      pod_sandbox_id: id,
      resources: { memory_limit_in_bytes: String(128 * 1024 * 1024) },
      overhead: { memory_limit_in_bytes: String(16 * 1024 * 1024) },
    });
    expect(readFileSync(limitFile, "utf8").trim()).toBe(String(144 * 1024 * 1024));
    expect(
      await codeOf(
        rpc(daemon.clients.runtime, "UpdatePodSandboxResources", { pod_sandbox_id: "abc123" }),
      ),
    ).toBe(grpcStatus.NOT_FOUND);
    await rpc(daemon.clients.runtime, "RemovePodSandbox", { pod_sandbox_id: id });
  });
});

describe("bad input", () => {
  test("missing or malformed fields, unknown handlers and ids: an error code and nothing made", async () => {
    const run = (config: unknown, handler = "") =>
      codeOf(rpc(daemon.clients.runtime, "RunPodSandbox", { config, runtime_handler: handler }));
    const base = podConfig("bad", { uid: nextUid() });
    const invalid = grpcStatus.INVALID_ARGUMENT;
    expect(await run(null)).toBe(invalid);
    expect(await run({ ...base, metadata: null })).toBe(invalid);
    expect(await run({ ...base, metadata: { name: "", uid: "u", namespace: "n" } })).toBe(invalid);
    expect(await run({ ...base, metadata: { name: "a_b", uid: "u", namespace: "n" } })).toBe(
      invalid,
    );
    expect(
      await run({ ...base, metadata: { name: "x".repeat(300), uid: "u", namespace: "n" } }),
    ).toBe(invalid);
    expect(await run(base, "kata")).toBe(invalid);
    expect(await run({ ...base, hostname: "bad host\nname" })).toBe(invalid);
    const sysctl = (sysctls: Record<string, string>, o = {}) =>
      run(podConfig("bad", { uid: nextUid(), sysctls, ...o }));
    expect(await sysctl({ "kernel.panic": "1" })).toBe(invalid);
    expect(await sysctl({ "net.ipv4.ip_forward": "1" }, { hostNetwork: true })).toBe(invalid);
    expect(await sysctl({ "kernel.shmmax": "1" }, { hostIpc: true })).toBe(invalid);
    expect(await sysctl({ "kernel.shmmax": "1\nkernel.panic=1" })).toBe(invalid);
    expect(await sysctl({ "net.ipv4.ip_unprivileged_port_start": "1+kernel.panic=1" })).toBe(
      invalid,
    );
    expect(
      await run(
        podConfig("bad", { uid: nextUid(), portMappings: [{ container_port: 0, host_port: 80 }] }),
      ),
    ).toBe(invalid);
    expect(await run(podConfig("bad", { uid: nextUid(), cgroupParent: "/a/../../etc" }))).toBe(
      invalid,
    );

    for (const method of ["PodSandboxStatus", "StopPodSandbox", "UpdatePodSandboxResources"]) {
      expect(await codeOf(rpc(daemon.clients.runtime, method, { pod_sandbox_id: "" }))).toBe(
        invalid,
      );
      // Stopping an unknown pod succeeds: it has nothing left to reclaim.
      const unknown = method === "StopPodSandbox" ? "ok" : grpcStatus.NOT_FOUND;
      expect(
        await codeOf(rpc(daemon.clients.runtime, method, { pod_sandbox_id: "0123456789abcdef" })),
      ).toBe(unknown);
      expect(
        await codeOf(rpc(daemon.clients.runtime, method, { pod_sandbox_id: "../../etc" })),
      ).toBe(unknown);
    }
    expect(
      await codeOf(rpc(daemon.clients.runtime, "RemovePodSandbox", { pod_sandbox_id: "" })),
    ).toBe(invalid);
    expect(
      await codeOf(rpc(daemon.clients.runtime, "RemovePodSandbox", { pod_sandbox_id: "0123abc" })),
    ).toBe("ok");
    expect(await listPods(daemon)).toEqual([]);
    expect(leftovers(dirs, net)).toEqual(nothingLeft);
  });
});

describe("rollback", () => {
  test("a step failing after the network is up (a sysctl the kernel lacks) undoes every step", async () => {
    const podUid = nextUid();
    const config = podConfig("undo", {
      uid: podUid,
      cgroupParent: `/${cgroupTop}/pod${podUid}`,
      sysctls: { "net.ipv4.no_such_setting": "1" },
    });
    const failed = await codeOf(runPod(daemon, config));
    expect(failed).not.toBe("ok");
    expect(await listPods(daemon)).toEqual([]);
    expect(leftovers(dirs, net)).toEqual(nothingLeft);
    expect(cgroupDirs(`${cgroupTop}/pod${podUid}`)).toEqual([]);
    // the name was released with the row: a corrected retry works
    const fixed = podConfig("undo", { uid: podUid, cgroupParent: `/${cgroupTop}/pod${podUid}` });
    const id = await runPod(daemon, fixed);
    expect((await podStatus(daemon, id)).status.state).toBe("SANDBOX_READY");
  });
});

describe("crictl", () => {
  test("runp, pods, inspectp, stopp, rmp", async () => {
    const crictl = toolPath("crictl");
    const cli = (...args: string[]) =>
      spawnSync(crictl, ["--runtime-endpoint", `unix://${dirs.socket}`, ...args], {
        encoding: "utf8",
        timeout: 60_000,
      });
    const file = join(dirs.dir, "pod.json");
    writeFileSync(
      file,
      JSON.stringify({
        metadata: { name: "crictl-pod", namespace: "skiff-e2e", uid: nextUid(), attempt: 0 },
        hostname: "crictl-pod",
        labels: { via: "crictl" },
        linux: {},
      }),
    );
    const runp = cli("runp", file);
    expect(runp.stderr).not.toMatch(/level=fatal/);
    expect(runp.status).toBe(0);
    const id = runp.stdout.trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    const pods = cli("pods", "--name", "crictl-pod", "-q");
    expect(pods.stdout.trim()).toBe(id);
    const inspect = JSON.parse(cli("inspectp", id.slice(0, 13)).stdout) as {
      status: { state: string; network: { ip: string } };
      info: { pid: number };
    };
    expect(inspect.status.state).toBe("SANDBOX_READY");
    expect(inspect.status.network.ip.startsWith(`${net.prefix}.`)).toBe(true);
    expect(inspect.info.pid).toBe(infraPid(id));
    expect(cli("stopp", id.slice(0, 13)).status).toBe(0);
    expect(cli("pods", "--state", "notready", "-q").stdout.trim()).toBe(id);
    expect(cli("rmp", id.slice(0, 13)).status).toBe(0);
    expect(cli("pods", "-q").stdout.trim()).toBe("");
    expect(leftovers(dirs, net)).toEqual(nothingLeft);
  });
});

describe("NetworkReady and UpdateRuntimeConfig", () => {
  let other: DaemonDirs;
  let second: RunningDaemon | undefined;
  afterAll(async () => {
    await second?.stop("SIGKILL");
    if (other) removeDirs(other);
  });

  const networkReady = async (d: RunningDaemon) => {
    const r = await rpc<{
      status: { conditions: { type: string; status: boolean; message: string }[] };
    }>(d.clients.runtime, "Status", {});
    return r.status.conditions.find((c) => c.type === "NetworkReady");
  };

  test("NetworkReady flips when a conflist appears; a usePodCidr network waits for the pod CIDR", async () => {
    other = tempDirs("skiff-e2e-netready-");
    second = await startDaemon(other, cniBinArgs);
    expect((await networkReady(second))?.status).toBe(false);
    // no network yet: a pod needing one is refused and leaves nothing behind
    expect(await codeOf(runPod(second, podConfig("early", { uid: nextUid() })))).toBe(
      grpcStatus.FAILED_PRECONDITION,
    );
    expect(await listPods(second)).toEqual([]);
    expect(leftovers(other, net)).toEqual(nothingLeft);
    const list = {
      cniVersion: "1.0.0",
      name: `skr-${tag}`,
      plugins: [{ type: "host-local-less", ipam: {} }],
    };
    // first a network whose plugin is missing, then one that needs the pod CIDR
    mkdirSync(join(other.dir, "net.d"), { recursive: true });
    writeFileSync(join(other.dir, "net.d", "10-a.conflist"), JSON.stringify(list));
    let cond = await networkReady(second);
    for (let i = 0; i < 60 && !(cond?.message ?? "").includes("not found"); i++) {
      await sleep(100);
      cond = await networkReady(second);
    }
    expect(cond?.status).toBe(false);
    expect(cond?.message).toContain("host-local-less");
    writeFileSync(
      join(other.dir, "net.d", "10-a.conflist"),
      JSON.stringify({
        ...net.conflist,
        name: `skr-${tag}`,
        plugins: [
          {
            type: "bridge",
            bridge: `skr${tag}`,
            ipam: { type: "host-local", subnet: "usePodCidr", dataDir: join(other.dir, "ipam") },
          },
        ],
      }),
    );
    for (let i = 0; i < 60 && !(cond?.message ?? "").includes("pod CIDR"); i++) {
      await sleep(100);
      cond = await networkReady(second);
    }
    expect(cond?.status).toBe(false);
    await rpc(second.clients.runtime, "UpdateRuntimeConfig", {
      runtime_config: { network_config: { pod_cidr: "10.254.3.0/24" } },
    });
    expect((await networkReady(second))?.status).toBe(true);
    expect(
      await codeOf(
        rpc(second.clients.runtime, "UpdateRuntimeConfig", {
          runtime_config: { network_config: { pod_cidr: "not a cidr" } },
        }),
      ),
    ).toBe(grpcStatus.INVALID_ARGUMENT);
  });
});

function httpGet(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = get({ host, port, path: "/", timeout: 2000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve(body));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
  });
}
