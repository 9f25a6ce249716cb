// The CNI invoker against recording fake plugins (shell scripts speaking the CNI
// protocol): what each plugin is run with, chaining, caching, errors, timeouts, STATUS and
// the conf dir watcher. No root needed; the real plugins are in cni.root.test.ts.
import { afterEach, beforeEach, describe, expect, test } from "@jest/globals";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CniManager, type CniOptions, type NetworkReadiness } from "./cni-manager.js";
import { CniPluginError } from "./exec.js";
import { FakePlugins } from "./testing/fake-plugins.js";

let root: string;
let confDir: string;
let binDir: string;
let cacheDir: string;
let fake: FakePlugins;
const managers: CniManager[] = [];

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "skiff-cni-"));
  confDir = join(root, "net.d");
  binDir = join(root, "bin");
  cacheDir = join(root, "cache");
  mkdirSync(confDir);
  mkdirSync(binDir);
  fake = new FakePlugins(binDir);
  fake.install("main", "meta", "ipam");
});

afterEach(() => {
  for (const m of managers.splice(0)) m.close();
  rmSync(root, { recursive: true, force: true });
});

const manager = (extra: Partial<CniOptions> = {}): CniManager => {
  const m = new CniManager({
    confDir,
    binDirs: [join(root, "empty"), binDir],
    cacheDir,
    watch: false,
    statusIntervalMs: 0,
    ...extra,
  });
  managers.push(m);
  return m;
};

const writeList = (file: string, body: Record<string, unknown>): void =>
  writeFileSync(join(confDir, file), JSON.stringify(body));

const twoPlugins = (version = "1.0.0", extra: Record<string, unknown> = {}) => ({
  cniVersion: version,
  name: "podnet",
  plugins: [
    { type: "main", capabilities: { ips: true }, ipam: { type: "ipam" } },
    { type: "meta", capabilities: { portMappings: true, bandwidth: false } },
  ],
  ...extra,
});

const mainResult = {
  cniVersion: "1.0.0",
  interfaces: [
    { name: "veth0", mac: "02:00:00:00:00:01" },
    { name: "eth0", mac: "02:00:00:00:00:02", sandbox: "/ns/pod" },
  ],
  ips: [{ address: "10.7.0.5/24", gateway: "10.7.0.1", interface: 1 }],
};

const pod = { name: "web", namespace: "default", uid: "u-1", infraContainerId: "sb1" };

