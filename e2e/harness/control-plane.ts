/**
 * A real Kubernetes control plane for integration tests: etcd, kube-apiserver and
 * kube-controller-manager from the tool cache (e2e/tools/build-tools.sh), on random
 * free loopback ports, in a temp dir. No kubelet: tests play kubelet by patching Pod
 * status.
 *
 *   etcd (http, 127.0.0.1)  ←  kube-apiserver (https, 127.0.0.1, static admin token,
 *                                 generated serving cert and service-account key pair)
 *                            ←  kube-controller-manager (GC, Jobs → Pods, namespaces,
 *                                 service accounts, Deployments → ReplicaSets → Pods)
 *
 * Invariants: every process listens on 127.0.0.1 only; `stop()` kills every process and
 * removes the temp dir, and an exit hook does the same if the test process dies first.
 * One control plane per test file (startup takes a few seconds).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { toolPath } from "./skiff-cri.js";

export interface ControlPlaneOptions {
  /** kube-apiserver's watch cache; off makes a watch from a compacted revision fail with 410. */
  watchCache?: boolean;
  /** kube-controller-manager controllers (default: the ones the operator's tests rely on). */
  controllers?: string[];
  /**
   * Files or dirs to `kubectl apply` (e.g. CRDs) once kube-apiserver is ready and before
   * kube-controller-manager starts, so its garbage collector knows those kinds from the
   * start (it rediscovers new resources only every 30 s).
   */
  applyBeforeControllers?: string[];
  /** Keep the temp dir (logs) after stop, for debugging. */
  keep?: boolean;
}

export interface KubectlResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface ControlPlane {
  dir: string;
  /** https://127.0.0.1:<port> */
  server: string;
  /** The admin bearer token (system:masters). */
  token: string;
  /** PEM of the apiserver's self-signed serving certificate (its own CA). */
  caPem: string;
  kubeconfigPath: string;
  etcdUrl: string;
  /** Runs kubectl against this control plane. */
  kubectl(args: string[], input?: string): KubectlResult;
  /** A raw HTTPS request as admin; returns status and parsed JSON (or text). */
  api(method: string, path: string, body?: unknown, contentType?: string): Promise<ApiResult>;
  /** Compacts etcd's history up to its current revision (expires old watches). */
  compactEtcd(): Promise<number>;
  /** Logs of the three processes (tails), for failure messages. */
  logs(): string;
  stop(): Promise<void>;
}

export interface ApiResult {
  status: number;
  body: unknown;
}

const defaultControllers = [
  "garbage-collector-controller",
  "job-controller",
  "namespace-controller",
  "serviceaccount-controller",
  "deployment-controller",
  "replicaset-controller",
];

