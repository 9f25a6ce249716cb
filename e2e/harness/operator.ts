/**
 * Runs skiff-operator (bin/skiff-operator) against a test control plane: installs the
 * manifests, makes a kubeconfig for a ServiceAccount (so the tests exercise the RBAC in
 * manifests/), starts operator and node-agent processes with short lease and requeue
 * timings, reads their metrics, and stops them.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort, type ControlPlane } from "./control-plane.js";
import { bin, repoRoot } from "./skiff-cri.js";

export const manifestsDir = join(repoRoot, "manifests");
/** For startControlPlane's applyBeforeControllers: the CRDs, known to GC from the start. */
export const crdDir = join(manifestsDir, "crds");

export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 20_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v as T;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** kubectl apply -k manifests/ and wait for the CRDs to be served. */
export function installManifests(cp: ControlPlane): string {
  const r = cp.kubectl(["apply", "-k", manifestsDir]);
  if (r.code !== 0) throw new Error(`kubectl apply -k failed: ${r.stderr}`);
  const w = cp.kubectl([
    "wait",
    "--for=condition=Established",
    "crd",
    "-l",
    "app.kubernetes.io/part-of=skiff",
    "--timeout=30s",
  ]);
  if (w.code !== 0) throw new Error(`CRDs not established: ${w.stderr}`);
  return r.stdout;
}

/** A kubeconfig that authenticates as namespace/serviceAccount (a TokenRequest token). */
export function serviceAccountKubeconfig(
  cp: ControlPlane,
  namespace: string,
  serviceAccount: string,
): string {
  const r = cp.kubectl(["create", "token", serviceAccount, "-n", namespace, "--duration=2h"]);
  if (r.code !== 0) throw new Error(`kubectl create token failed: ${r.stderr}`);
  const path = join(cp.dir, `kubeconfig-${serviceAccount}`);
  writeFileSync(
    path,
    [
      "apiVersion: v1",
      "kind: Config",
      "clusters:",
      "- name: test",
      "  cluster:",
      `    server: ${cp.server}`,
      `    certificate-authority-data: ${Buffer.from(cp.caPem).toString("base64")}`,
      "users:",
      `- name: ${serviceAccount}`,
      "  user:",
      `    token: ${r.stdout.trim()}`,
      "contexts:",
      "- name: test",
      `  context: { cluster: test, user: ${serviceAccount} }`,
      "current-context: test",
      "",
    ].join("\n"),
    { mode: 0o600 },
  );
  return path;
}

export interface RunningOperator {
  child: ChildProcess;
  metricsPort: number;
  output(): string;
  metrics(): Promise<string>;
  /** The value of one sample line of /metrics (0 when absent). */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface OperatorProcessOptions {
  kubeconfig: string;
  args?: string[];
  /** Resolve once /readyz answers 200 (default true). */
  waitReady?: boolean;
}

export async function startOperator(options: OperatorProcessOptions): Promise<RunningOperator> {
  const metricsPort = await freePort();
  const child = spawn(
    bin("skiff-operator"),
    [
      `--kubeconfig=${options.kubeconfig}`,
      `--metrics-addr=127.0.0.1:${metricsPort}`,
      "--namespace=skiff-system",
      "--lease-duration=3",
      "--renew-deadline=2",
      "--retry-period=0.3",
      "--missing-ref-requeue=0.5",
      "--log-level=info",
      ...(options.args ?? []),
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout?.on("data", (d) => (output = (output + d).slice(-400_000)));
  child.stderr?.on("data", (d) => (output = (output + d).slice(-400_000)));
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => resolve(code)),
  );
  const metrics = async () => {
    const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    return res.text();
  };
  const running: RunningOperator = {
    child,
    metricsPort,
    output: () => output,
    metrics,
    async metric(name, labels = {}) {
      const text = await metrics();
      const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
      let sum = 0;
      for (const line of text.split("\n")) {
        if (!line.startsWith(name)) continue;
        const rest = line.slice(name.length);
        if (rest[0] !== "{" && rest[0] !== " ") continue;
        if (want.every((w) => rest.includes(w))) sum += Number(line.split(" ").pop());
      }
      return sum;
    },
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
  if (options.waitReady !== false) {
    try {
      await waitFor(
        "skiff-operator /readyz",
        async () => {
          if (child.exitCode !== null)
            throw new Error(`skiff-operator exited ${child.exitCode}:\n${output}`);
          const res = await fetch(`http://127.0.0.1:${metricsPort}/readyz`);
          return res.status === 200;
        },
        30_000,
      );
    } catch (err) {
      await running.stop("SIGKILL");
      throw new Error(`${(err as Error).message}\n${output}`, { cause: err });
    }
  }
  return running;
}

/** Starts the node agent (--node-agent) for `node` against a temp host root. */
export function startAgent(options: {
  kubeconfig: string;
  node: string;
  hostRoot: string;
  procRoot: string;
  sysRoot: string;
  installSource?: string;
  resyncSeconds?: number;
}): Promise<RunningOperator> {
  return startOperator({
    kubeconfig: options.kubeconfig,
    args: [
      "--node-agent",
      `--node-name=${options.node}`,
      `--host-root=${options.hostRoot}`,
      `--proc-root=${options.procRoot}`,
      `--sys-root=${options.sysRoot}`,
      `--resync=${options.resyncSeconds ?? 60}`,
      ...(options.installSource ? [`--install-source=${options.installSource}`] : []),
    ],
  });
}

/** GET a path as admin and return the parsed JSON body (undefined on 404). */
export async function getJson<T = Record<string, unknown>>(
  cp: ControlPlane,
  path: string,
): Promise<T | undefined> {
  const r = await cp.api("GET", path);
  if (r.status === 404) return undefined;
  if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body as T;
}

/** kubectl apply -f - of a YAML text; throws with stderr on failure. */
export function apply(cp: ControlPlane, yaml: string): string {
  const r = cp.kubectl(["apply", "-f", "-"], yaml);
  if (r.code !== 0) throw new Error(`kubectl apply failed: ${r.stderr}`);
  return r.stdout;
}

export async function createNode(
  cp: ControlPlane,
  name: string,
  labels: Record<string, string> = {},
): Promise<void> {
  const r = await cp.api("POST", "/api/v1/nodes", {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name,
      labels: { "kubernetes.io/os": "linux", "kubernetes.io/hostname": name, ...labels },
    },
  });
  if (r.status !== 201)
    throw new Error(`creating node ${name}: ${r.status} ${JSON.stringify(r.body)}`);
}
