/**
 * The BuildJob controller. Level-based, for one BuildJob at a time:
 *   finished? → delete it once ttlSecondsAfterFinished has passed (GC takes the Job and Pod)
 *   references (ConfigMap, claim, push Secret) → a Resolved=False condition and a requeue
 *     while one is missing
 *   the Job (created once, owned) → its Pod → phase, times, digest, pod name → status
 * Events mark Running, Succeeded and Failed.
 */
import type { V1Job, V1Pod } from "@kubernetes/client-node";
import type { Logger } from "pino";
import type { BuildJob, BuildJobStatus } from "../../apis/v1alpha1/build-job.js";
import { buildJobs } from "../../apis/v1alpha1/crds.js";
import type { Clock } from "../../framework/clock.js";
import {
  conditionsChanged,
  setConditions,
  type ConditionInput,
} from "../../framework/conditions.js";
import type { ReconcileResult, Reconciler } from "../../framework/controller.js";
import type { EventRecorder } from "../../framework/events.js";
import { isDeleting } from "../../framework/finalizers.js";
import type { Informer } from "../../framework/informer.js";
import {
  ApiError,
  type KubeApi,
  type KubeObject,
  type ParsedKey,
} from "../../framework/kube-api.js";
import { controllerOf } from "../../framework/owner.js";
import { core, type ResourceType } from "../../framework/resource.js";
import { canonical, omit, type OperatorSettings } from "../settings.js";
import { buildJobLabel, buildJobObject, jobName } from "./job.js";
import { observeBuild, type BuildObservation } from "./result.js";

export interface BuildJobDeps {
  api: KubeApi;
  buildJobs: Informer<BuildJob>;
  jobs: Informer<V1Job & KubeObject>;
  pods: Informer<V1Pod & KubeObject>;
  events: EventRecorder;
  settings: OperatorSettings;
  clock: Clock;
}

interface Reference {
  type: ResourceType;
  name: string;
  what: string;
  reason: string;
}

export class BuildJobReconciler implements Reconciler {
  constructor(private readonly d: BuildJobDeps) {}

  async reconcile(key: ParsedKey, log: Logger): Promise<ReconcileResult | void> {
    const b = this.d.buildJobs.get(key.name, key.namespace);
    if (!b || isDeleting(b)) return;
    const namespace = b.metadata.namespace ?? "default";
    const phase = b.status?.phase;
    if (phase === "Succeeded" || phase === "Failed") {
      if ((b.status?.observedGeneration ?? 0) === (b.metadata.generation ?? 0))
        return this.expire(b, log);
    }

    const missing = await this.missingReference(b, namespace);
    if (missing) {
      await this.writeStatus(
        b,
        {
          phase: "Pending",
          message: missing.message,
          conditions: [
            { type: "Resolved", status: "False", reason: missing.reason, message: missing.message },
            {
              type: "Complete",
              status: "False",
              reason: "Pending",
              message: "waiting for the build's references",
            },
          ],
        },
        log,
      );
      return { requeueAfterMs: this.d.settings.missingRefRequeueMs };
    }

    const name = jobName(b);
    let job = this.d.jobs.get(name, namespace);
    if (job && controllerOf(job, "BuildJob")?.uid !== b.metadata.uid) {
      const message = `Job ${namespace}/${name} exists and is not owned by this BuildJob`;
      await this.writeStatus(
        b,
        {
          phase: "Failed",
          message,
          conditions: [{ type: "Complete", status: "False", reason: "JobConflict", message }],
        },
        log,
      );
      return;
    }
    if (!job) {
      try {
        job = await this.d.api.create(core.jobs, buildJobObject(b, this.d.settings));
        log.info({ job: name }, "build Job created");
      } catch (err) {
        if (!(err instanceof ApiError && err.status === 409)) throw err;
        return { requeueAfterMs: 500 };
      }
    }
    const pods = this.d.pods
      .list()
      .filter(
        (p) =>
          p.metadata.namespace === namespace &&
          p.metadata.labels?.[buildJobLabel] === b.metadata.name,
      )
      .filter((p) => (p.metadata.ownerReferences ?? []).some((r) => r.uid === job.metadata.uid));
    const seen = observeBuild(job, pods);
    await this.writeStatus(b, statusFrom(seen, name), log);
    if (seen.phase !== phase) await this.recordPhase(b, seen);
    if (seen.phase === "Succeeded" || seen.phase === "Failed")
      return this.expire(
        { ...b, status: { ...b.status, completionTime: seen.completionTime } },
        log,
      );
  }