const waitFor = async (pred: () => boolean, ms = 5000): Promise<void> => {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error("condition not reached");
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe("ADD, CHECK, DEL on a list", () => {
  test("ADD runs the plugins in order with the spec's environment, chaining prevResult and filtering runtimeConfig", async () => {
    writeList("10-pod.conflist", twoPlugins());
    fake.answer("main", "ADD", mainResult);
    fake.answer("meta", "ADD", { ...mainResult, dns: { nameservers: ["10.96.0.10"] } });
    const m = manager();
    const att = await m.setUp({
      containerId: "sb1",
      netns: "/ns/pod",
      pod,
      capabilityArgs: {
        portMappings: [{ hostPort: 8080, containerPort: 80, protocol: "tcp" }],
        bandwidth: { ingressRate: 1000 },
        ips: ["10.7.0.5/24"],
      },
    });
    expect(att).toMatchObject({ network: "podnet", ifName: "eth0", ips: ["10.7.0.5"] });
    expect(att.result.dns).toEqual({ nameservers: ["10.96.0.10"] });

    const [first, second] = fake.calls();
    expect(first).toMatchObject({
      plugin: "main",
      command: "ADD",
      containerId: "sb1",
      netns: "/ns/pod",
      ifName: "eth0",
      args: "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web;K8S_POD_INFRA_CONTAINER_ID=sb1;K8S_POD_UID=u-1",
      path: `${join(root, "empty")}:${binDir}`,
    });
    expect(first?.stdin).toEqual({
      type: "main",
      name: "podnet",
      cniVersion: "1.0.0",
      capabilities: { ips: true },
      ipam: { type: "ipam" },
      runtimeConfig: { ips: ["10.7.0.5/24"] },
    });
    expect(second?.plugin).toBe("meta");
    expect(second?.stdin.runtimeConfig).toEqual({
      portMappings: [{ hostPort: 8080, containerPort: 80, protocol: "tcp" }],
    });
    expect(second?.stdin.prevResult).toEqual(mainResult);
  });

  test("CHECK and DEL use the cached result; DEL runs in reverse order and drops the cache", async () => {
    writeList("10-pod.conflist", twoPlugins());
    fake.answer("main", "ADD", mainResult);
    fake.answer("meta", "ADD", mainResult);
    const m = manager();
    await m.setUp({ containerId: "sb1", netns: "/ns/pod", pod });
    expect(readdirSync(cacheDir)).toEqual(["podnet-sb1-eth0.json"]);
    expect(m.attachments("sb1").map((a) => a.ips)).toEqual([["10.7.0.5"]]);
    fake.clearCalls();

    await m.check({ containerId: "sb1" });
    expect(fake.calls().map((c) => `${c.plugin} ${c.command}`)).toEqual([
      "main CHECK",
      "meta CHECK",
    ]);
    expect(fake.calls()[0]?.stdin.prevResult).toEqual(mainResult);
    fake.clearCalls();

    await m.tearDown({ containerId: "sb1", netns: "/ns/gone" });
    const calls = fake.calls();
    expect(calls.map((c) => `${c.plugin} ${c.command}`)).toEqual(["meta DEL", "main DEL"]);
    expect(calls[0]?.netns).toBeUndefined(); // the netns does not exist: no CNI_NETNS
    expect(calls[0]?.stdin.prevResult).toEqual(mainResult);
    expect(readdirSync(cacheDir)).toEqual([]);
    expect(m.attachments()).toEqual([]);

    fake.clearCalls();
    await m.tearDown({ containerId: "sb1" }); // again: DEL without prevResult, still fine
    expect(fake.calls().map((c) => c.command)).toEqual(["DEL", "DEL"]);
    expect(fake.calls()[0]?.stdin.prevResult).toBeUndefined();
  });

  test("a retried ADD for the same container and netns returns the cached attachment", async () => {
    writeList("10-pod.conflist", twoPlugins());
    fake.answer("main", "ADD", mainResult);
    fake.answer("meta", "ADD", mainResult);
    const m = manager();
    const first = await m.setUp({ containerId: "sb1", netns: "/ns/pod", pod });
    fake.clearCalls();
    await expect(m.setUp({ containerId: "sb1", netns: "/ns/pod", pod })).resolves.toEqual(first);
    expect(fake.calls()).toEqual([]);
    // a different netns: the old attachment is deleted first, then ADD runs again
    await m.setUp({ containerId: "sb1", netns: "/ns/other", pod });
    expect(fake.calls().map((c) => `${c.plugin} ${c.command}`)).toEqual([
      "meta DEL",
      "main DEL",
      "main ADD",
      "meta ADD",
    ]);
  });

  test("DEL after a crash and a config change uses the cached config and result", async () => {
    writeList("10-pod.conflist", twoPlugins());
    fake.answer("main", "ADD", mainResult);
    fake.answer("meta", "ADD", mainResult);
    await manager().setUp({ containerId: "sb1", netns: "/ns/pod", pod });
    rmSync(join(confDir, "10-pod.conflist"));
    writeList("10-other.conflist", {
      cniVersion: "1.0.0",
      name: "other",
      plugins: [{ type: "ipam" }],
    });
    fake.clearCalls();

    const after = manager(); // a new daemon: reads the cache
    expect(after.attachments("sb1")[0]?.network).toBe("podnet");
    await after.tearDown({ containerId: "sb1" });
    expect(fake.calls().map((c) => `${c.plugin} ${c.command} ${c.args}`)).toEqual([
      `meta DEL IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web;K8S_POD_INFRA_CONTAINER_ID=sb1;K8S_POD_UID=u-1`,
      `main DEL IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web;K8S_POD_INFRA_CONTAINER_ID=sb1;K8S_POD_UID=u-1`,
    ]);
    expect(readdirSync(cacheDir)).toEqual([]);
  });

  test("a 0.4.0 list gets prevResult with ip versions; a 0.3.1 list gets no CHECK and no prevResult on DEL", async () => {
    writeList("10-pod.conflist", twoPlugins("0.4.0"));
    fake.answer("main", "ADD", { ...mainResult, cniVersion: "0.4.0" });
    fake.answer("meta", "ADD", { ...mainResult, cniVersion: "0.4.0" });
    const m = manager();
    await m.setUp({ containerId: "sb1", netns: "/ns/pod" });
    const meta = fake.calls()[1];
    expect((meta?.stdin.prevResult as { ips: unknown[] }).ips[0]).toEqual({
      version: "4",
      address: "10.7.0.5/24",
      gateway: "10.7.0.1",
      interface: 1,
    });
    await m.tearDown({ containerId: "sb1" });

    writeList("10-pod.conflist", twoPlugins("0.3.1"));
    m.reload();
    fake.clearCalls();
    await m.setUp({ containerId: "sb2", netns: "/ns/pod" });
    await m.check({ containerId: "sb2" });
    await m.tearDown({ containerId: "sb2" });
    const calls = fake.calls();
    expect(calls.map((c) => c.command)).toEqual(["ADD", "ADD", "DEL", "DEL"]);
    expect(calls[2]?.stdin.prevResult).toBeUndefined();
  });

  test("an old single-plugin .conf (0.2.0 result) is converted", async () => {
    writeFileSync(
      join(confDir, "10-old.conf"),
      JSON.stringify({ cniVersion: "0.2.0", name: "old", type: "main" }),
    );
    fake.answer("main", "ADD", {
      cniVersion: "0.2.0",
      ip4: { ip: "10.8.0.3/16", gateway: "10.8.0.1" },
    });
    const att = await manager().setUp({ containerId: "sb1", netns: "/ns/pod" });
    expect(att.ips).toEqual(["10.8.0.3"]);
    expect(att.result.ips).toEqual([{ address: "10.8.0.3/16", gateway: "10.8.0.1" }]);
  });

  test("disableCheck skips CHECK", async () => {
    writeList("10-pod.conflist", twoPlugins("1.0.0", { disableCheck: true }));
    fake.answer("main", "ADD", mainResult);
    fake.answer("meta", "ADD", mainResult);
    const m = manager();
    await m.setUp({ containerId: "sb1", netns: "/ns/pod" });
    fake.clearCalls();
    await m.check({ containerId: "sb1" });
    expect(fake.calls()).toEqual([]);
  });
});

describe("failures", () => {
  test("a plugin error becomes a SkiffError naming the plugin; what was added is deleted and nothing is cached", async () => {
    writeList("10-pod.conflist", twoPlugins());
    fake.answer("main", "ADD", mainResult);
    fake.answer(
      "meta",
      "ADD",
      { cniVersion: "1.0.0", code: 11, msg: "busy", details: "try later" },
      1,
    );
    const err = await manager()
      .setUp({ containerId: "sb1", netns: "/ns/pod" })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CniPluginError);
    expect(err).toMatchObject({ kind: "Unavailable", plugin: "meta", code: 11 });
    expect((err as Error).message).toBe(
      "CNI plugin meta ADD on network podnet failed (code 11): busy: try later",
    );
    expect(fake.calls().map((c) => `${c.plugin} ${c.command}`)).toEqual([
      "main ADD",
      "meta ADD",
      "meta DEL",
      "main DEL",
    ]);
    expect(readdirSync(cacheDir)).toEqual([]);
  });

  test("a plugin that prints garbage or an invalid result, or is missing, is an error naming it", async () => {
    writeList("10-pod.conflist", { cniVersion: "1.0.0", name: "n", plugins: [{ type: "main" }] });
    fake.answer("main", "ADD", "oops not json", 2);
    const m = manager();
    await expect(m.setUp({ containerId: "sb1", netns: "/ns/p" })).rejects.toThrow(
      "CNI plugin main ADD on network n failed: exited with status 2: oops not json",
    );
    fake.answer("main", "ADD", { ips: [{ address: "nope" }] });
    await expect(m.setUp({ containerId: "sb1", netns: "/ns/p" })).rejects.toThrow(
      /CNI plugin main ADD on network n failed: printed an invalid result: ips\[0\]\.address "nope"/,
    );
    writeList("10-pod.conflist", { cniVersion: "1.0.0", name: "n", plugins: [{ type: "absent" }] });
    m.reload();
    expect(m.readiness()).toMatchObject({ ready: false, reason: "NetworkPluginNotReady" });
    expect(m.readiness().message).toMatch(/plugin absent not found in/);
    await expect(m.setUp({ containerId: "sb1", netns: "/ns/p" })).rejects.toMatchObject({
      kind: "FailedPrecondition",
      message: expect.stringMatching(/CNI plugin absent ADD .* plugin binary not found/),
    });
  });

  test("a plugin that hangs is killed after the timeout", async () => {
    writeList("10-pod.conflist", { cniVersion: "1.0.0", name: "n", plugins: [{ type: "main" }] });
    fake.sleep("main", 30);
    const started = Date.now();
    await expect(
      manager({ timeoutMs: 300 }).setUp({ containerId: "sb1", netns: "/ns/p" }),
    ).rejects.toMatchObject({
      kind: "DeadlineExceeded",
      message: expect.stringMatching(/no answer within 300 ms/),
    });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  test("bad ids are refused before any plugin runs", async () => {
    writeList("10-pod.conflist", twoPlugins());
    const m = manager();
    await expect(m.setUp({ containerId: "../x", netns: "/ns/p" })).rejects.toMatchObject({
      kind: "InvalidArgument",
    });
    await expect(
      m.setUp({ containerId: "a", netns: "/ns/p", ifName: "way-too-long-ifname" }),
    ).rejects.toThrow(/interface name/);
    await expect(
      m.setUp({ containerId: "a", netns: "/ns/p", pod: { ...pod, name: "a;b=c" } }),
    ).rejects.toThrow(/CNI_ARGS/);
    expect(fake.calls()).toEqual([]);
  });
});

describe("readiness", () => {
  test("not ready with the reason while the dir is empty or invalid; the message names the bad file", () => {
    const m = manager();
    expect(m.readiness()).toEqual({
      ready: false,
      reason: "NetworkPluginNotReady",
      message: `cni config uninitialized: no network configuration in ${confDir}`,
    });
    writeFileSync(join(confDir, "10-bad.conflist"), JSON.stringify({ name: "x", plugins: [] }));
    m.reload();
    expect(m.readiness().message).toContain(
      `${join(confDir, "10-bad.conflist")}: "cniVersion" is missing`,
    );
    writeList("20-good.conflist", twoPlugins());
    m.reload();
    expect(m.readiness()).toEqual({ ready: true, reason: "", message: "" });
  });

  test("the watcher flips readiness when a conflist appears in a directory that did not exist", async () => {
    rmSync(confDir, { recursive: true });
    const m = manager({ watch: true, debounceMs: 20, pollMs: 200 });
    const seen: NetworkReadiness[] = [];
    m.onReadinessChange((r) => seen.push(r));
    expect(m.readiness().message).toMatch(/does not exist/);
    mkdirSync(confDir);
    await waitFor(() => seen.length > 0);
    expect(seen.at(-1)?.message).toMatch(/no network configuration/);
    writeList("10-pod.conflist", twoPlugins());
    await waitFor(() => m.readiness().ready);
    expect(seen.at(-1)).toEqual({ ready: true, reason: "", message: "" });
    rmSync(join(confDir, "10-pod.conflist"));
    await waitFor(() => !m.readiness().ready);
    expect(seen.at(-1)?.ready).toBe(false);
  });

  test("a network on the pod CIDR waits for setPodCidr, then gets it in IPAM and ipRanges", async () => {
    writeList("10-pod.conflist", {
      cniVersion: "1.0.0",
      name: "podnet",
      plugins: [
        {
          type: "main",
          capabilities: { ipRanges: true },
          ipam: { type: "host-local", ranges: [[{ subnet: "usePodCidr" }]] },
        },
      ],
    });
    fake.answer("main", "ADD", mainResult);
    const m = manager();
    expect(m.readiness().message).toMatch(/pod CIDR, which is not set yet/);
    await expect(m.setUp({ containerId: "sb1", netns: "/ns/p" })).rejects.toMatchObject({
      kind: "FailedPrecondition",
    });
    m.setPodCidr("10.244.1.0/24");
    expect(m.readiness().ready).toBe(true);
    await m.setUp({ containerId: "sb1", netns: "/ns/p" });
    const stdin = fake.calls()[0]?.stdin;
    expect(stdin?.ipam).toEqual({ type: "host-local", ranges: [[{ subnet: "10.244.1.0/24" }]] });
    expect(stdin?.runtimeConfig).toEqual({ ipRanges: [[{ subnet: "10.244.1.0/24" }]] });
    expect(() => m.setPodCidr("nonsense")).toThrow(/not a CIDR/);
  });

  test("STATUS (CNI 1.1): a plugin reporting an error makes the network not ready", async () => {
    writeList("10-pod.conflist", twoPlugins("1.1.0"));
    fake.answer("meta", "STATUS", { cniVersion: "1.1.0", code: 50, msg: "daemon not running" }, 1);
    const m = manager();
    await m.refreshStatus();
    expect(m.readiness()).toEqual({
      ready: false,
      reason: "NetworkPluginNotReady",
      message: "CNI plugin meta STATUS on network podnet failed (code 50): daemon not running",
    });
    const status = fake.calls().filter((c) => c.command === "STATUS");
    expect(new Set(status.map((c) => c.plugin))).toEqual(new Set(["main", "meta"]));
    expect(status[0]?.containerId).toBe("");
    rmSync(join(binDir, "meta.STATUS.rc"));
    rmSync(join(binDir, "meta.STATUS.out"));
    await m.refreshStatus();
    expect(m.readiness().ready).toBe(true);
  });

  test("STATUS is not run for networks older than 1.1.0", async () => {
    writeList("10-pod.conflist", twoPlugins("1.0.0"));
    await manager().refreshStatus();
    expect(fake.calls()).toEqual([]);
  });
});
