/**
 * The NodeSetup controller: the node agents do the work on each node and write their own
 * entry in status.nodes; this controller counts the selected nodes, aggregates the
 * entries into nodesReady/nodesFailed and the Ready/Degraded conditions, and records an
 * Event when a NodeSetup becomes degraded or ready.
 */
import type { V1Node } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { nodeSetups } from "../../apis/v1alpha1/crds.js";
import type { NodeSetup } from "../../apis/v1alpha1/node-setup.js";
import type { Clock } from "../../framework/clock.js";
import { conditionsChanged, findCondition, setConditions } from "../../framework/conditions.js";
import type { Reconciler } from "../../framework/controller.js";
import type { EventRecorder } from "../../framework/events.js";
import { isDeleting } from "../../framework/finalizers.js";
import type { Informer } from "../../framework/informer.js";
import type { KubeApi, KubeObject, ParsedKey } from "../../framework/kube-api.js";
import { canonical, selects } from "../settings.js";
import { computeNodeSetupStatus } from "./status.js";

export interface NodeSetupDeps {
  api: KubeApi;
  nodeSetups: Informer<NodeSetup>;
  nodes: Informer<V1Node & KubeObject>;
  events: EventRecorder;
  clock: Clock;
}

export class NodeSetupReconciler implements Reconciler {
  constructor(private readonly d: NodeSetupDeps) {}

  async reconcile(key: ParsedKey, log: Logger): Promise<void> {
    const s = this.d.nodeSetups.get(key.name);
    if (!s || isDeleting(s)) return;
    const selected = this.d.nodes
      .list()
      .filter((n) => selects(s.spec.nodeSelector, n.metadata.labels))
      .map((n) => n.metadata.name);
    const { conditions: inputs, ...counts } = computeNodeSetupStatus(s, selected);
    const conditions = setConditions(
      s.status?.conditions,
      inputs,
      counts.observedGeneration ?? 0,
      new Date(this.d.clock.now()),
    );
    const before = {
      observedGeneration: s.status?.observedGeneration,
      nodesTotal: s.status?.nodesTotal,
      nodesReady: s.status?.nodesReady,
      nodesFailed: s.status?.nodesFailed,
    };
    if (
      canonical(before) === canonical(counts) &&
      !conditionsChanged(s.status?.conditions, conditions)
    )
      return;
    await this.d.api.patch(
      nodeSetups,
      s.metadata.name,
      undefined,
      { status: { ...counts, conditions } },
      {
        type: "merge",
        subresource: "status",
      },
    );
    log.info(counts, "status updated");
    const wasDegraded = findCondition(s.status?.conditions, "Degraded");
    const degraded = findCondition(conditions, "Degraded");
    if (
      degraded?.status === "True" &&
      (wasDegraded?.status !== "True" || wasDegraded.message !== degraded.message)
    )
      await this.d.events.record(s, "Warning", "StepsFailed", degraded.message);
    const wasReady = findCondition(s.status?.conditions, "Ready");
    const ready = findCondition(conditions, "Ready");
    if (ready?.status === "True" && wasReady?.status !== "True")
      await this.d.events.record(s, "Normal", "Ready", ready.message);
  }
}
