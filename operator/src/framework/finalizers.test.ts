import { describe, expect, test } from "@jest/globals";
import { FakeKube } from "./fake-kube.js";
import { addFinalizer, removeFinalizer } from "./finalizers.js";
import type { KubeObject } from "./kube-api.js";
import { core } from "./resource.js";

describe("finalizers", () => {
  test("add is idempotent, keeps others' finalizers, and a stale copy is refused", async () => {
    const kube = new FakeKube();
    const o = await kube.create<KubeObject>(core.configMaps, {
      metadata: { name: "a", namespace: "n" },
    });
    const a = await addFinalizer(kube, core.configMaps, o, "skiff.dev/x");
    expect(a.metadata.finalizers).toEqual(["skiff.dev/x"]);
    expect(await addFinalizer(kube, core.configMaps, a, "skiff.dev/x")).toBe(a);
    const b = await addFinalizer(kube, core.configMaps, a, "other/y");
    expect(b.metadata.finalizers).toEqual(["skiff.dev/x", "other/y"]);
    // `a` is stale (it lacks other/y): removing through it must not drop other/y.
    await expect(removeFinalizer(kube, core.configMaps, a, "skiff.dev/x")).rejects.toThrow(
      /test failed/,
    );
    const c = await removeFinalizer(kube, core.configMaps, b, "skiff.dev/x");
    expect(c.metadata.finalizers).toEqual(["other/y"]);
  });

  test("removing the last finalizer of a deleted object lets it go", async () => {
    const kube = new FakeKube();
    const o = await kube.create<KubeObject>(core.configMaps, {
      metadata: { name: "a", namespace: "n" },
    });
    await addFinalizer(kube, core.configMaps, o, "skiff.dev/x");
    await kube.delete(core.configMaps, "a", "n");
    const deleting = await kube.get<KubeObject>(core.configMaps, "a", "n");
    expect(deleting?.metadata.deletionTimestamp).toBeDefined();
    await removeFinalizer(kube, core.configMaps, deleting!, "skiff.dev/x");
    expect(await kube.get(core.configMaps, "a", "n")).toBeUndefined();
  });
});
