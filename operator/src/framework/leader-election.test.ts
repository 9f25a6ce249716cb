import { describe, expect, test } from "@jest/globals";
import type { V1Lease } from "@kubernetes/client-node";
import { silentLogger } from "../../../cri/src/core/log.js";
import { FakeClock } from "./clock.js";
import { FakeKube } from "./fake-kube.js";
import { LeaderElector } from "./leader-election.js";
import { core } from "./resource.js";

function candidate(kube: FakeKube, clock: FakeClock, identity: string) {
  const state = { leading: false, transitions: 0 };
  const elector = new LeaderElector({
    api: kube,
    namespace: "skiff-system",
    name: "skiff-operator",
    identity,
    leaseDurationMs: 3000,
    renewDeadlineMs: 2000,
    retryPeriodMs: 500,
    clock,
    log: silentLogger,
    onStartedLeading: () => {
      state.leading = true;
      state.transitions++;
    },
    onStoppedLeading: () => (state.leading = false),
  });
  return { elector, state };
}

const lease = async (kube: FakeKube) =>
  (
    await kube.get<V1Lease & { metadata: { name: string } }>(
      core.leases,
      "skiff-operator",
      "skiff-system",
    )
  )?.spec;

describe("LeaderElector", () => {
  test("one of two candidates leads; the other takes over within the lease duration when it dies", async () => {
    const kube = new FakeKube();
    const clock = new FakeClock();
    const a = candidate(kube, clock, "a");
    const b = candidate(kube, clock, "b");
    a.elector.start();
    await clock.advance(10);
    b.elector.start();
    await clock.advance(2000);
    expect(a.state.leading).toBe(true);
    expect(b.state.leading).toBe(false);
    expect((await lease(kube))?.holderIdentity).toBe("a");
    // a dies without releasing: it stops renewing.
    (a.elector as unknown as { stopped: boolean }).stopped = true;
    (a.elector as unknown as { abort: AbortController }).abort.abort();
    await clock.advance(2900);
    expect(b.state.leading).toBe(false);
    await clock.advance(1200);
    expect(b.state.leading).toBe(true);
    const spec = await lease(kube);
    expect(spec?.holderIdentity).toBe("b");
    expect(spec?.leaseTransitions).toBe(1);
    await b.elector.stop();
  });

  test("a graceful stop releases the lease so the other takes over at its next retry", async () => {
    const kube = new FakeKube();
    const clock = new FakeClock();
    const a = candidate(kube, clock, "a");
    const b = candidate(kube, clock, "b");
    a.elector.start();
    await clock.advance(10);
    b.elector.start();
    await clock.advance(1000);
    await a.elector.stop();
    expect(a.state.leading).toBe(false);
    expect((await lease(kube))?.holderIdentity).toBe("");
    await clock.advance(600);
    expect(b.state.leading).toBe(true);
    await b.elector.stop();
  });

  test("a leader that cannot renew within renewDeadline stops leading", async () => {
    const kube = new FakeKube();
    const clock = new FakeClock();
    const a = candidate(kube, clock, "a");
    a.elector.start();
    await clock.advance(10);
    expect(a.state.leading).toBe(true);
    const failing = kube as unknown as { replace: () => Promise<never> };
    failing.replace = () => Promise.reject(new Error("apiserver unreachable"));
    await clock.advance(2600);
    expect(a.state.leading).toBe(false);
    await a.elector.stop();
  });
});
