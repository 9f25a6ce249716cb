/**
 * The informer against a real kube-apiserver whose watches go straight to etcd (watch
 * cache off): when etcd compacts past the informer's resourceVersion, resuming the
 * watch fails with 410 Gone and the informer relists, picking up what changed.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { silentLogger } from "../../cri/src/core/log.js";
import { Informer } from "../../operator/src/framework/informer.js";
import type { KubeObject } from "../../operator/src/framework/kube-api.js";
import { OperatorMetrics } from "../../operator/src/framework/metrics.js";
import { core } from "../../operator/src/framework/resource.js";
import { loadKubeConfig, RestClient } from "../../operator/src/framework/rest-client.js";
import { startControlPlane, type ControlPlane } from "../harness/control-plane.js";
import { waitFor } from "../harness/operator.js";

let cp: ControlPlane;
let informer: Informer<KubeObject> | undefined;

beforeAll(async () => {
  cp = await startControlPlane({ watchCache: false, controllers: ["namespace-controller"] });
  for (const ns of ["watched", "other"]) cp.kubectl(["create", "namespace", ns]);
}, 90_000);

afterAll(async () => {
  informer?.stop();
  await cp?.stop();
}, 30_000);

const configMap = (ns: string, name: string) =>
  cp.api("POST", `/api/v1/namespaces/${ns}/configmaps`, {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name },
    data: { k: "v" },
  });

describe("informer on a real API server", () => {
  test("an expired watch (etcd compacted past its resourceVersion) relists and catches up", async () => {
    const metrics = new OperatorMetrics();
    const api = new RestClient(loadKubeConfig(cp.kubeconfigPath), metrics);
    const seen: string[] = [];
    informer = new Informer<KubeObject>(api, core.configMaps, {
      namespace: "watched",
      watchTimeoutSeconds: 1,
      log: silentLogger,
      metrics,
    });
    informer.addHandlers({
      onAdd: (o) => seen.push(`add ${o.metadata.name}`),
      onDelete: (o) => seen.push(`delete ${o.metadata.name}`),
    });
    await configMap("watched", "before");
    await informer.start();
    expect(informer.list().map((o) => o.metadata.name)).toEqual(["before"]);
    await configMap("watched", "live");
    await waitFor("watch event", () => seen.includes("add live"));
    const rv = informer.lastResourceVersion;

    // Writes elsewhere move etcd's revision on; compaction drops the informer's.
    for (let i = 0; i < 5; i++) await configMap("other", `noise-${i}`);
    const compacted = await cp.compactEtcd();
    expect(compacted).toBeGreaterThan(Number(rv));
    await waitFor("410 and relist", () => informer!.stats.expired >= 1, 15_000);
    expect(metrics.informerRelists.get({ resource: "configmaps" })).toBeGreaterThanOrEqual(2);

    // After the relist the informer follows new changes, including deletions.
    await configMap("watched", "after");
    await cp.api("DELETE", "/api/v1/namespaces/watched/configmaps/before");
    await waitFor(
      "caught up",
      () => {
        const names = informer!
          .list()
          .map((o) => o.metadata.name)
          .sort();
        return names.join(",") === "after,live";
      },
      15_000,
    );
    expect(seen).toContain("delete before");
    expect(Number(informer.lastResourceVersion)).toBeGreaterThan(compacted);
  }, 60_000);
});