/** A free TCP port on 127.0.0.1 (the kernel picks it; we release it just before use). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

interface Proc {
  name: string;
  child: ChildProcess;
  log: string;
  exited: Promise<void>;
}

const live = new Set<Proc>();
process.once("exit", () => {
  for (const p of live) p.child.kill("SIGKILL");
});

function startProcess(name: string, bin: string, args: string[], logFile: string): Proc {
  const child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
  const proc: Proc = {
    name,
    child,
    log: "",
    exited: new Promise((resolve) => child.once("exit", () => resolve())),
  };
  const append = (d: Buffer) => {
    proc.log += d.toString();
    if (proc.log.length > 200_000) proc.log = proc.log.slice(-100_000);
  };
  child.stdout?.on("data", append);
  child.stderr?.on("data", append);
  void proc.exited.then(() => {
    live.delete(proc);
    try {
      writeFileSync(logFile, proc.log);
    } catch {
      // the dir may be gone already
    }
  });
  live.add(proc);
  return proc;
}

async function stopProcess(proc: Proc): Promise<void> {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  proc.child.kill("SIGTERM");
  const timer = setTimeout(() => proc.child.kill("SIGKILL"), 5000);
  await proc.exited;
  clearTimeout(timer);
}

function openssl(args: string[], cwd: string): void {
  const result = spawnSync("openssl", args, { cwd, encoding: "utf8" });
  if (result.status !== 0) throw new Error(`openssl ${args.join(" ")}: ${result.stderr}`);
}

function httpsRequest(
  url: string,
  ca: string | undefined,
  token: string,
  method: string,
  body?: string,
  contentType = "application/json",
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        ...(ca === undefined ? { rejectUnauthorized: false } : { ca }),
        headers: {
          authorization: `Bearer ${token}`,
          accept: "application/json",
          ...(body !== undefined ? { "content-type": contentType } : {}),
        },
        timeout: 10_000,
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d) => (text += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${method} ${url}: timeout`)));
    req.on("error", reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

async function waitFor(
  what: string,
  procs: Proc[],
  check: () => Promise<boolean>,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const p of procs) {
      if (p.child.exitCode !== null || p.child.signalCode !== null) {
        throw new Error(`${p.name} exited while waiting for ${what}:\n${p.log.slice(-4000)}`);
      }
    }
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out waiting for ${what}:\n${procs.map((p) => `--- ${p.name}\n${p.log.slice(-3000)}`).join("\n")}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const dir = mkdtempSync(join(tmpdir(), "skiff-cp-"));
  const procs: Proc[] = [];
  const stopAll = async () => {
    for (const p of [...procs].reverse()) await stopProcess(p);
    if (!options.keep) rmSync(dir, { recursive: true, force: true });
  };
  try {
    const [etcdPort, peerPort, apiPort, kcmPort] = [
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    const token = randomBytes(24).toString("hex");
    // Serving certificate (self-signed, its own CA) and the service-account key pair.
    openssl(
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        "serving.key",
        "-out",
        "serving.crt",
        "-days",
        "2",
        "-subj",
        "/CN=kube-apiserver",
        "-addext",
        "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc",
      ],
      dir,
    );
    openssl(["genrsa", "-out", "sa.key", "2048"], dir);
    openssl(["rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub"], dir);
    writeFileSync(join(dir, "tokens.csv"), `${token},admin,admin-uid,system:masters\n`);
    const caPem = readFileSync(join(dir, "serving.crt"), "utf8");
    const server = `https://127.0.0.1:${apiPort}`;
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;

    const etcd = startProcess(
      "etcd",
      toolPath("etcd"),
      [
        "--name=skiff-test",
        `--data-dir=${join(dir, "etcd")}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
        `--initial-cluster=skiff-test=http://127.0.0.1:${peerPort}`,
        "--unsafe-no-fsync",
        "--log-level=warn",
      ],
      join(dir, "etcd.log"),
    );
    procs.push(etcd);
    await waitFor("etcd", procs, async () => {
      const res = await fetch(`${etcdUrl}/health`);
      return res.ok;
    });

    const apiserver = startProcess(
      "kube-apiserver",
      toolPath("kube-apiserver"),
      [
        `--etcd-servers=${etcdUrl}`,
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        `--secure-port=${apiPort}`,
        `--tls-cert-file=${join(dir, "serving.crt")}`,
        `--tls-private-key-file=${join(dir, "serving.key")}`,
        `--token-auth-file=${join(dir, "tokens.csv")}`,
        `--service-account-key-file=${join(dir, "sa.pub")}`,
        `--service-account-signing-key-file=${join(dir, "sa.key")}`,
        "--service-account-issuer=https://kubernetes.default.svc",
        "--service-cluster-ip-range=10.96.0.0/16",
        "--authorization-mode=RBAC",
        "--allow-privileged=true",
        `--watch-cache=${options.watchCache === false ? "false" : "true"}`,
        "--endpoint-reconciler-type=none",
        "--enable-priority-and-fairness=false",
        "--max-requests-inflight=2000",
        "--max-mutating-requests-inflight=1000",
        "--v=0",
      ],
      join(dir, "kube-apiserver.log"),
    );
    procs.push(apiserver);
    await waitFor("kube-apiserver /readyz", procs, async () => {
      const res = await httpsRequest(`${server}/readyz`, caPem, token, "GET");
      return res.status === 200;
    });

    const kubeconfigPath = join(dir, "kubeconfig");
    writeFileSync(
      kubeconfigPath,
      [
        "apiVersion: v1",
        "kind: Config",
        "clusters:",
        "- name: skiff-test",
        "  cluster:",
        `    server: ${server}`,
        `    certificate-authority-data: ${Buffer.from(caPem).toString("base64")}`,
        "users:",
        "- name: admin",
        "  user:",
        `    token: ${token}`,
        "contexts:",
        "- name: skiff-test",
        "  context: { cluster: skiff-test, user: admin, namespace: default }",
        "current-context: skiff-test",
        "",
      ].join("\n"),
      { mode: 0o600 },
    );

    const kubectlBin = toolPath("kubectl");
    for (const path of options.applyBeforeControllers ?? []) {
      const r = spawnSync(kubectlBin, [`--kubeconfig=${kubeconfigPath}`, "apply", "-f", path], {
        encoding: "utf8",
      });
      if (r.status !== 0) throw new Error(`kubectl apply -f ${path}: ${r.stderr}`);
      const w = spawnSync(
        kubectlBin,
        [
          `--kubeconfig=${kubeconfigPath}`,
          "wait",
          "--for=condition=Established",
          "crd",
          "--all",
          "--timeout=30s",
        ],
        { encoding: "utf8" },
      );
      if (w.status !== 0) throw new Error(`CRDs not established: ${w.stderr}`);
    }

    const kcm = startProcess(
      "kube-controller-manager",
      toolPath("kube-controller-manager"),
      [
        `--kubeconfig=${kubeconfigPath}`,
        `--authentication-kubeconfig=${kubeconfigPath}`,
        `--authorization-kubeconfig=${kubeconfigPath}`,
        "--bind-address=127.0.0.1",
        `--secure-port=${kcmPort}`,
        "--leader-elect=false",
        "--use-service-account-credentials=false",
        `--controllers=${(options.controllers ?? defaultControllers).join(",")}`,
        "--concurrent-job-syncs=10",
        "--concurrent-gc-syncs=20",
        "--kube-api-qps=500",
        "--kube-api-burst=1000",
        "--v=0",
      ],
      join(dir, "kube-controller-manager.log"),
    );
    procs.push(kcm);
    const controllers = options.controllers ?? defaultControllers;
    await waitFor("kube-controller-manager", procs, async () => {
      if (controllers.includes("serviceaccount-controller")) {
        // "default" existing means pods can be created (ServiceAccount admission).
        const res = await httpsRequest(
          `${server}/api/v1/namespaces/default/serviceaccounts/default`,
          caPem,
          token,
          "GET",
        );
        return res.status === 200;
      }
      // Its self-signed serving cert on loopback: only liveness is asked.
      const res = await httpsRequest(
        `https://127.0.0.1:${kcmPort}/healthz`,
        undefined,
        token,
        "GET",
      );
      return res.status === 200;
    });

    const plane: ControlPlane = {
      dir,
      server,
      token,
      caPem,
      kubeconfigPath,
      etcdUrl,
      kubectl(args, input) {
        const result = spawnSync(kubectlBin, [`--kubeconfig=${kubeconfigPath}`, ...args], {
          encoding: "utf8",
          input,
          timeout: 60_000,
        });
        return { code: result.status, stdout: result.stdout, stderr: result.stderr };
      },
      async api(method, path, body, contentType) {
        const res = await httpsRequest(
          `${server}${path}`,
          caPem,
          token,
          method,
          body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
          contentType,
        );
        let parsed: unknown = res.text;
        try {
          parsed = JSON.parse(res.text);
        } catch {
          // not JSON
        }
        return { status: res.status, body: parsed };
      },
      async compactEtcd() {
        const status = (await (
          await fetch(`${etcdUrl}/v3/maintenance/status`, { method: "POST", body: "{}" })
        ).json()) as { header: { revision: string } };
        const revision = Number(status.header.revision);
        const res = await fetch(`${etcdUrl}/v3/kv/compaction`, {
          method: "POST",
          body: JSON.stringify({ revision: String(revision), physical: true }),
        });
        if (!res.ok) throw new Error(`etcd compaction failed: ${await res.text()}`);
        return revision;
      },
      logs: () => procs.map((p) => `--- ${p.name}\n${p.log.slice(-3000)}`).join("\n"),
      stop: stopAll,
    };
    return plane;
  } catch (err) {
    await stopAll();
    throw err;
  }
}
