import { describe, expect, test } from "@jest/globals";
import { silentLogger } from "../../../cri/src/core/log.js";
import { FakeClock } from "./clock.js";
import { EventRecorder } from "./events.js";
import { FakeKube } from "./fake-kube.js";
import type { KubeObject } from "./kube-api.js";
import { core } from "./resource.js";

describe("EventRecorder", () => {
  test("records a core/v1 Event about the object; a repeat bumps the count", async () => {
    const kube = new FakeKube();
    const recorder = new EventRecorder(kube, "skiff-operator", silentLogger, new FakeClock());
    const registry: KubeObject = {
      apiVersion: "skiff.dev/v1alpha1",
      kind: "Registry",
      metadata: { name: "r", uid: "u" },
    };
    await recorder.record(registry, "Warning", "SecretNotFound", "Secret skiff-system/c not found");
    await recorder.record(registry, "Warning", "SecretNotFound", "Secret skiff-system/c not found");
    const events = (
      await kube.list<
        KubeObject & { count: number; involvedObject: object; reason: string; type: string }
      >(core.events)
    ).items;
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      metadata: { namespace: "default" },
      involvedObject: { kind: "Registry", name: "r", uid: "u" },
      reason: "SecretNotFound",
      type: "Warning",
      count: 2,
    });
  });

  test("a failure to record never throws", async () => {
    const kube = new FakeKube();
    (kube as unknown as { create: () => Promise<never> }).create = () =>
      Promise.reject(new Error("forbidden"));
    const recorder = new EventRecorder(kube, "x", silentLogger);
    await expect(
      recorder.record({ metadata: { name: "o" } }, "Normal", "R", "m"),
    ).resolves.toBeUndefined();
  });
});
