// The CNI invoker with Debian's real plugins (/usr/lib/cni: bridge, host-local, portmap,
// bandwidth) on the real kernel, as root. The network is a bridge skt<random> with a
// random 10.x.y.0/24 that exists only on this machine (ipMasq off: nothing is routed
// off it). Afterwards nothing is left: no netns, veth, bridge, ifb, host-local
// allocation, iptables rule or chain that was not there before, and ip_forward is back.
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { randomBytes, randomInt } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { get } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { NetnsManager } from "../netns/netns.js";
import { CniManager, type PodNetworkAttachment } from "./cni-manager.js";

const run = promisify(execFile);
const tag = randomBytes(3).toString("hex");
const bridge = `skt${tag}`;
const network = `skt-${tag}`;
const net = `10.${randomInt(200, 250)}.${randomInt(1, 254)}`;
const subnet = `${net}.0/24`;
const gateway = `${net}.1`;
const binDirs = ["/usr/lib/cni"];

let root: string;
let confDir: string;
let cacheDir: string;
let ipamDir: string;
let netns: NetnsManager;
let cni: CniManager;
let ipForwardBefore: string;
let natBefore: string;
let filterBefore: string;
const containerIds = new Set<string>();
const servers: ChildProcess[] = [];

const bridgeConf = (name: string, subnet: string) => ({
  type: "bridge",
  bridge: name,
  isGateway: true,
  ipMasq: false,
  hairpinMode: true,
  ipam: { type: "host-local", ranges: [[{ subnet }]], routes: [{ dst: "0.0.0.0/0" }] },
});
const conflist = {
  cniVersion: "1.0.0",
  name: network,
  plugins: [bridgeConf(bridge, subnet), { type: "portmap", capabilities: { portMappings: true } }],
};
// A second network for the bandwidth plugin (whose CHECK in plugins 1.1.1 crashes when
// a pod has no limits, so it is kept out of the default network's chain).
const bwBridge = `skb${tag}`;
const bwNetwork = `skb-${tag}`;
const bwNet = `10.${randomInt(200, 250)}.${randomInt(1, 254)}`;
const bwList = {
  cniVersion: "1.0.0",
  name: bwNetwork,
  plugins: [
    bridgeConf(bwBridge, `${bwNet}.0/24`),
    { type: "bandwidth", capabilities: { bandwidth: true } },
  ],
};

const sh = async (cmd: string, ...args: string[]): Promise<string> => (await run(cmd, args)).stdout;
const ok = (cmd: string, ...args: string[]): Promise<boolean> =>
  run(cmd, args).then(
    () => true,
    () => false,
  );
const linkExists = (name: string): Promise<boolean> => ok("ip", "link", "show", "dev", name);
const iptablesSave = (table: string): Promise<string> => sh("iptables-save", "-t", table);
const rules = (dump: string): string[] => dump.split("\n").filter((l) => /^[-:]/.test(l));

const newManager = (): CniManager =>
  new CniManager({
    confDir,
    binDirs,
    cacheDir,
    watch: false,
    statusIntervalMs: 0,
    timeoutMs: 30_000,
  });

const pod = (name: string) => ({
  name,
  namespace: "skiff-test",
  uid: `uid-${tag}-${name}`,
  infraContainerId: `skt${tag}${name}`,
});

/** A netns with the pod attached to the test network. */
async function attach(
  name: string,
  capabilityArgs: Parameters<CniManager["setUp"]>[0]["capabilityArgs"] = {},
  manager = cni,
  onNetwork?: string,
): Promise<{ path: string; id: string; att: PodNetworkAttachment }> {
  const id = `skt${tag}${name}`;
  containerIds.add(id);
  const path = await netns.create(id);
  const att = await manager.setUp({
    containerId: id,
    netns: path,
    pod: pod(name),
    capabilityArgs,
    ...(onNetwork !== undefined ? { network: onNetwork } : {}),
  });
  return { path, id, att };
}

const hostVeth = (att: PodNetworkAttachment): string => {
  const v = att.result.interfaces?.find(
    (i) => (i.sandbox ?? "") === "" && i.name.startsWith("veth"),
  );
  if (v === undefined) throw new Error("no host veth in the result");
  return v.name;
};
const allocated = (ip: string): boolean => existsSync(join(ipamDir, network, ip));

const httpGet = (host: string, port: number): Promise<string> =>
  new Promise((resolve, reject) => {
    const req = get({ host, port, path: "/", timeout: 2000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve(body));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
  });

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "skiff-cni-root-"));
  confDir = join(root, "net.d");
  cacheDir = join(root, "cache");
  ipamDir = join(root, "ipam");
  mkdirSync(confDir);
  for (const [file, list] of [
    ["10-skiff-test.conflist", conflist],
    ["20-skiff-bw.conflist", bwList],
  ] as const) {
    const withDataDir = structuredClone(list);
    (withDataDir.plugins[0] as { ipam: Record<string, unknown> }).ipam.dataDir = ipamDir;
    writeFileSync(join(confDir, file), JSON.stringify(withDataDir));
  }
  netns = new NetnsManager({ dir: join(root, "netns") });
  ipForwardBefore = readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim();
  natBefore = await iptablesSave("nat");
  filterBefore = await iptablesSave("filter");
  cni = newManager();
});