  private async missingReference(
    b: BuildJob,
    namespace: string,
  ): Promise<{ reason: string; message: string } | undefined> {
    const refs: Reference[] = [];
    if (b.spec.source.configMap)
      refs.push({
        type: core.configMaps,
        name: b.spec.source.configMap.name,
        what: "ConfigMap",
        reason: "ConfigMapNotFound",
      });
    if (b.spec.source.persistentVolumeClaim)
      refs.push({
        type: core.persistentVolumeClaims,
        name: b.spec.source.persistentVolumeClaim.claimName,
        what: "PersistentVolumeClaim",
        reason: "ClaimNotFound",
      });
    if (b.spec.output.pushSecretRef)
      refs.push({
        type: core.secrets,
        name: b.spec.output.pushSecretRef.name,
        what: "Secret",
        reason: "SecretNotFound",
      });
    for (const ref of refs) {
      const found = await this.d.api.get(ref.type, ref.name, namespace);
      if (!found)
        return { reason: ref.reason, message: `${ref.what} ${namespace}/${ref.name} not found` };
    }
    return undefined;
  }

  private async writeStatus(
    b: BuildJob,
    next: Omit<BuildJobStatus, "conditions" | "observedGeneration"> & {
      conditions: ConditionInput[];
    },
    log: Logger,
  ): Promise<void> {
    const generation = b.metadata.generation ?? 0;
    const conditions = setConditions(
      b.status?.conditions,
      next.conditions,
      generation,
      new Date(this.d.clock.now()),
    );
    const fields = omit(next, "conditions");
    const status: BuildJobStatus = { ...fields, observedGeneration: generation, conditions };
    const before = { ...(b.status ?? {}) };
    const { conditions: beforeConditions, ...beforeFields } = before;
    const fieldsChanged =
      canonical(beforeFields) !== canonical({ ...fields, observedGeneration: generation });
    if (!fieldsChanged && !conditionsChanged(beforeConditions, conditions)) return;
    // A merge patch cannot remove a field by omission: null the ones that went away.
    const removed = Object.fromEntries(
      Object.keys(beforeFields)
        .filter((k) => !(k in status))
        .map((k) => [k, null]),
    );
    await this.d.api.patch(
      buildJobs,
      b.metadata.name,
      b.metadata.namespace,
      { status: { ...removed, ...status } },
      {
        type: "merge",
        subresource: "status",
      },
    );
    log.info({ phase: status.phase }, "status updated");
  }

  private async recordPhase(b: BuildJob, seen: BuildObservation): Promise<void> {
    if (seen.phase === "Running")
      await this.d.events.record(b, "Normal", "BuildStarted", seen.message);
    if (seen.phase === "Succeeded")
      await this.d.events.record(b, "Normal", "BuildSucceeded", seen.message);
    if (seen.phase === "Failed")
      await this.d.events.record(b, "Warning", "BuildFailed", seen.message);
  }

  private async expire(b: BuildJob, log: Logger): Promise<ReconcileResult | void> {
    const ttl = b.spec.ttlSecondsAfterFinished;
    if (ttl === undefined || !b.status?.completionTime) return;
    const due = new Date(b.status.completionTime).getTime() + ttl * 1000;
    const left = due - this.d.clock.now();
    if (left > 0) return { requeueAfterMs: left };
    await this.d.api.delete(buildJobs, b.metadata.name, b.metadata.namespace, {
      propagationPolicy: "Background",
    });
    log.info({ ttlSecondsAfterFinished: ttl }, "deleted after its TTL");
  }
}

function statusFrom(
  seen: BuildObservation,
  job: string,
): Omit<BuildJobStatus, "conditions" | "observedGeneration"> & { conditions: ConditionInput[] } {
  const complete: ConditionInput =
    seen.phase === "Succeeded"
      ? { type: "Complete", status: "True", reason: "Succeeded", message: seen.message }
      : { type: "Complete", status: "False", reason: seen.reason, message: seen.message };
  return {
    phase: seen.phase,
    jobName: job,
    message: seen.message,
    ...(seen.podName ? { podName: seen.podName } : {}),
    ...(seen.startTime ? { startTime: seen.startTime } : {}),
    ...(seen.completionTime ? { completionTime: seen.completionTime } : {}),
    ...(seen.digest ? { digest: seen.digest } : {}),
    conditions: [
      { type: "Resolved", status: "True", reason: "Resolved", message: "every reference exists" },
      complete,
    ],
  };
}
