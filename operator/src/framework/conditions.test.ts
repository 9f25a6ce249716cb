import { describe, expect, test } from "@jest/globals";
import { conditionsChanged, setCondition, setConditions } from "./conditions.js";

const t0 = new Date("2026-01-01T00:00:00Z");
const t1 = new Date("2026-01-01T01:00:00Z");

describe("conditions", () => {
  test("a new condition carries the generation and the time", () => {
    const list = setCondition(
      undefined,
      { type: "Ready", status: "False", reason: "SecretNotFound", message: "m" },
      3,
      t0,
    );
    expect(list).toEqual([
      {
        type: "Ready",
        status: "False",
        reason: "SecretNotFound",
        message: "m",
        observedGeneration: 3,
        lastTransitionTime: "2026-01-01T00:00:00Z",
      },
    ]);
  });

  test("lastTransitionTime moves only when the status changes", () => {
    const a = setCondition(
      undefined,
      { type: "Ready", status: "False", reason: "A", message: "a" },
      1,
      t0,
    );
    const b = setCondition(a, { type: "Ready", status: "False", reason: "B", message: "b" }, 2, t1);
    expect(b[0]?.lastTransitionTime).toBe("2026-01-01T00:00:00Z");
    const c = setCondition(b, { type: "Ready", status: "True", reason: "Ok", message: "" }, 2, t1);
    expect(c[0]?.lastTransitionTime).toBe("2026-01-01T01:00:00Z");
  });

  test("recomputing the same conditions is not a change", () => {
    const inputs = [
      { type: "Ready", status: "True" as const, reason: "Ok", message: "" },
      { type: "Deployed", status: "False" as const, reason: "NotRequested", message: "" },
    ];
    const a = setConditions(undefined, inputs, 1, t0);
    const b = setConditions(a, inputs, 1, t1);
    expect(conditionsChanged(a, b)).toBe(false);
    expect(conditionsChanged(a, setConditions(a, inputs, 2, t1))).toBe(true);
  });
});
