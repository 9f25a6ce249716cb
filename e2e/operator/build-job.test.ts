/**
 * The BuildJob controller on a real control plane: the Job it creates and owns, the Pod
 * kube-controller-manager's Job controller makes from it, and the tests playing kubelet
 * (patching the Pod's status: running, then terminated with a termination message).
 * Covers success with the digest, failure, a missing ConfigMap that recovers, schema
 * immutability, TTL deletion and owner garbage collection of the Job and Pod.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { startControlPlane, type ControlPlane } from "../harness/control-plane.js";
import {
  apply,
  crdDir,
  getJson,
  installManifests,
  serviceAccountKubeconfig,
  startOperator,
  waitFor,
  type RunningOperator,
} from "../harness/operator.js";

interface Obj {
  metadata: {
    name: string;
    uid: string;
    generation?: number;
    ownerReferences?: { uid: string; kind: string; controller?: boolean }[];
  };
  spec?: Record<string, unknown> & {
    template?: { spec: { containers: { image: string; args: string[] }[]; volumes: unknown[] } };
  };
  status?: {
    phase?: string;
    digest?: string;
    podName?: string;
    jobName?: string;
    startTime?: string;
    completionTime?: string;
    message?: string;
    observedGeneration?: number;
    conditions?: { type: string; status: string; reason: string; message: string }[];
  };
}

const digest = `sha256:${"ab12".repeat(16)}`;
let cp: ControlPlane;
let operator: RunningOperator;
const bj = (name: string) =>
  getJson<Obj>(cp, `/apis/skiff.dev/v1alpha1/namespaces/default/buildjobs/${name}`);
const condition = (o: Obj | undefined, type: string) =>
  o?.status?.conditions?.find((c) => c.type === type);

function buildJob(name: string, extra = ""): string {
  return `apiVersion: skiff.dev/v1alpha1
kind: BuildJob
metadata: {name: ${name}, namespace: default}
spec:
  source: {configMap: {name: ${name}-ctx}}
  output: {image: "registry.local/demo/${name}:1"}
  buildArgs: {GREETING: bonjour}
${extra}`;
}

const context = (name: string) => `apiVersion: v1
kind: ConfigMap
metadata: {name: ${name}-ctx, namespace: default}
data: {Dockerfile: "FROM scratch\\n"}
`;

async function buildPod(name: string): Promise<Obj> {
  return waitFor(
    `pod of ${name}`,
    async () => {
      const list = await getJson<{ items: Obj[] }>(
        cp,
        `/api/v1/namespaces/default/pods?labelSelector=skiff.dev/buildjob=${name}`,
      );
      return list?.items[0];
    },
    20_000,
  );
}

/** Plays kubelet: sets the build container's state on the pod. */
async function setPod(pod: string, status: Record<string, unknown>): Promise<void> {
  const r = await cp.api(
    "PATCH",
    `/api/v1/namespaces/default/pods/${pod}/status`,
    { status },
    "application/merge-patch+json",
  );
  if (r.status !== 200)
    throw new Error(`patching pod status: ${r.status} ${JSON.stringify(r.body)}`);
}

const running = (startedAt: string) => ({
  phase: "Running",
  startTime: startedAt,
  containerStatuses: [
    {
      name: "build",
      image: "builder",
      imageID: "",
      ready: true,
      restartCount: 0,
      state: { running: { startedAt } },
    },
  ],
});

const terminated = (exitCode: number, message: string, startedAt: string, finishedAt: string) => ({
  phase: exitCode === 0 ? "Succeeded" : "Failed",
  containerStatuses: [
    {
      name: "build",
      image: "builder",
      imageID: "",
      ready: false,
      restartCount: 0,
      state: {
        terminated: {
          exitCode,
          message,
          reason: exitCode === 0 ? "Completed" : "Error",
          startedAt,
          finishedAt,
        },
      },
    },
  ],
});