afterAll(async () => {
  for (const s of servers) s.kill("SIGKILL");
  const cleanup = newManager();
  for (const id of containerIds) await cleanup.tearDown({ containerId: id }).catch(() => undefined);
  cleanup.close();
  cni.close();
  for (const e of netns.list()) await netns.remove(e.name).catch(() => undefined);
  for (const b of [bridge, bwBridge]) {
    if (await linkExists(b)) await run("ip", ["link", "del", b]);
  }
  writeFileSync("/proc/sys/net/ipv4/ip_forward", ipForwardBefore);
  await restoreIptables("nat", natBefore);
  await restoreIptables("filter", filterBefore);
  rmSync(root, { recursive: true, force: true });
});

/**
 * portmap leaves its shared chains (CNI-HOSTPORT-*) and their jumps behind by design;
 * they are removed when this test created them and no other pod's mapping is in them.
 */
async function restoreIptables(table: string, before: string): Promise<void> {
  const had = new Set(rules(before));
  const now = rules(await iptablesSave(table));
  const added = now.filter((l) => !had.has(l) && l.includes("CNI-"));
  const chains = added.filter((l) => l.startsWith(":")).map((l) => l.slice(1).split(" ")[0] ?? "");
  const busy = now.some((l) => l.startsWith("-A CNI-HOSTPORT-DNAT ") || l.startsWith("-A CNI-DN-"));
  if (busy && !chains.includes("CNI-HOSTPORT-DNAT")) return;
  for (const rule of added.filter((l) => l.startsWith("-A "))) {
    await run("sh", ["-c", `iptables -w -t ${table} -D ${rule.slice(3)}`]).catch(() => undefined);
  }
  for (const chain of chains) {
    await run("iptables", ["-w", "-t", table, "-F", chain]).catch(() => undefined);
  }
  for (const chain of chains) {
    await run("iptables", ["-w", "-t", table, "-X", chain]).catch(() => undefined);
  }
}

