/**
 * The Registry and BuildJob reconcilers against the in-memory FakeKube with a FakeClock:
 * the paths the e2e tests show on a real control plane, here without one.
 */
import { describe, expect, test } from "@jest/globals";
import type { V1Job, V1Node, V1Pod } from "@kubernetes/client-node";
import { silentLogger } from "../../../cri/src/core/log.js";
import type { BuildJob } from "../apis/v1alpha1/build-job.js";
import { buildJobs, registries } from "../apis/v1alpha1/crds.js";
import type { Registry } from "../apis/v1alpha1/registry.js";
import { FakeClock, flush } from "../framework/clock.js";
import { EventRecorder } from "../framework/events.js";
import { FakeKube } from "../framework/fake-kube.js";
import { Informer } from "../framework/informer.js";
import type { KubeObject } from "../framework/kube-api.js";
import { core } from "../framework/resource.js";
import { BuildJobReconciler } from "./build-job/reconciler.js";
import { RegistryReconciler, registryFinalizer } from "./registry/reconciler.js";
import { defaultSettings } from "./settings.js";

const log = silentLogger;

async function informer<T extends KubeObject>(
  kube: FakeKube,
  type: typeof core.pods,
  clock: FakeClock,
) {
  const i = new Informer<T>(kube, type, { log, clock });
  await i.start();
  return i;
}

describe("RegistryReconciler", () => {
  test("finalizer, missing Secret as a condition with a requeue, recovery, cleanup on delete", async () => {
    const kube = new FakeKube();
    const clock = new FakeClock();
    const deps = {
      api: kube,
      registries: await informer<Registry>(kube, registries, clock),
      nodes: await informer<V1Node & KubeObject>(kube, core.nodes, clock),
      deployments: await informer<KubeObject>(kube, core.deployments, clock),
      services: await informer<KubeObject>(kube, core.services, clock),
      events: new EventRecorder(kube, "skiff-operator", log, clock),
      settings: defaultSettings,
      clock,
    };
    const reconciler = new RegistryReconciler(deps);
    await kube.create(core.nodes, { metadata: { name: "n1", labels: { pool: "a" } } });
    await kube.create<Registry>(registries, {
      apiVersion: "skiff.dev/v1alpha1",
      kind: "Registry",
      metadata: { name: "r" },
      spec: {
        server: "quay.io",
        mirrors: [],
        insecure: false,
        credentials: { secretRef: { name: "c" } },
      },
    });
    await flush();
    const key = { kind: "Registry", name: "r" };
    expect(await reconciler.reconcile(key, log)).toEqual({
      requeueAfterMs: defaultSettings.missingRefRequeueMs,
    });
    let r = await kube.get<Registry>(registries, "r");
    expect(r?.metadata.finalizers).toEqual([registryFinalizer]);
    expect(r?.status?.conditions?.find((c) => c.type === "Ready")).toMatchObject({
      status: "False",
      reason: "SecretNotFound",
      message: "Secret skiff-system/c not found",
      observedGeneration: 1,
    });
    expect(kube.requests.filter((q) => q.startsWith("create events"))).toHaveLength(1);

    // Level-based: the same world reconciled again writes nothing.
    await flush();
    const before = kube.requests.length;
    await reconciler.reconcile(key, log);
    expect(kube.requests.slice(before).filter((q) => !q.startsWith("get"))).toEqual([]);

    await kube.create(core.secrets, {
      metadata: { name: "c", namespace: "skiff-system" },
      type: "kubernetes.io/basic-auth",
      data: { username: "dQ==", password: "cA==" },
    } as KubeObject);
    await flush();
    expect(await reconciler.reconcile(key, log)).toBeUndefined();
    await flush();
    r = await kube.get<Registry>(registries, "r");
    expect(r?.status).toMatchObject({ nodesTotal: 1, nodesApplied: 0, observedGeneration: 1 });
    expect(r?.status?.conditions?.find((c) => c.type === "Ready")?.reason).toBe("NodesPending");

    await kube.delete(registries, "r");
    await flush();
    await reconciler.reconcile(key, log);
    expect(await kube.get(registries, "r")).toBeUndefined();
  });
});

describe("BuildJobReconciler", () => {
  test("creates the owned Job, follows the Pod to Succeeded, deletes itself after the TTL", async () => {
    const kube = new FakeKube();
    const clock = new FakeClock(Date.parse("2026-01-01T00:00:00Z"));
    const deps = {
      api: kube,
      buildJobs: await informer<BuildJob>(kube, buildJobs, clock),
      jobs: await informer<V1Job & KubeObject>(kube, core.jobs, clock),
      pods: await informer<V1Pod & KubeObject>(kube, core.pods, clock),
      events: new EventRecorder(kube, "skiff-operator", log, clock),
      settings: defaultSettings,
      clock,
    };
    const reconciler = new BuildJobReconciler(deps);
    const b = await kube.create<BuildJob>(buildJobs, {
      apiVersion: "skiff.dev/v1alpha1",
      kind: "BuildJob",
      metadata: { name: "app", namespace: "ns" },
      spec: {
        source: { git: { url: "https://example.com/app.git", revision: "main" } },
        dockerfile: "Dockerfile",
        platforms: ["linux/amd64"],
        output: { image: "reg.local/app:1" },
        timeoutSeconds: 60,
        ttlSecondsAfterFinished: 30,
      },
    });
    await flush();
    const key = { kind: "BuildJob", namespace: "ns", name: "app" };
    await reconciler.reconcile(key, log);
    await flush();
    const job = await kube.get<V1Job & KubeObject>(core.jobs, "app-build", "ns");
    expect(job?.metadata.ownerReferences?.[0]).toMatchObject({
      kind: "BuildJob",
      uid: b.metadata.uid,
    });
    expect((await kube.get<BuildJob>(buildJobs, "app", "ns"))?.status).toMatchObject({
      phase: "Pending",
      jobName: "app-build",
    });

    const digest = `sha256:${"1".repeat(64)}`;
    await kube.create(core.pods, {
      metadata: {
        name: "app-build-xyz",
        namespace: "ns",
        labels: { "skiff.dev/buildjob": "app" },
        ownerReferences: [
          {
            apiVersion: "batch/v1",
            kind: "Job",
            name: "app-build",
            uid: job!.metadata.uid!,
            controller: true,
          },
        ],
      },
      status: {
        phase: "Succeeded",
        containerStatuses: [
          {
            name: "build",
            image: "",
            imageID: "",
            ready: false,
            restartCount: 0,
            state: {
              terminated: { exitCode: 0, message: digest, finishedAt: "2026-01-01T00:00:00Z" },
            },
          },
        ],
      },
    } as unknown as KubeObject);
    await flush();
    expect(await reconciler.reconcile(key, log)).toEqual({ requeueAfterMs: 30_000 });
    await flush();
    expect((await kube.get<BuildJob>(buildJobs, "app", "ns"))?.status).toMatchObject({
      phase: "Succeeded",
      digest,
      podName: "app-build-xyz",
    });
    await clock.advance(30_000);
    await reconciler.reconcile(key, log);
    expect(await kube.get(buildJobs, "app", "ns")).toBeUndefined();
  });
});
