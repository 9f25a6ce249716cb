import { describe, expect, test } from "@jest/globals";
import { silentLogger } from "../../../cri/src/core/log.js";
import { FakeClock, flush } from "./clock.js";
import { Controller } from "./controller.js";
import type { ParsedKey } from "./kube-api.js";
import { OperatorMetrics } from "./metrics.js";

describe("Controller", () => {
  test("a failing reconcile is retried with backoff; success forgets; requeueAfter comes back", async () => {
    const clock = new FakeClock();
    const metrics = new OperatorMetrics();
    const calls: string[] = [];
    let failures = 2;
    const controller = new Controller({
      name: "test",
      kind: "Registry",
      log: silentLogger,
      metrics,
      clock,
      workers: 2,
      baseDelayMs: 100,
      reconciler: {
        async reconcile(key: ParsedKey) {
          calls.push(`${key.name}@${clock.now() - start}`);
          if (key.name === "flaky" && failures-- > 0) throw new Error("apiserver said no");
          if (key.name === "waiting") return { requeueAfterMs: 1000 };
          return undefined;
        },
      },
    });
    const start = clock.now();
    controller.start();
    controller.enqueue(undefined, "flaky");
    controller.enqueue(undefined, "waiting");
    await flush();
    await clock.advance(100); // first retry of flaky
    await clock.advance(200); // second retry of flaky (backoff doubled)
    await clock.advance(700); // waiting comes back at 1000
    expect(calls).toEqual(["flaky@0", "waiting@0", "flaky@100", "flaky@300", "waiting@1000"]);
    expect(controller.queue.failuresOf("Registry//flaky")).toBe(0);
    expect(metrics.reconciles.get({ controller: "test", result: "error" })).toBe(2);
    expect(metrics.reconciles.get({ controller: "test", result: "success" })).toBe(1);
    expect(metrics.reconcileErrors.get({ controller: "test" })).toBe(2);
    expect(metrics.reconcileDuration.count({ controller: "test" })).toBe(5);
    await controller.stop();
  });

  test("stop waits for the reconcile in flight and takes no more keys", async () => {
    let release: () => void = () => {};
    const seen: string[] = [];
    const controller = new Controller({
      name: "t",
      kind: "BuildJob",
      log: silentLogger,
      clock: new FakeClock(),
      workers: 1,
      reconciler: {
        reconcile: (key) =>
          new Promise<void>((resolve) => {
            seen.push(key.name);
            release = resolve;
          }),
      },
    });
    controller.start();
    controller.enqueue("ns", "a");
    controller.enqueue("ns", "b");
    await flush();
    let stopped = false;
    const stopping = controller.stop().then(() => (stopped = true));
    await flush();
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(seen).toEqual(["a"]);
  });
});
