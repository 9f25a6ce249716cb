/**
 * The Registry controller on a real control plane, running as its ServiceAccount (the
 * RBAC in manifests/): finalizer, missing/invalid credentials as conditions that recover,
 * the in-cluster cache (owned Deployment + Service, its URL first among the mirrors,
 * Deployed once a replica is available), removal of the cache, and finalizer cleanup.
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

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
  observedGeneration?: number;
}
interface Obj {
  metadata: {
    name: string;
    generation: number;
    finalizers?: string[];
    uid: string;
    ownerReferences?: { uid: string; controller?: boolean }[];
  };
  spec: Record<string, unknown>;
  status?: {
    conditions?: Condition[];
    observedGeneration?: number;
    cacheURL?: string;
    mirrors?: { url: string }[];
    nodesTotal?: number;
  };
}

let cp: ControlPlane;
let operator: RunningOperator;
const reg = (name: string) => getJson<Obj>(cp, `/apis/skiff.dev/v1alpha1/registries/${name}`);
const condition = (o: Obj | undefined, type: string) =>
  o?.status?.conditions?.find((c) => c.type === type);

beforeAll(async () => {
  cp = await startControlPlane({ applyBeforeControllers: [crdDir] });
  installManifests(cp);
  operator = await startOperator({
    kubeconfig: serviceAccountKubeconfig(cp, "skiff-system", "skiff-operator"),
  });
}, 90_000);

afterAll(async () => {
  await operator?.stop();
  await cp?.stop();
}, 30_000);

describe("Registry controller", () => {
  test("a plain Registry gets the finalizer, observedGeneration and Ready=True", async () => {
    apply(
      cp,
      `apiVersion: skiff.dev/v1alpha1
kind: Registry
metadata: {name: plain}
spec:
  server: docker.io
  mirrors: [{url: "http://127.0.0.1:5000"}]
`,
    );
    const r = await waitFor("plain reconciled", async () => {
      const o = await reg("plain");
      return o?.status?.observedGeneration === o?.metadata.generation && condition(o, "Ready")
        ? o
        : undefined;
    });
    expect(r.metadata.finalizers).toContain("skiff.dev/registry-cleanup");
    expect(condition(r, "Ready")).toMatchObject({
      status: "True",
      reason: "Applied",
      observedGeneration: 1,
    });
    expect(condition(r, "Deployed")).toMatchObject({ status: "False", reason: "NotRequested" });
    expect(condition(r, "MirrorsHealthy")).toMatchObject({
      status: "Unknown",
      reason: "NotProbed",
    });
    expect(r.status?.mirrors).toEqual([
      { url: "http://127.0.0.1:5000", healthyNodes: 0, unhealthyNodes: 0 },
    ]);
    // A spec change moves observedGeneration along.
    apply(
      cp,
      `apiVersion: skiff.dev/v1alpha1
kind: Registry
metadata: {name: plain}
spec:
  server: docker.io
  mirrors: [{url: "http://127.0.0.1:5000"}, {url: "https://mirror.example.com"}]
`,
    );
    await waitFor(
      "generation 2 observed",
      async () => (await reg("plain"))?.status?.observedGeneration === 2,
    );
    expect((await reg("plain"))?.status?.mirrors?.map((m) => m.url)).toEqual([
      "http://127.0.0.1:5000",
      "https://mirror.example.com",
    ]);
  });

  test("a missing credentials Secret is a condition with the reason, and recovers when it appears", async () => {
    apply(
      cp,
      `apiVersion: skiff.dev/v1alpha1
kind: Registry
metadata: {name: private}
spec:
  server: registry.example.com
  credentials: {secretRef: {name: example-creds}}
`,
    );
    const missing = await waitFor("SecretNotFound", async () => {
      const c = condition(await reg("private"), "Ready");
      return c?.reason === "SecretNotFound" ? c : undefined;
    });
    expect(missing).toMatchObject({
      status: "False",
      message: "Secret skiff-system/example-creds not found",
    });
    const events = cp.kubectl([
      "get",
      "events",
      "-n",
      "default",
      "--field-selector",
      "involvedObject.name=private",
      "-o",
      "jsonpath={.items[*].reason}",
    ]);
    expect(events.stdout).toContain("SecretNotFound");
    // Wrong type: still a condition, not a crash loop.
    apply(
      cp,
      `apiVersion: v1
kind: Secret
metadata: {name: example-creds, namespace: skiff-system}
type: Opaque
stringData: {username: u}
`,
    );
    await waitFor(
      "SecretInvalid",
      async () => condition(await reg("private"), "Ready")?.reason === "SecretInvalid",
    );
    cp.kubectl(["delete", "secret", "example-creds", "-n", "skiff-system"]);
    apply(
      cp,
      `apiVersion: v1
kind: Secret
metadata: {name: example-creds, namespace: skiff-system}
type: kubernetes.io/basic-auth
stringData: {username: ci, password: s3cret}
`,
    );
    const ready = await waitFor("Ready after the Secret appears", async () => {
      const c = condition(await reg("private"), "Ready");
      return c?.status === "True" ? c : undefined;
    });
    expect(ready.reason).toBe("Applied");
    expect(operator.output()).not.toMatch(/"level":(50|60)/);
  });

  test("deploy creates an owned cache Deployment and Service, first among the mirrors; removing deploy removes them", async () => {
    apply(
      cp,
      `apiVersion: skiff.dev/v1alpha1
kind: Registry
metadata: {name: cached}
spec:
  server: registry.k8s.io
  mirrors: [{url: "http://127.0.0.1:5000"}]
  deploy: {image: "registry:2.8"}
`,
    );
    const r = await waitFor("cache URL", async () => {
      const o = await reg("cached");
      return o?.status?.cacheURL ? o : undefined;
    });
    expect(r.status?.cacheURL).toMatch(/^http:\/\/10\.96\.\d+\.\d+:5000$/);
    expect(r.status?.mirrors?.map((m) => m.url)).toEqual([
      r.status?.cacheURL,
      "http://127.0.0.1:5000",
    ]);
    expect(condition(r, "Deployed")).toMatchObject({ status: "False", reason: "Progressing" });
    expect(condition(r, "Ready")).toMatchObject({ status: "False", reason: "CacheNotAvailable" });
    const dep = await getJson<
      Obj & {
        spec: { template: { spec: { containers: { env: { name: string; value: string }[] }[] } } };
      }
    >(cp, "/apis/apps/v1/namespaces/skiff-system/deployments/cached-cache");
    expect(dep?.metadata.ownerReferences).toEqual([
      expect.objectContaining({ uid: r.metadata.uid, controller: true }),
    ]);
    expect(dep?.spec.template.spec.containers[0]?.env).toContainEqual({
      name: "REGISTRY_PROXY_REMOTEURL",
      value: "https://registry.k8s.io",
    });
    const svc = await getJson<Obj>(cp, "/api/v1/namespaces/skiff-system/services/cached-cache");
    expect(svc?.metadata.ownerReferences?.[0]?.uid).toBe(r.metadata.uid);

    // Play kubelet: the ReplicaSet's pod becomes ready, so the Deployment is available.
    const pod = await waitFor("cache pod", async () => {
      const list = await getJson<{ items: Obj[] }>(
        cp,
        "/api/v1/namespaces/skiff-system/pods?labelSelector=skiff.dev/registry=cached",
      );
      return list?.items[0];
    });
    const now = new Date().toISOString();
    const patched = await cp.api(
      "PATCH",
      `/api/v1/namespaces/skiff-system/pods/${pod.metadata.name}/status`,
      {
        status: {
          phase: "Running",
          conditions: [{ type: "Ready", status: "True", lastTransitionTime: now }],
          podIP: "10.244.0.5",
        },
      },
      "application/merge-patch+json",
    );
    expect(patched.status).toBe(200);
    const deployed = await waitFor(
      "Deployed",
      async () => {
        const o = await reg("cached");
        return condition(o, "Deployed")?.status === "True" ? o : undefined;
      },
      30_000,
    );
    expect(condition(deployed, "Ready")).toMatchObject({ status: "True" });

    // Level-based: without deploy the cache goes away.
    apply(
      cp,
      `apiVersion: skiff.dev/v1alpha1
kind: Registry
metadata: {name: cached}
spec:
  server: registry.k8s.io
  mirrors: [{url: "http://127.0.0.1:5000"}]
`,
    );
    await waitFor(
      "cache removed",
      async () =>
        (await cp.api("GET", "/apis/apps/v1/namespaces/skiff-system/deployments/cached-cache"))
          .status === 404 &&
        (await cp.api("GET", "/api/v1/namespaces/skiff-system/services/cached-cache")).status ===
          404,
    );
    const after = await waitFor("cacheURL cleared", async () => {
      const o = await reg("cached");
      return o?.status?.observedGeneration === 2 && !o.status.cacheURL ? o : undefined;
    });
    expect(after.status?.mirrors?.map((m) => m.url)).toEqual(["http://127.0.0.1:5000"]);
  }, 60_000);

  test("deleting a Registry runs the finalizer and removes the object and its cache", async () => {
    apply(
      cp,
      `apiVersion: skiff.dev/v1alpha1
kind: Registry
metadata: {name: doomed}
spec:
  server: quay.io
  deploy: {}
`,
    );
    await waitFor(
      "cache created",
      async () =>
        (await cp.api("GET", "/apis/apps/v1/namespaces/skiff-system/deployments/doomed-cache"))
          .status === 200,
    );
    const del = cp.kubectl(["delete", "registry", "doomed", "--wait=true", "--timeout=20s"]);
    expect(del.code).toBe(0);
    expect((await cp.api("GET", "/apis/skiff.dev/v1alpha1/registries/doomed")).status).toBe(404);
    await waitFor(
      "cache gone",
      async () =>
        (await cp.api("GET", "/apis/apps/v1/namespaces/skiff-system/deployments/doomed-cache"))
          .status === 404,
    );
  }, 40_000);

  test("metrics count reconciles and API requests", async () => {
    expect(
      await operator.metric("skiff_operator_reconcile_total", { controller: "registry" }),
    ).toBeGreaterThan(0);
    expect(
      await operator.metric("skiff_operator_api_requests_total", {
        verb: "patch",
        resource: "registries",
      }),
    ).toBeGreaterThan(0);
    expect(await operator.metric("skiff_operator_leader")).toBe(1);
    const text = await operator.metrics();
    expect(text).toContain('skiff_operator_workqueue_depth{queue="registry"}');
    expect(text).toContain("skiff_operator_reconcile_duration_seconds_bucket");
  });
});