describe("pods on a bridge network through Debian's CNI plugins", () => {
  test("two pods get addresses from host-local and reach each other; CHECK passes", async () => {
    const a = await attach("a");
    const b = await attach("b");
    for (const { att } of [a, b]) {
      expect(att.network).toBe(network);
      expect(att.ips).toHaveLength(1);
      expect(att.ips[0]).toMatch(new RegExp(`^${net.replaceAll(".", "\\.")}\\.\\d+$`));
      expect(allocated(att.ips[0] ?? "")).toBe(true);
    }
    expect(a.att.ips[0]).not.toBe(b.att.ips[0]);
    const addr = await sh(
      "nsenter",
      `--net=${a.path}`,
      "ip",
      "-o",
      "-4",
      "addr",
      "show",
      "dev",
      "eth0",
    );
    expect(addr).toContain(`inet ${a.att.ips[0]}/24`);
    expect(await sh("nsenter", `--net=${a.path}`, "ip", "-o", "link", "show", "lo")).toMatch(/UP/);

    const ping = (from: string, to: string) =>
      ok("nsenter", `--net=${from}`, "busybox", "ping", "-c", "1", "-W", "2", to);
    expect(await ping(a.path, b.att.ips[0] ?? "")).toBe(true);
    expect(await ping(b.path, a.att.ips[0] ?? "")).toBe(true);
    expect(await ping(a.path, gateway)).toBe(true);

    await cni.check({ containerId: a.id });
    await cni.check({ containerId: b.id });
  });

  test("DEL releases the address and removes the veth; a second DEL is fine", async () => {
    const { id, path, att } = await attach("c");
    const ip = att.ips[0] ?? "";
    const veth = hostVeth(att);
    expect(await linkExists(veth)).toBe(true);
    expect(readdirSync(cacheDir)).toContain(`${network}-${id}-eth0.json`);

    await cni.tearDown({ containerId: id, netns: path });
    expect(allocated(ip)).toBe(false);
    expect(await linkExists(veth)).toBe(false);
    expect(readdirSync(cacheDir)).not.toContain(`${network}-${id}-eth0.json`);
    expect(await sh("nsenter", `--net=${path}`, "ip", "-o", "link", "show")).not.toContain("eth0");
    await cni.tearDown({ containerId: id, netns: path });
    await netns.remove(id);
  });

  test("a hostPort mapping through portmap reaches a server in the pod; DEL removes its rules", async () => {
    const hostPort = randomInt(20000, 30000);
    const { id, path, att } = await attach("web", {
      portMappings: [{ hostPort, containerPort: 8080, protocol: "tcp" }],
    });
    const www = join(root, "www");
    mkdirSync(www, { recursive: true });
    writeFileSync(join(www, "index.html"), `hello from pod ${tag}`);
    const server = spawn(
      "nsenter",
      [`--net=${path}`, "busybox", "httpd", "-f", "-p", "8080", "-h", www],
      {
        stdio: "ignore",
      },
    );
    servers.push(server);

    expect(await iptablesSave("nat")).toContain(id);
    let body = "";
    for (let i = 0; i < 50 && body === ""; i++) {
      body = await httpGet(gateway, hostPort).catch(async () => {
        await sleep(100);
        return "";
      });
    }
    expect(body).toBe(`hello from pod ${tag}`);
    // the pod's own address on the container port answers too; the host port is the mapping
    expect(await httpGet(att.ips[0] ?? "", 8080)).toBe(`hello from pod ${tag}`);

    server.kill("SIGKILL");
    await cni.tearDown({ containerId: id, netns: path });
    expect(await iptablesSave("nat")).not.toContain(id);
    await expect(httpGet(gateway, hostPort)).rejects.toThrow();
    await netns.remove(id);
  });

  test("bandwidth limits (on a second, named network) become tc qdiscs and an ifb, gone after DEL", async () => {
    const ifbs = async () =>
      (await sh("ip", "-o", "link", "show"))
        .split("\n")
        .map((l) => /^\d+: (bwp[0-9a-f]+)[:@]/.exec(l)?.[1])
        .filter((n): n is string => n !== undefined);
    const before = await ifbs();
    const { id, path, att } = await attach(
      "bw",
      {
        bandwidth: {
          ingressRate: 1_000_000,
          ingressBurst: 100_000,
          egressRate: 2_000_000,
          egressBurst: 200_000,
        },
      },
      cni,
      bwNetwork,
    );
    expect(att.network).toBe(bwNetwork);
    expect(att.ips[0]?.startsWith(`${bwNet}.`)).toBe(true);
    const veth = hostVeth(att);
    expect(await sh("tc", "qdisc", "show", "dev", veth)).toMatch(/tbf/);
    const added = (await ifbs()).filter((n) => !before.includes(n));
    expect(added).toHaveLength(1);
    expect(existsSync(join(ipamDir, bwNetwork, att.ips[0] ?? ""))).toBe(true);
    await cni.tearDown({ containerId: id, netns: path });
    expect(existsSync(join(ipamDir, bwNetwork, att.ips[0] ?? ""))).toBe(false);
    expect(await linkExists(veth)).toBe(false);
    expect(await ifbs()).toEqual(before);
    expect(readdirSync(cacheDir)).not.toContain(`${bwNetwork}-${id}-eth0.json`);
    await netns.remove(id);
  });

  test("DEL after the netns was deleted still releases the address", async () => {
    const { id, path, att } = await attach("gone");
    const ip = att.ips[0] ?? "";
    const veth = hostVeth(att);
    await netns.remove(id);
    expect(existsSync(path)).toBe(false);
    // the veth dies with the namespace (the kernel frees it asynchronously)
    for (let i = 0; i < 100 && (await linkExists(veth)); i++) await sleep(50);
    expect(await linkExists(veth)).toBe(false);
    await cni.tearDown({ containerId: id, netns: path });
    expect(allocated(ip)).toBe(false);
    expect(readdirSync(cacheDir)).not.toContain(`${network}-${id}-eth0.json`);
  });

  test("after a crash and the conflist's removal, a new invoker DELs from its cache", async () => {
    const hostPort = randomInt(30000, 40000);
    const first = newManager();
    const { id, path, att } = await attach(
      "crash",
      { portMappings: [{ hostPort, containerPort: 80, protocol: "tcp" }] },
      first,
    );
    first.close(); // "crash": nothing but the cache survives
    const ip = att.ips[0] ?? "";
    const conf = join(confDir, "10-skiff-test.conflist");
    const saved = readFileSync(conf);
    rmSync(conf);
    try {
      const second = newManager();
      try {
        expect(second.defaultNetwork()?.name).toBe(bwNetwork); // the pod's network is gone
        expect(second.attachments(id).map((a) => a.ips)).toEqual([[ip]]);
        await second.tearDown({ containerId: id, netns: path });
      } finally {
        second.close();
      }
    } finally {
      writeFileSync(conf, saved);
    }
    expect(allocated(ip)).toBe(false);
    expect(await linkExists(hostVeth(att))).toBe(false);
    expect(await iptablesSave("nat")).not.toContain(id);
    await netns.remove(id);
  });

  test("readiness with the real plugins installed", () => {
    cni.reload();
    expect(cni.readiness()).toEqual({ ready: true, reason: "", message: "" });
  });

  test("pods a and b go away cleanly: no allocation, veth or cache entry remains", async () => {
    for (const name of ["a", "b"]) {
      const id = `skt${tag}${name}`;
      const [att] = cni.attachments(id);
      expect(att).toBeDefined();
      if (att === undefined) continue;
      await cni.tearDown({ containerId: id });
      expect(allocated(att.ips[0] ?? "")).toBe(false);
      expect(await linkExists(hostVeth(att))).toBe(false);
      await netns.remove(id);
    }
    expect(readdirSync(cacheDir)).toEqual([]);
    expect(readdirSync(join(ipamDir, network)).filter((f) => /^\d/.test(f))).toEqual([]);
  });
});
