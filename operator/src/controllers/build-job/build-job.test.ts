import { describe, expect, test } from "@jest/globals";
import type { V1Job, V1Pod } from "@kubernetes/client-node";
import type { BuildJob } from "../../apis/v1alpha1/build-job.js";
import { defaultSettings } from "../settings.js";
import { buildJobObject, jobName } from "./job.js";
import { observeBuild, parseDigest } from "./result.js";

const digest = `sha256:${"0".repeat(64)}`;
const bj: BuildJob = {
  apiVersion: "skiff.dev/v1alpha1",
  kind: "BuildJob",
  metadata: { name: "app", namespace: "team", uid: "u-2" },
  spec: {
    source: { persistentVolumeClaim: { claimName: "src", path: "svc/api" } },
    dockerfile: "build/Dockerfile",
    target: "runtime",
    buildArgs: { B: "2", A: "1" },
    platforms: ["linux/amd64", "linux/arm64"],
    output: { image: "reg.local/app:1", pushSecretRef: { name: "push" } },
    cache: { type: "Registry", ref: "reg.local/app:cache" },
    timeoutSeconds: 600,
  },
};

const pod = (state: object, phase = "Running"): V1Pod => ({
  metadata: { name: "app-build-x", creationTimestamp: new Date() },
  status: {
    phase,
    containerStatuses: [
      { name: "build", image: "", imageID: "", ready: false, restartCount: 0, state },
    ],
  },
});

describe("the build Job", () => {
  test("runs the builder image with the build as arguments, owned by the BuildJob", () => {
    const job = buildJobObject(bj, defaultSettings);
    expect(job.metadata).toMatchObject({ name: "app-build", namespace: "team" });
    expect(job.metadata.ownerReferences?.[0]).toMatchObject({
      kind: "BuildJob",
      uid: "u-2",
      controller: true,
    });
    expect(job.spec).toMatchObject({ backoffLimit: 0, activeDeadlineSeconds: 600 });
    const c = job.spec?.template.spec?.containers[0];
    expect(c?.image).toBe(defaultSettings.builderImage);
    expect(c?.args).toEqual([
      "build",
      "--dockerfile=build/Dockerfile",
      "--output=reg.local/app:1",
      "--context=/workspace/svc/api",
      "--target=runtime",
      "--platform=linux/amd64",
      "--platform=linux/arm64",
      "--build-arg=A=1",
      "--build-arg=B=2",
      "--cache=registry:reg.local/app:cache",
      "--push-config=/run/skiff/push/config.json",
      "--termination-log=/dev/termination-log",
    ]);
    expect(job.spec?.template.spec?.volumes).toEqual([
      { name: "context", persistentVolumeClaim: { claimName: "src", readOnly: true } },
      {
        name: "push",
        secret: { secretName: "push", items: [{ key: ".dockerconfigjson", path: "config.json" }] },
      },
    ]);
  });

  test("long names stay within 63 characters and stay stable", () => {
    const long = { ...bj, metadata: { ...bj.metadata, name: "x".repeat(80) } };
    expect(jobName(long).length).toBeLessThanOrEqual(63);
    expect(jobName(long)).toBe(jobName(long));
    expect(jobName(long).endsWith("-build")).toBe(true);
  });
});

describe("observing a build", () => {
  test("digest from a bare or JSON termination message, nothing else", () => {
    expect(parseDigest(`${digest}\n`)).toBe(digest);
    expect(parseDigest(JSON.stringify({ digest, size: 3 }))).toBe(digest);
    expect(parseDigest("sha256:abc")).toBeUndefined();
    expect(parseDigest(undefined)).toBeUndefined();
  });

  test("phases from the Job and the Pod", () => {
    expect(observeBuild(undefined, []).phase).toBe("Pending");
    expect(
      observeBuild(undefined, [pod({ waiting: { reason: "ContainerCreating" } }, "Pending")]),
    ).toMatchObject({ phase: "Pending", reason: "PodPending" });
    expect(
      observeBuild(undefined, [pod({ running: { startedAt: new Date("2026-01-01T00:00:00Z") } })]),
    ).toMatchObject({
      phase: "Running",
      startTime: "2026-01-01T00:00:00Z",
      podName: "app-build-x",
    });
    const finishedAt = new Date("2026-01-01T00:01:00Z");
    expect(
      observeBuild(undefined, [
        pod({ terminated: { exitCode: 0, message: digest, finishedAt } }, "Succeeded"),
      ]),
    ).toMatchObject({
      phase: "Succeeded",
      digest,
      completionTime: "2026-01-01T00:01:00Z",
    });
    expect(
      observeBuild(undefined, [
        pod({ terminated: { exitCode: 2, message: "RUN failed", finishedAt } }, "Failed"),
      ]),
    ).toMatchObject({
      phase: "Failed",
      reason: "BuildFailed",
      message: "the build exited 2: RUN failed",
    });
    const deadline: V1Job = {
      status: {
        conditions: [
          {
            type: "Failed",
            status: "True",
            reason: "DeadlineExceeded",
            message: "Job was active longer than specified deadline",
          },
        ],
      },
    };
    expect(observeBuild(deadline, [])).toMatchObject({
      phase: "Failed",
      reason: "DeadlineExceeded",
    });
  });
});