beforeAll(async () => {
  cp = await startControlPlane({ applyBeforeControllers: [crdDir] });
  installManifests(cp);
  operator = await startOperator({
    kubeconfig: serviceAccountKubeconfig(cp, "skiff-system", "skiff-operator"),
    args: ["--builder-image=registry.local/skiff-builder:test"],
  });
}, 90_000);

afterAll(async () => {
  await operator?.stop();
  await cp?.stop();
}, 30_000);

describe("BuildJob controller", () => {
  test("a build runs to Succeeded with the digest from the termination message", async () => {
    apply(cp, context("ok") + "---\n" + buildJob("ok"));
    const pending = await waitFor("Job created", async () => {
      const o = await bj("ok");
      return o?.status?.jobName ? o : undefined;
    });
    expect(pending.status?.phase).toBe("Pending");
    const job = await getJson<Obj>(
      cp,
      `/apis/batch/v1/namespaces/default/jobs/${pending.status?.jobName}`,
    );
    expect(job?.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: "BuildJob", uid: pending.metadata.uid, controller: true }),
    ]);
    const container = job?.spec?.template?.spec.containers[0];
    expect(container?.image).toBe("registry.local/skiff-builder:test");
    expect(container?.args).toEqual(
      expect.arrayContaining([
        "build",
        "--context=/workspace",
        "--output=registry.local/demo/ok:1",
        "--build-arg=GREETING=bonjour",
      ]),
    );

    const pod = await buildPod("ok");
    const start = new Date(Date.now() - 5000).toISOString().replace(/\.\d+Z$/, "Z");
    await setPod(pod.metadata.name, running(start));
    const run = await waitFor("Running", async () => {
      const o = await bj("ok");
      return o?.status?.phase === "Running" ? o : undefined;
    });
    expect(run.status).toMatchObject({ podName: pod.metadata.name, startTime: start });

    const end = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    await setPod(pod.metadata.name, terminated(0, JSON.stringify({ digest }), start, end));
    const done = await waitFor("Succeeded", async () => {
      const o = await bj("ok");
      return o?.status?.phase === "Succeeded" ? o : undefined;
    });
    expect(done.status).toMatchObject({
      digest,
      completionTime: end,
      podName: pod.metadata.name,
      observedGeneration: 1,
    });
    expect(condition(done, "Complete")).toMatchObject({ status: "True", reason: "Succeeded" });
    const printed = cp.kubectl(["get", "bj", "ok", "-o", "wide"]).stdout;
    expect(printed).toMatch(/ok\s+Succeeded\s+registry.local\/demo\/ok:1\s+sha256:ab12/);
    const events = cp.kubectl([
      "get",
      "events",
      "--field-selector",
      "involvedObject.name=ok",
      "-o",
      "jsonpath={.items[*].reason}",
    ]).stdout;
    expect(events).toContain("BuildStarted");
    expect(events).toContain("BuildSucceeded");
  }, 40_000);

  test("a failing build is Failed with the pod's message", async () => {
    apply(cp, context("bad") + "---\n" + buildJob("bad"));
    const pod = await buildPod("bad");
    const t = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    await setPod(pod.metadata.name, terminated(1, "step 2/3: RUN make: exit status 2", t, t));
    const failed = await waitFor("Failed", async () => {
      const o = await bj("bad");
      return o?.status?.phase === "Failed" ? o : undefined;
    });
    expect(failed.status?.message).toBe("the build exited 1: step 2/3: RUN make: exit status 2");
    expect(condition(failed, "Complete")).toMatchObject({ status: "False", reason: "BuildFailed" });
    expect(failed.status?.digest).toBeUndefined();
  }, 40_000);

  test("exit 0 without a digest is a failure, not a success", async () => {
    apply(cp, context("nodigest") + "---\n" + buildJob("nodigest"));
    const pod = await buildPod("nodigest");
    const t = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    await setPod(pod.metadata.name, terminated(0, "done", t, t));
    const o = await waitFor("Failed", async () => {
      const x = await bj("nodigest");
      return x?.status?.phase === "Failed" ? x : undefined;
    });
    expect(condition(o, "Complete")?.reason).toBe("NoDigest");
  }, 40_000);

  test("a missing ConfigMap is a Resolved=False condition, and the build starts once it exists", async () => {
    apply(cp, buildJob("later"));
    const waiting = await waitFor("ConfigMapNotFound", async () => {
      const o = await bj("later");
      return condition(o, "Resolved")?.reason === "ConfigMapNotFound" ? o : undefined;
    });
    expect(waiting.status?.phase).toBe("Pending");
    expect(condition(waiting, "Resolved")?.message).toBe("ConfigMap default/later-ctx not found");
    expect((await cp.api("GET", "/apis/batch/v1/namespaces/default/jobs/later-build")).status).toBe(
      404,
    );
    apply(cp, context("later"));
    await waitFor(
      "Job after the ConfigMap appears",
      async () => (await bj("later"))?.status?.jobName === "later-build",
    );
    expect(condition(await bj("later"), "Resolved")?.status).toBe("True");
  }, 40_000);

  test("the spec is immutable and bad input is refused by the API server", async () => {
    const r = cp.kubectl([
      "patch",
      "bj",
      "ok",
      "--type=merge",
      "-p",
      '{"spec":{"dockerfile":"Other"}}',
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("spec is immutable");
    const two = cp.kubectl(
      ["apply", "-f", "-"],
      `apiVersion: skiff.dev/v1alpha1
kind: BuildJob
metadata: {name: two-sources}
spec:
  source: {configMap: {name: a}, git: {url: "https://example.com/x.git"}}
  output: {image: x}
`,
    );
    expect(two.code).not.toBe(0);
    expect(two.stderr).toContain(
      "source needs exactly one of configMap, persistentVolumeClaim, git",
    );
  });

  test("ttlSecondsAfterFinished deletes the BuildJob, and GC removes its Job and Pod", async () => {
    apply(cp, context("ttl") + "---\n" + buildJob("ttl", "  ttlSecondsAfterFinished: 2\n"));
    const pod = await buildPod("ttl");
    const t = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    await setPod(pod.metadata.name, terminated(0, digest, t, t));
    await waitFor("Succeeded", async () => (await bj("ttl"))?.status?.phase === "Succeeded");
    await waitFor(
      "BuildJob deleted after its TTL",
      async () => (await bj("ttl")) === undefined,
      15_000,
    );
    await waitFor(
      "Job and Pod garbage-collected",
      async () =>
        (await cp.api("GET", "/apis/batch/v1/namespaces/default/jobs/ttl-build")).status === 404 &&
        (await cp.api("GET", `/api/v1/namespaces/default/pods/${pod.metadata.name}`)).status ===
          404,
      20_000,
    );
  }, 60_000);

  test("a build that outlives timeoutSeconds fails with the Job's DeadlineExceeded", async () => {
    apply(cp, context("slow") + "---\n" + buildJob("slow", "  timeoutSeconds: 1\n"));
    const pod = await buildPod("slow");
    await setPod(pod.metadata.name, running(new Date().toISOString().replace(/\.\d+Z$/, "Z")));
    const failed = await waitFor(
      "DeadlineExceeded",
      async () => {
        const o = await bj("slow");
        return o?.status?.phase === "Failed" ? o : undefined;
      },
      30_000,
    );
    expect(condition(failed, "Complete")?.reason).toBe("DeadlineExceeded");
    expect(failed.status?.message).toMatch(/deadline/i);
  }, 40_000);

  test("deleting a BuildJob garbage-collects its Job (owner references)", async () => {
    const job = await getJson<Obj>(cp, "/apis/batch/v1/namespaces/default/jobs/bad-build");
    expect(job).toBeDefined();
    expect(cp.kubectl(["delete", "bj", "bad"]).code).toBe(0);
    await waitFor(
      "Job gone",
      async () =>
        (await cp.api("GET", "/apis/batch/v1/namespaces/default/jobs/bad-build")).status === 404,
      20_000,
    );
  }, 30_000);
});
