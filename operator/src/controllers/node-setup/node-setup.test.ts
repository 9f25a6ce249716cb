import { describe, expect, test } from "@jest/globals";
import type { NodeSetup } from "../../apis/v1alpha1/node-setup.js";
import { computeNodeSetupStatus } from "./status.js";

const setup = (nodes: NonNullable<NodeSetup["status"]>["nodes"]): NodeSetup => ({
  apiVersion: "skiff.dev/v1alpha1",
  kind: "NodeSetup",
  metadata: { name: "prereqs", generation: 2 },
  spec: { modules: [], sysctls: {}, swap: { policy: "Fail" } },
  status: { nodes },
});

describe("NodeSetup status", () => {
  test("counts ready and failed nodes of the current generation; names failing steps", () => {
    const s = computeNodeSetupStatus(
      setup([
        {
          node: "a",
          observedGeneration: 2,
          ready: true,
          steps: [{ name: "swap", outcome: "Applied" }],
        },
        {
          node: "b",
          observedGeneration: 2,
          ready: false,
          steps: [{ name: "module/br_netfilter", outcome: "Failed", message: "not found" }],
        },
        { node: "c", observedGeneration: 1, ready: true },
        { node: "unselected", observedGeneration: 2, ready: true },
      ]),
      ["a", "b", "c"],
    );
    expect(s).toMatchObject({
      nodesTotal: 3,
      nodesReady: 1,
      nodesFailed: 1,
      observedGeneration: 2,
    });
    expect(s.conditions).toEqual([
      { type: "Ready", status: "False", reason: "StepsFailed", message: "applied on 1 of 3 nodes" },
      {
        type: "Degraded",
        status: "True",
        reason: "StepsFailed",
        message: "b: module/br_netfilter: not found",
      },
    ]);
  });

  test("no failures and every node current is Ready", () => {
    const s = computeNodeSetupStatus(setup([{ node: "a", observedGeneration: 2, ready: true }]), [
      "a",
    ]);
    expect(s.conditions.map((c) => c.status)).toEqual(["True", "False"]);
  });
});
