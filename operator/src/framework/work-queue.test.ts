import { describe, expect, test } from "@jest/globals";
import { FakeClock } from "./clock.js";
import { OperatorMetrics } from "./metrics.js";
import { WorkQueue } from "./work-queue.js";

describe("WorkQueue", () => {
  test("a key added many times is queued once", async () => {
    const q = new WorkQueue({ name: "t", clock: new FakeClock() });
    q.add("Registry//a");
    q.add("Registry//a");
    q.add("Registry//b");
    expect(q.length).toBe(2);
    expect(await q.get()).toBe("Registry//a");
    expect(await q.get()).toBe("Registry//b");
  });

  test("a key added while processed comes back after done, never to two workers", async () => {
    const q = new WorkQueue({ name: "t", clock: new FakeClock() });
    q.add("k");
    const key = await q.get();
    q.add("k");
    expect(q.length).toBe(0);
    q.done(key!);
    expect(q.length).toBe(1);
    expect(await q.get()).toBe("k");
  });

  test("failures back off exponentially per key up to the cap, forget resets", async () => {
    const clock = new FakeClock();
    const q = new WorkQueue({ name: "t", clock, baseDelayMs: 10, maxDelayMs: 50 });
    expect([1, 2, 3, 4, 5].map((n) => q.backoff(n))).toEqual([10, 20, 40, 50, 50]);
    expect(q.addRateLimited("k")).toBe(10);
    expect(q.length).toBe(0);
    await clock.advance(9);
    expect(q.length).toBe(0);
    await clock.advance(1);
    expect(q.length).toBe(1);
    await q.get();
    q.done("k");
    expect(q.addRateLimited("k")).toBe(20);
    expect(q.addRateLimited("other")).toBe(10);
    q.forget("k");
    expect(q.failuresOf("k")).toBe(0);
  });

  test("addAfter keeps the earliest due time", async () => {
    const clock = new FakeClock();
    const q = new WorkQueue({ name: "t", clock });
    q.addAfter("k", 1000);
    q.addAfter("k", 100);
    q.addAfter("k", 5000);
    await clock.advance(100);
    expect(q.length).toBe(1);
    await q.get();
    q.done("k");
    await clock.advance(10_000);
    expect(q.length).toBe(0);
  });

  test("a waiting get receives the next key; shutdown releases waiters", async () => {
    const q = new WorkQueue({ name: "t", clock: new FakeClock() });
    const waiting = q.get();
    q.add("k");
    expect(await waiting).toBe("k");
    const last = q.get();
    q.shutdown();
    expect(await last).toBeUndefined();
  });

  test("depth and adds are exported as metrics", async () => {
    const metrics = new OperatorMetrics();
    const q = new WorkQueue({ name: "registry", clock: new FakeClock(), metrics });
    q.add("a");
    q.add("b");
    expect(metrics.queueDepth.get({ queue: "registry" })).toBe(2);
    expect(metrics.registry.render()).toContain(
      'skiff_operator_workqueue_depth{queue="registry"} 2',
    );
    expect(metrics.queueAdds.get({ queue: "registry" })).toBe(2);
  });
});
