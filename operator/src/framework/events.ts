/**
 * Kubernetes Events (core/v1) for notable transitions. Repeats of the same event for
 * the same object within the process's life bump the count instead of creating more
 * Event objects. Cluster-scoped objects get their events in "default", as kubectl
 * describe expects. Failing to record an event never fails a reconcile.
 */
import type { Logger } from "pino";
import { realClock, type Clock } from "./clock.js";
import type { KubeApi, KubeObject } from "./kube-api.js";
import { core } from "./resource.js";

export type EventType = "Normal" | "Warning";

export class EventRecorder {
  private readonly seen = new Map<string, { name: string; namespace: string; count: number }>();

  constructor(
    private readonly api: KubeApi,
    private readonly component: string,
    private readonly log: Logger,
    private readonly clock: Clock = realClock,
  ) {}

  async record(o: KubeObject, type: EventType, reason: string, message: string): Promise<void> {
    const namespace = o.metadata.namespace ?? "default";
    const key = `${o.metadata.uid}/${type}/${reason}/${message}`;
    const now = new Date(this.clock.now()).toISOString().replace(/\.\d{3}Z$/, "Z");
    try {
      const prior = this.seen.get(key);
      if (prior) {
        prior.count++;
        await this.api.patch(
          core.events,
          prior.name,
          prior.namespace,
          { count: prior.count, lastTimestamp: now },
          { type: "merge" },
        );
        return;
      }
      const created = await this.api.create(core.events, {
        apiVersion: "v1",
        kind: "Event",
        metadata: { name: "", generateName: `${o.metadata.name}.`, namespace },
        involvedObject: {
          apiVersion: o.apiVersion,
          kind: o.kind,
          name: o.metadata.name,
          namespace: o.metadata.namespace,
          uid: o.metadata.uid,
          resourceVersion: o.metadata.resourceVersion,
        },
        type,
        reason,
        message,
        source: { component: this.component },
        reportingComponent: this.component,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      } as KubeObject);
      if (this.seen.size > 5000) this.seen.clear();
      this.seen.set(key, { name: created.metadata.name, namespace, count: 1 });
    } catch (err) {
      this.log.warn({ err: String(err), reason }, "could not record event");
    }
  }
}
