/**
 * The node agent (`skiff-operator --node-agent`) with the operator, on a real control
 * plane, applying to a temp host root on this machine: real module checks through this
 * kernel's /sys (a module the kernel lacks fails its own step), sysctls in a temp proc
 * root, the swap check, Skiff's installation, kubelet's drop-in, and a Registry written
 * into registries.d that a real skiff-cri (on the host root's socket) loads, with
 * mirrors probed over HTTP. Status comes back per node; the operator aggregates it.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfigFile } from "../../cri/src/core/config/load.js";
import { rpc } from "../../cri/src/cli/client.js";
import { freePort, startControlPlane, type ControlPlane } from "../harness/control-plane.js";
import {
  apply,
  crdDir,
  createNode,
  getJson,
  installManifests,
  serviceAccountKubeconfig,
  startAgent,
  startOperator,
  waitFor,
  type RunningOperator,
} from "../harness/operator.js";
import { startDaemon, type RunningDaemon } from "../harness/skiff-cri.js";

interface Step {
  name: string;
  outcome: string;
  message?: string;
}
interface Obj {
  metadata: { name: string; generation: number };
  status?: {
    observedGeneration?: number;
    nodesTotal?: number;
    nodesReady?: number;
    nodesFailed?: number;
    nodesApplied?: number;
    conditions?: { type: string; status: string; reason: string; message: string }[];
    mirrors?: {
      url: string;
      healthyNodes?: number;
      unhealthyNodes?: number;
      latencyMs?: number;
      message?: string;
    }[];
    nodes?: {
      node: string;
      observedGeneration: number;
      ready?: boolean;
      applied?: boolean;
      steps?: Step[];
      mirrors?: { url: string; healthy: boolean; latencyMs?: number; message?: string }[];
    }[];
  };
}

let cp: ControlPlane;
let operator: RunningOperator;
let agent: RunningOperator;
let cri: RunningDaemon | undefined;
let mirror: Server;
let mirrorURL: string;
let deadURL: string;
const dir = mkdtempSync(join(tmpdir(), "skiff-agent-e2e-"));
const hostRoot = join(dir, "host");
const procRoot = join(dir, "proc");
const release = join(dir, "release");
const condition = (o: Obj | undefined, type: string) =>
  o?.status?.conditions?.find((c) => c.type === type);
const nodeSetup = (name: string) => getJson<Obj>(cp, `/apis/skiff.dev/v1alpha1/nodesetups/${name}`);
const registry = (name: string) => getJson<Obj>(cp, `/apis/skiff.dev/v1alpha1/registries/${name}`);

beforeAll(async () => {
  // The host as the agent sees it: a temp root and a temp proc with two sysctls and a swap device.
  mkdirSync(join(procRoot, "sys/net/ipv4"), { recursive: true });
  writeFileSync(join(procRoot, "sys/net/ipv4/ip_forward"), "0\n");
  writeFileSync(
    join(procRoot, "swaps"),
    "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n/swapfile  file  1048572  0  -2\n",
  );
  mkdirSync(join(hostRoot, "etc/skiff"), { recursive: true });
  writeFileSync(join(hostRoot, "etc/skiff/config.yaml"), "registries: {}\n");
  mkdirSync(join(release, "bin"), { recursive: true });
  writeFileSync(join(release, "bin/skiff-cri"), "#!/bin/sh\n", { mode: 0o755 });
  // A mirror that answers /v2/ and a port where nothing listens.
  mirror = createServer((req, res) => {
    res.writeHead(req.url === "/v2/" ? 200 : 404, {
      "docker-distribution-api-version": "registry/2.0",
    });
    res.end("{}");
  });
  await new Promise<void>((r) => mirror.listen(0, "127.0.0.1", r));
  mirrorURL = `http://127.0.0.1:${(mirror.address() as { port: number }).port}`;
  deadURL = `http://127.0.0.1:${await freePort()}`;
  // A real skiff-cri whose config lives in the host root, on the socket the agent reloads.
  cri = await startDaemon({
    dir: hostRoot,
    socket: join(hostRoot, "run/skiff/cri.sock"),
    root: join(dir, "cri-root"),
    state: join(dir, "cri-state"),
    config: join(hostRoot, "etc/skiff/config.yaml"),
  });

  cp = await startControlPlane({ applyBeforeControllers: [crdDir] });
  installManifests(cp);
  await createNode(cp, "node-a", { "skiff.dev/test": "yes" });
  await createNode(cp, "node-b");
  operator = await startOperator({
    kubeconfig: serviceAccountKubeconfig(cp, "skiff-system", "skiff-operator"),
  });
  agent = await startAgent({
    kubeconfig: serviceAccountKubeconfig(cp, "skiff-system", "skiff-node-agent"),
    node: "node-a",
    hostRoot,
    procRoot,
    sysRoot: "/sys",
    installSource: release,
  });
}, 120_000);

afterAll(async () => {
  await agent?.stop();
  await operator?.stop();
  await cri?.stop();
  await cp?.stop();
  await new Promise((r) => mirror?.close(r));
  rmSync(dir, { recursive: true, force: true });
}, 30_000);

describe("node agent", () => {
  test("applies every NodeSetup step, reports each outcome, and a failed step does not stop the others", async () => {
    apply(
      cp,
      `apiVersion: skiff.dev/v1alpha1
kind: NodeSetup
metadata: {name: prereqs}
spec:
  nodeSelector: {skiff.dev/test: "yes"}
  modules: [overlay, skiff_no_such_module]
  sysctls:
    net.ipv4.ip_forward: "1"
    net.bridge.bridge-nf-call-iptables: "1"
  swap: {policy: Warn}
  skiff: {install: true, version: v0.1.0}
  kubelet: {}
`,
    );
    const s = await waitFor(
      "NodeSetup reported and aggregated",
      async () => {
        const o = await nodeSetup("prereqs");
        return o?.status?.nodes?.length === 1 && o.status.nodesFailed === 1 ? o : undefined;
      },
      30_000,
    );
    const entry = s.status!.nodes![0]!;
    expect(entry).toMatchObject({ node: "node-a", observedGeneration: 1, ready: false });
    const steps = Object.fromEntries((entry.steps ?? []).map((st) => [st.name, st]));
    expect(steps["module/overlay"]).toMatchObject({ outcome: "Applied", message: "loaded" });
    expect(steps["module/skiff_no_such_module"]?.outcome).toBe("Failed");
    expect(steps["module/skiff_no_such_module"]?.message).toMatch(
      /^modprobe skiff_no_such_module failed/,
    );
    expect(steps["sysctl/net.ipv4.ip_forward"]).toMatchObject({
      outcome: "Applied",
      message: "set to 1 (was 0)",
    });
    // Status updates do not make the agent apply again (no second report).
    expect(agent.output().match(/node setup applied/g)).toHaveLength(1);
    expect(steps["sysctl/net.bridge.bridge-nf-call-iptables"]).toMatchObject({
      outcome: "Failed",
      message:
        "net.bridge.bridge-nf-call-iptables does not exist on this kernel (is its module loaded?)",
    });
    expect(steps["swap"]?.outcome).toBe("Warning");
    expect(steps["swap"]?.message).toContain("/swapfile");
    expect(steps["skiff-install"]).toMatchObject({
      outcome: "Applied",
      message: "installed v0.1.0",
    });
    expect(steps["skiff-unit"]?.outcome).toBe("Skipped");
    expect(steps["kubelet-config"]?.outcome).toBe("Applied");
    // What the host now has.
    expect(readFileSync(join(procRoot, "sys/net/ipv4/ip_forward"), "utf8")).toBe("1");
    expect(readFileSync(join(hostRoot, "etc/sysctl.d/99-skiff.conf"), "utf8")).toContain(
      "net.ipv4.ip_forward = 1",
    );
    expect(readFileSync(join(hostRoot, "etc/modules-load.d/skiff.conf"), "utf8")).toContain(
      "overlay\nskiff_no_such_module",
    );
    expect(readlinkSync(join(hostRoot, "opt/skiff/current"))).toBe("v0.1.0");
    expect(existsSync(join(hostRoot, "opt/skiff/v0.1.0/bin/skiff-cri"))).toBe(true);
    const kubelet = readFileSync(
      join(hostRoot, "etc/kubernetes/kubelet.conf.d/50-skiff.conf"),
      "utf8",
    );
    expect(kubelet).toContain("kind: KubeletConfiguration");
    expect(kubelet).toContain("containerRuntimeEndpoint: unix:///run/skiff/cri.sock");
    expect(kubelet).toContain("failCgroupV1: false");
    // The operator's aggregate: node-b is not selected.
    expect(s.status).toMatchObject({ nodesTotal: 1, nodesReady: 0, nodesFailed: 1 });
    expect(condition(s, "Ready")).toMatchObject({ status: "False", reason: "StepsFailed" });
    expect(condition(s, "Degraded")?.message).toContain(
      "node-a: module/skiff_no_such_module: modprobe",
    );

    // Fix the spec: the next generation applies fully.
    apply(
      cp,
      `apiVersion: skiff.dev/v1alpha1
kind: NodeSetup
metadata: {name: prereqs}
spec:
  nodeSelector: {skiff.dev/test: "yes"}
  modules: [overlay]
  sysctls: {net.ipv4.ip_forward: "1"}
  swap: {policy: Warn}
  skiff: {install: true, version: v0.1.0}
  kubelet: {}
`,
    );
    const fixed = await waitFor(
      "Ready",
      async () => {
        const o = await nodeSetup("prereqs");
        return condition(o, "Ready")?.status === "True" && o?.status?.observedGeneration === 2
          ? o
          : undefined;
      },
      30_000,
    );
    expect(fixed.status).toMatchObject({ nodesTotal: 1, nodesReady: 1, nodesFailed: 0 });
    expect(
      fixed.status?.nodes?.[0]?.steps?.find((st) => st.name === "sysctl/net.ipv4.ip_forward")
        ?.message,
    ).toBe("already 1");
    expect(condition(fixed, "Degraded")?.status).toBe("False");
  }, 60_000);

  test("writes the Registry into registries.d in skiff-cri's schema, skiff-cri loads it, mirrors are probed", async () => {
    apply(
      cp,
      `apiVersion: v1
kind: Secret
metadata: {name: docker-creds, namespace: skiff-system}
type: kubernetes.io/basic-auth
stringData: {username: ci, password: s3cret}
---
apiVersion: skiff.dev/v1alpha1
kind: Registry
metadata: {name: docker-hub}
spec:
  server: docker.io
  nodeSelector: {skiff.dev/test: "yes"}
  credentials: {secretRef: {name: docker-creds}}
  mirrors:
    - {url: "${mirrorURL}"}
    - {url: "${deadURL}", capabilities: [pull]}
`,
    );
    const file = join(hostRoot, "etc/skiff/registries.d/docker-hub.yaml");
    await waitFor("drop-in", () => existsSync(file));
    const parsed = parseConfigFile(file, readFileSync(file, "utf8"));
    expect(parsed.registries["docker.io"]).toEqual({
      mirrors: [
        { url: mirrorURL, insecureSkipVerify: false, capabilities: ["pull", "resolve"] },
        { url: deadURL, insecureSkipVerify: false, capabilities: ["pull"] },
      ],
      insecure: false,
      auth: { username: "ci", password: "s3cret" },
      source: file,
    });
    // The real skiff-cri has it in force.
    const inForce = await waitFor("skiff-cri config", async () => {
      const res = await rpc<{ yaml: string; files: string[] }>(cri!.clients.config, "Get", {});
      return res.files.includes(file) ? res : undefined;
    });
    expect(inForce.yaml).toContain("docker.io");
    const r = await waitFor(
      "registry status aggregated",
      async () => {
        const o = await registry("docker-hub");
        return o?.status?.nodesApplied === 1 && condition(o, "MirrorsHealthy")?.status === "False"
          ? o
          : undefined;
      },
      30_000,
    );
    expect(r.status).toMatchObject({ nodesApplied: 1, nodesTotal: 1 });
    const entry = r.status?.nodes?.[0];
    expect(entry).toMatchObject({ node: "node-a", applied: true, observedGeneration: 1 });
    expect(entry?.mirrors?.find((m) => m.url === mirrorURL)).toMatchObject({ healthy: true });
    expect(entry?.mirrors?.find((m) => m.url === deadURL)?.healthy).toBe(false);
    expect(r.status?.mirrors?.[0]).toMatchObject({
      url: mirrorURL,
      healthyNodes: 1,
      unhealthyNodes: 0,
    });
    expect(typeof r.status?.mirrors?.[0]?.latencyMs).toBe("number");
    expect(condition(r, "MirrorsHealthy")?.message).toContain(deadURL);
    expect(condition(r, "Ready")).toMatchObject({
      status: "True",
      message: "applied on 1 of 1 nodes",
    });
  }, 60_000);

  test("deleting the Registry removes the drop-in, withdraws the node's entry and releases the finalizer", async () => {
    const file = join(hostRoot, "etc/skiff/registries.d/docker-hub.yaml");
    expect(existsSync(file)).toBe(true);
    const del = cp.kubectl(["delete", "registry", "docker-hub", "--timeout=30s"]);
    expect(del.code).toBe(0);
    expect(existsSync(file)).toBe(false);
    expect((await cp.api("GET", "/apis/skiff.dev/v1alpha1/registries/docker-hub")).status).toBe(
      404,
    );
    const res = await rpc<{ files: string[] }>(cri!.clients.config, "Get", {});
    expect(res.files).not.toContain(file);
  }, 40_000);

  test("a node that stops matching the selector drops the Registry", async () => {
    apply(
      cp,
      `apiVersion: skiff.dev/v1alpha1
kind: Registry
metadata: {name: quay}
spec:
  server: quay.io
  nodeSelector: {skiff.dev/test: "yes"}
`,
    );
    const file = join(hostRoot, "etc/skiff/registries.d/quay.yaml");
    await waitFor("drop-in", () => existsSync(file));
    expect(cp.kubectl(["label", "node", "node-a", "skiff.dev/test-"]).code).toBe(0);
    await waitFor("drop-in removed", () => !existsSync(file));
    const r = await waitFor("entry withdrawn", async () => {
      const o = await registry("quay");
      return o?.status?.nodesTotal === 0 && (o.status.nodes ?? []).length === 0 ? o : undefined;
    });
    expect(r.status?.nodesApplied).toBe(0);
  }, 40_000);
});
