/**
 * `make bench-operator`: 1,000 Registry and 1,000 BuildJob objects created at once on a
 * real control plane (etcd + kube-apiserver + kube-controller-manager from the tool
 * cache) with one skiff-operator running as its ServiceAccount. Measures the time until
 * every object is reconciled (status.observedGeneration = metadata.generation), the
 * operator's RSS (peak and final) and CPU time, and its API requests per object.
 * Targets (issue 7): all reconciled in under 30 s, RSS under 200 MiB.
 *
 *   node dist/e2e/bench/operator.js [--registries=N] [--buildjobs=N] [--workers=N]
 */
import { readFileSync } from "node:fs";
import { startControlPlane } from "../harness/control-plane.js";
import {
  crdDir,
  installManifests,
  serviceAccountKubeconfig,
  startOperator,
} from "../harness/operator.js";

const arg = (name: string, def: number): number => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.split("=")[1]) : def;
};
const registries = arg("registries", 1000);
const buildJobs = arg("buildjobs", 1000);
const workers = arg("workers", 8);
const concurrency = arg("concurrency", 64);

interface Proc {
  rssKiB: number;
  hwmKiB: number;
  cpuSeconds: number;
}

function sample(pid: number): Proc {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = (key: string) =>
    Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0);
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { rssKiB: kib("VmRSS"), hwmKiB: kib("VmHWM"), cpuSeconds: ticks / 100 };
}

async function pool<T>(items: T[], n: number, fn: (t: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (i < items.length) await fn(items[i++]!);
    }),
  );
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const cp = await startControlPlane({ applyBeforeControllers: [crdDir] });
  try {
    installManifests(cp);
    process.stderr.write(`control plane up in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    const operator = await startOperator({
      kubeconfig: serviceAccountKubeconfig(cp, "skiff-system", "skiff-operator"),
      args: [`--workers=${workers}`, "--log-level=warn"],
    });
    const pid = operator.child.pid!;
    const requestsBefore = await operator.metric("skiff_operator_api_requests_total");
    const before = sample(pid);
    let peak = before.rssKiB;
    const sampler = setInterval(() => {
      try {
        peak = Math.max(peak, sample(pid).rssKiB);
      } catch {
        // exited
      }
    }, 100);

    const objects: { path: string; body: object }[] = [];
    for (let i = 0; i < registries; i++)
      objects.push({
        path: "/apis/skiff.dev/v1alpha1/registries",
        body: {
          apiVersion: "skiff.dev/v1alpha1",
          kind: "Registry",
          metadata: { name: `bench-${i}` },
          spec: {
            server: `registry-${i}.example.com`,
            mirrors: [{ url: `http://127.0.0.1:${5000 + (i % 100)}` }],
          },
        },
      });
    for (let i = 0; i < buildJobs; i++)
      objects.push({
        path: "/apis/skiff.dev/v1alpha1/namespaces/default/buildjobs",
        body: {
          apiVersion: "skiff.dev/v1alpha1",
          kind: "BuildJob",
          metadata: { name: `bench-${i}` },
          spec: {
            source: { git: { url: `https://git.example.com/app-${i}.git` } },
            output: { image: `registry.example.com/app-${i}:1` },
          },
        },
      });
    const start = Date.now();
    await pool(objects, concurrency, async (o) => {
      const r = await cp.api("POST", o.path, o.body);
      if (r.status !== 201)
        throw new Error(`create ${o.path}: ${r.status} ${JSON.stringify(r.body)}`);
    });
    const created = Date.now();

    const count = async (path: string) => {
      const r = await cp.api("GET", path);
      const items = (
        r.body as {
          items: { metadata: { generation: number }; status?: { observedGeneration?: number } }[];
        }
      ).items;
      return items.filter((o) => o.status?.observedGeneration === o.metadata.generation).length;
    };
    let done = 0;
    let regsDone = 0;
    let bjDone = 0;
    const deadline = start + 180_000;
    while (Date.now() < deadline) {
      regsDone = await count("/apis/skiff.dev/v1alpha1/registries");
      bjDone = await count("/apis/skiff.dev/v1alpha1/namespaces/default/buildjobs");
      done = regsDone + bjDone;
      if (done === registries + buildJobs) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const reconciledAt = Date.now();
    clearInterval(sampler);
    const after = sample(pid);
    const requests = (await operator.metric("skiff_operator_api_requests_total")) - requestsBefore;
    const writes =
      (await operator.metric("skiff_operator_api_requests_total", { verb: "patch" })) +
      (await operator.metric("skiff_operator_api_requests_total", { verb: "create" }));
    const reconciles = await operator.metric("skiff_operator_reconcile_total");
    const heapMiB = +((await operator.metric("nodejs_heap_used_bytes")) / 2 ** 20).toFixed(1);
    await operator.stop();

    const total = registries + buildJobs;
    const figures = {
      objects: { registries, buildJobs },
      reconciled: { registries: regsDone, buildJobs: bjDone, all: done === total },
      createSeconds: (created - start) / 1000,
      allReconciledSeconds: (reconciledAt - start) / 1000,
      operator: {
        workers,
        rssMiBPeak: +(peak / 1024).toFixed(1),
        rssMiBFinal: +(after.rssKiB / 1024).toFixed(1),
        rssMiBBefore: +(before.rssKiB / 1024).toFixed(1),
        cpuSeconds: +(after.cpuSeconds - before.cpuSeconds).toFixed(2),
        reconciles,
        heapUsedMiBAfter: heapMiB,
      },
      apiRequests: {
        total: requests,
        perObject: +(requests / total).toFixed(2),
        writesPerObject: +(writes / total).toFixed(2),
      },
      targets: {
        under30s: (reconciledAt - start) / 1000 < 30 && done === total,
        rssUnder200MiB: peak / 1024 < 200,
      },
    };
    process.stdout.write(
      [
        `objects created             ${registries} Registry + ${buildJobs} BuildJob in ${figures.createSeconds.toFixed(1)} s`,
        `all reconciled after        ${figures.allReconciledSeconds.toFixed(1)} s (${done}/${total})`,
        `operator RSS                ${figures.operator.rssMiBBefore} MiB idle, ${figures.operator.rssMiBPeak} MiB peak, ${figures.operator.rssMiBFinal} MiB after (V8 heap in use ${heapMiB} MiB)`,
        `operator CPU                ${figures.operator.cpuSeconds} s (${reconciles} reconciles, ${workers} workers per controller)`,
        `API requests per object     ${figures.apiRequests.perObject} (${requests} total; writes ${figures.apiRequests.writesPerObject}/object)`,
        `targets                     <30 s: ${figures.targets.under30s ? "met" : "MISSED"}, RSS <200 MiB: ${figures.targets.rssUnder200MiB ? "met" : "MISSED"}`,
        JSON.stringify(figures),
        "",
      ].join("\n"),
    );
    if (done !== total) process.exitCode = 1;
  } finally {
    await cp.stop();
  }
}

await main();
