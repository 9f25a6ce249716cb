import { describe, expect, test } from "@jest/globals";
import { silentLogger } from "../../../cri/src/core/log.js";
import { FakeClock, flush } from "./clock.js";
import { FakeKube } from "./fake-kube.js";
import { Informer } from "./informer.js";
import type { KubeObject } from "./kube-api.js";
import { core } from "./resource.js";

const cm = (name: string, data: Record<string, string> = {}) =>
  ({ metadata: { name, namespace: "ns" }, data }) as KubeObject;

function recorder() {
  const seen: string[] = [];
  return {
    seen,
    handlers: {
      onAdd: (o: KubeObject) => seen.push(`add ${o.metadata.name}`),
      onUpdate: (_o: KubeObject, n: KubeObject) => seen.push(`update ${n.metadata.name}`),
      onDelete: (o: KubeObject) => seen.push(`delete ${o.metadata.name}`),
    },
  };
}

describe("Informer", () => {
  test("lists, then follows the watch from the list's resourceVersion", async () => {
    const kube = new FakeKube();
    await kube.create(core.configMaps, cm("a"));
    const informer = new Informer(kube, core.configMaps, {
      log: silentLogger,
      clock: new FakeClock(),
    });
    const r = recorder();
    informer.addHandlers(r.handlers);
    await informer.start();
    expect(informer.list().map((o) => o.metadata.name)).toEqual(["a"]);
    await kube.create(core.configMaps, cm("b"));
    await kube.patch(core.configMaps, "a", "ns", { data: { x: "1" } }, { type: "merge" });
    await kube.delete(core.configMaps, "b", "ns");
    await flush();
    expect(r.seen).toEqual(["add a", "add b", "update a", "delete b"]);
    informer.stop();
  });

  test("a watch the server closes resumes from the last resourceVersion without a relist", async () => {
    const kube = new FakeKube();
    const informer = new Informer(kube, core.configMaps, {
      log: silentLogger,
      clock: new FakeClock(),
    });
    await informer.start();
    await kube.create(core.configMaps, cm("a"));
    kube.closeWatches();
    await kube.create(core.configMaps, cm("b"));
    await flush();
    expect(
      informer
        .list()
        .map((o) => o.metadata.name)
        .sort(),
    ).toEqual(["a", "b"]);
    expect(informer.stats.lists).toBe(1);
    expect(informer.stats.watches).toBe(2);
    informer.stop();
  });

  test("an expired watch (410 Gone) relists and reports objects deleted meanwhile", async () => {
    const kube = new FakeKube();
    await kube.create(core.configMaps, cm("a"));
    await kube.create(core.configMaps, cm("gone"));
    const informer = new Informer(kube, core.configMaps, {
      log: silentLogger,
      clock: new FakeClock(),
    });
    const r = recorder();
    informer.addHandlers(r.handlers);
    await informer.start();
    // The watch drops; meanwhile objects change and history is compacted.
    const stopEvents = kube.watchCount;
    expect(stopEvents).toBe(1);
    kube.closeWatches(new Error("connection reset"));
    await kube.delete(core.configMaps, "gone", "ns");
    await kube.create(core.configMaps, cm("new"));
    kube.compact();
    // The informer retries after its backoff.
    const clock = (informer as unknown as { clock: FakeClock }).clock;
    await clock.advance(1000);
    expect(
      informer
        .list()
        .map((o) => o.metadata.name)
        .sort(),
    ).toEqual(["a", "new"]);
    expect(r.seen).toContain("delete gone");
    expect(r.seen).toContain("add new");
    informer.stop();
  });

  test("resuming a watch from a compacted resourceVersion gets 410 Gone and relists", async () => {
    const kube = new FakeKube();
    const informer = new Informer(kube, core.configMaps, {
      log: silentLogger,
      clock: new FakeClock(),
      namespace: "ns",
    });
    await informer.start();
    await kube.create(core.configMaps, cm("x"));
    // Changes elsewhere move the server's resourceVersion past the informer's...
    await kube.create(core.configMaps, { metadata: { name: "o", namespace: "other" } });
    kube.compact();
    // ...so when the server ends the watch, resuming from the informer's rv is too old.
    kube.closeWatches();
    await flush();
    expect(informer.stats.expired).toBe(1);
    expect(informer.stats.lists).toBe(2);
    await kube.create(core.configMaps, cm("y"));
    await flush();
    expect(
      informer
        .list()
        .map((o) => o.metadata.name)
        .sort(),
    ).toEqual(["x", "y"]);
    informer.stop();
  });

  test("resync hands every cached object to onUpdate periodically", async () => {
    const kube = new FakeKube();
    await kube.create(core.configMaps, cm("a"));
    const clock = new FakeClock();
    const informer = new Informer(kube, core.configMaps, {
      log: silentLogger,
      clock,
      resyncMs: 1000,
    });
    const r = recorder();
    informer.addHandlers(r.handlers);
    await informer.start();
    await clock.advance(2500);
    expect(r.seen.filter((s) => s === "update a")).toHaveLength(2);
    informer.stop();
  });
});
