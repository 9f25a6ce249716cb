/**
 * Conditions (metav1.Condition) with observedGeneration: set one, keeping its
 * lastTransitionTime when the status did not change, so a level-based reconcile that
 * computes the same conditions again changes nothing.
 */
import type { Condition } from "../apis/v1alpha1/common.js";

export type { Condition };

export interface ConditionInput {
  type: string;
  status: "True" | "False" | "Unknown";
  reason: string;
  message: string;
}

/** Returns a new list with `input` set (replacing the same type). */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  input: ConditionInput,
  generation: number,
  now: Date,
): Condition[] {
  const list = [...(conditions ?? [])];
  const index = list.findIndex((c) => c.type === input.type);
  const old = index >= 0 ? list[index] : undefined;
  const next: Condition = {
    ...input,
    observedGeneration: generation,
    lastTransitionTime:
      old && old.status === input.status
        ? old.lastTransitionTime
        : now.toISOString().replace(/\.\d{3}Z$/, "Z"),
  };
  if (index >= 0) list[index] = next;
  else list.push(next);
  return list;
}

export function setConditions(
  conditions: readonly Condition[] | undefined,
  inputs: ConditionInput[],
  generation: number,
  now: Date,
): Condition[] {
  return inputs.reduce<Condition[]>(
    (list, c) => setCondition(list, c, generation, now),
    [...(conditions ?? [])],
  );
}

export const findCondition = (
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition | undefined => conditions?.find((c) => c.type === type);

export const isTrue = (conditions: readonly Condition[] | undefined, type: string): boolean =>
  findCondition(conditions, type)?.status === "True";

/** Did the status, reason or message of any condition change (ignoring times)? */
export function conditionsChanged(
  before: readonly Condition[] | undefined,
  after: readonly Condition[],
): boolean {
  if ((before?.length ?? 0) !== after.length) return true;
  return after.some((c) => {
    const b = findCondition(before, c.type);
    return (
      !b ||
      b.status !== c.status ||
      b.reason !== c.reason ||
      b.message !== c.message ||
      b.observedGeneration !== c.observedGeneration
    );
  });
}
