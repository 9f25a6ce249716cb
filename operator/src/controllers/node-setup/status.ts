/**
 * A NodeSetup's status from the node agents' per-node entries: how many selected nodes
 * applied the current generation fully, how many have a failed step, and the Ready and
 * Degraded conditions naming the failing steps. Pure.
 */
import type { NodeSetup, NodeSetupStatus } from "../../apis/v1alpha1/node-setup.js";
import type { ConditionInput } from "../../framework/conditions.js";

export function computeNodeSetupStatus(
  s: NodeSetup,
  selectedNodes: string[],
): Pick<NodeSetupStatus, "observedGeneration" | "nodesTotal" | "nodesReady" | "nodesFailed"> & {
  conditions: ConditionInput[];
} {
  const generation = s.metadata.generation ?? 0;
  const selected = new Set(selectedNodes);
  const entries = (s.status?.nodes ?? []).filter((e) => selected.has(e.node));
  const current = entries.filter((e) => e.observedGeneration === generation);
  const ready = current.filter((e) => e.ready).length;
  const failures = current.flatMap((e) =>
    (e.steps ?? [])
      .filter((st) => st.outcome === "Failed")
      .map((st) => `${e.node}: ${st.name}: ${st.message ?? "failed"}`),
  );
  const failedNodes = current.filter((e) =>
    (e.steps ?? []).some((st) => st.outcome === "Failed"),
  ).length;
  const total = selected.size;
  const conditions: ConditionInput[] = [
    ready === total
      ? {
          type: "Ready",
          status: "True",
          reason: "Applied",
          message: `applied on ${ready} of ${total} nodes`,
        }
      : {
          type: "Ready",
          status: "False",
          reason: failedNodes > 0 ? "StepsFailed" : "NodesPending",
          message: `applied on ${ready} of ${total} nodes`,
        },
    failures.length > 0
      ? {
          type: "Degraded",
          status: "True",
          reason: "StepsFailed",
          message:
            failures.slice(0, 5).join("; ") +
            (failures.length > 5 ? `; and ${failures.length - 5} more` : ""),
        }
      : { type: "Degraded", status: "False", reason: "NoFailures", message: "no step failed" },
  ];
  return {
    observedGeneration: generation,
    nodesTotal: total,
    nodesReady: ready,
    nodesFailed: failedNodes,
    conditions,
  };
}
