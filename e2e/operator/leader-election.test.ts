/**
 * Lease leader election between real skiff-operator processes: one leads and only it
 * reconciles; when it is killed the other takes over within the lease duration; a
 * gracefully stopped leader releases the lease so the hand-over is immediate.
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

interface Lease {
  spec: { holderIdentity?: string; leaseTransitions?: number; leaseDurationSeconds?: number };
}
interface Obj {
  metadata: { generation: number };
  status?: { observedGeneration?: number };
}

let cp: ControlPlane;
let kubeconfig: string;
const running: RunningOperator[] = [];
const lease = () =>
  getJson<Lease>(cp, "/apis/coordination.k8s.io/v1/namespaces/skiff-system/leases/skiff-operator");
const start = async (identity: string) => {
  const op = await startOperator({ kubeconfig, args: [`--identity=${identity}`] });
  running.push(op);
  return op;
};
const reconciled = (name: string) =>
  waitFor(
    `${name} reconciled`,
    async () => {
      const o = await getJson<Obj>(cp, `/apis/skiff.dev/v1alpha1/registries/${name}`);
      return o?.status?.observedGeneration === o?.metadata.generation ? o : undefined;
    },
    15_000,
  );
const registry = (name: string) =>
  apply(
    cp,
    `apiVersion: skiff.dev/v1alpha1\nkind: Registry\nmetadata: {name: ${name}}\nspec: {server: ${name}.example.com}\n`,
  );

beforeAll(async () => {
  cp = await startControlPlane({ applyBeforeControllers: [crdDir] });
  installManifests(cp);
  kubeconfig = serviceAccountKubeconfig(cp, "skiff-system", "skiff-operator");
}, 90_000);

afterAll(async () => {
  for (const op of running) await op.stop("SIGKILL");
  await cp?.stop();
}, 30_000);

describe("leader election", () => {
  test("only the leader reconciles; a killed leader is replaced within the lease duration", async () => {
    const a = await start("op-a");
    await waitFor("op-a leads", async () => (await lease())?.spec.holderIdentity === "op-a");
    const b = await start("op-b");
    registry("first");
    await reconciled("first");
    expect(await a.metric("skiff_operator_leader")).toBe(1);
    expect(await b.metric("skiff_operator_leader")).toBe(0);
    expect(await a.metric("skiff_operator_reconcile_total")).toBeGreaterThan(0);
    expect(await b.metric("skiff_operator_reconcile_total")).toBe(0);

    await a.stop("SIGKILL");
    const killedAt = Date.now();
    await waitFor(
      "op-b leads",
      async () => (await lease())?.spec.holderIdentity === "op-b",
      10_000,
      50,
    );
    const takeover = Date.now() - killedAt;
    // Lease duration 3 s, retry period 0.3 s: the lease must expire first, then the
    // next retry takes it (slack for a loaded 2-core machine).
    expect(takeover).toBeGreaterThan(2000);
    expect(takeover).toBeLessThan(6000);
    expect((await lease())?.spec.leaseTransitions).toBe(1);
    registry("second");
    await reconciled("second");
    expect(await b.metric("skiff_operator_leader")).toBe(1);
    expect(
      await b.metric("skiff_operator_reconcile_total", { controller: "registry" }),
    ).toBeGreaterThan(0);
  }, 60_000);

  test("a leader stopped with SIGTERM releases the lease and the other takes over at once", async () => {
    const b = running[1]!;
    const c = await start("op-c");
    expect(await c.metric("skiff_operator_leader")).toBe(0);
    const stoppedAt = Date.now();
    expect(await b.stop("SIGTERM")).toBe(0);
    expect(b.output()).toContain("released the lease");
    await waitFor(
      "op-c leads",
      async () => (await lease())?.spec.holderIdentity === "op-c",
      10_000,
      50,
    );
    expect(Date.now() - stoppedAt).toBeLessThan(2500);
    registry("third");
    await reconciled("third");
  }, 60_000);
});
