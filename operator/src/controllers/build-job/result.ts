/**
 * What a build's Job and Pod say about it: the phase, times, the digest from the build
 * container's termination message, and why it failed. Pure.
 *
 *   Pending ──pod running──► Running ──exit 0 + digest──► Succeeded
 *      │                        │
 *      └──────── exit ≠ 0, no digest, deadline, Job failed ────► Failed
 */
import type { V1Job, V1Pod } from "@kubernetes/client-node";
import type { BuildPhase } from "../../apis/v1alpha1/build-job.js";
import { buildContainer } from "./job.js";

export interface BuildObservation {
  phase: BuildPhase;
  reason: string;
  message: string;
  podName?: string;
  startTime?: string;
  completionTime?: string;
  digest?: string;
}

const digestPattern = /^sha256:[a-f0-9]{64}$/;

/** The digest from a termination message: the bare digest, or JSON {"digest": ...}. */
export function parseDigest(message: string | undefined): string | undefined {
  const text = (message ?? "").trim();
  if (digestPattern.test(text)) return text;
  try {
    const parsed = JSON.parse(text) as { digest?: unknown };
    if (typeof parsed.digest === "string" && digestPattern.test(parsed.digest))
      return parsed.digest;
  } catch {
    // not JSON
  }
  return undefined;
}

const iso = (t: unknown): string | undefined =>
  t === undefined || t === null
    ? undefined
    : new Date(t as string).toISOString().replace(/\.\d{3}Z$/, "Z");

export function observeBuild(job: V1Job | undefined, pods: V1Pod[]): BuildObservation {
  const pod = [...pods].sort((a, b) =>
    String(b.metadata?.creationTimestamp ?? "").localeCompare(
      String(a.metadata?.creationTimestamp ?? ""),
    ),
  )[0];
  const podName = pod?.metadata?.name;
  const status = pod?.status?.containerStatuses?.find((c) => c.name === buildContainer);
  const terminated = status?.state?.terminated;
  const startTime = iso(
    status?.state?.running?.startedAt ?? terminated?.startedAt ?? pod?.status?.startTime,
  );
  const base = { ...(podName ? { podName } : {}), ...(startTime ? { startTime } : {}) };
  if (terminated) {
    const completionTime = iso(terminated.finishedAt) ?? iso(Date.now());
    if (terminated.exitCode === 0) {
      const digest = parseDigest(terminated.message);
      if (digest)
        return {
          ...base,
          phase: "Succeeded",
          reason: "Succeeded",
          message: `pushed ${digest}`,
          digest,
          completionTime,
        };
      return {
        ...base,
        phase: "Failed",
        reason: "NoDigest",
        message: `the build exited 0 but its termination message has no image digest: ${JSON.stringify((terminated.message ?? "").slice(0, 200))}`,
        completionTime,
      };
    }
    const detail = (terminated.message ?? "").trim() || terminated.reason || "no message";
    return {
      ...base,
      phase: "Failed",
      reason: "BuildFailed",
      message: `the build exited ${terminated.exitCode}: ${detail.slice(0, 1000)}`,
      completionTime,
    };
  }
  const failed = job?.status?.conditions?.find((c) => c.type === "Failed" && c.status === "True");
  if (failed)
    return {
      ...base,
      phase: "Failed",
      reason: failed.reason ?? "JobFailed",
      message: failed.message ?? "the build Job failed",
      completionTime: iso(failed.lastTransitionTime) ?? iso(Date.now()),
    };
  if (pod?.status?.phase === "Running" || status?.state?.running)
    return { ...base, phase: "Running", reason: "Running", message: `building in pod ${podName}` };
  if (pod?.status?.phase === "Failed")
    return {
      ...base,
      phase: "Failed",
      reason: pod.status.reason ?? "PodFailed",
      message: pod.status.message ?? "the build pod failed",
      completionTime: iso(Date.now()),
    };
  return {
    ...base,
    phase: "Pending",
    reason: pod ? "PodPending" : "JobCreated",
    message: pod ? `pod ${podName} is pending` : "waiting for the Job to create the build pod",
  };
}
