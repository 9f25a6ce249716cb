/** One step's outcome, as the node agent reports it in status.nodes[].steps. */
import type { StepOutcome } from "../../apis/v1alpha1/node-setup.js";

export interface StepResult {
  name: string;
  outcome: StepOutcome;
  message: string;
}

export const applied = (name: string, message: string): StepResult => ({
  name,
  outcome: "Applied",
  message,
});
export const failed = (name: string, message: string): StepResult => ({
  name,
  outcome: "Failed",
  message,
});
export const skipped = (name: string, message: string): StepResult => ({
  name,
  outcome: "Skipped",
  message,
});
export const warning = (name: string, message: string): StepResult => ({
  name,
  outcome: "Warning",
  message,
});

/** Runs a step, turning a throw into a Failed result (one step never stops the others). */
export async function guard(
  name: string,
  fn: () => Promise<StepResult> | StepResult,
): Promise<StepResult> {
  try {
    return await fn();
  } catch (err) {
    return failed(name, err instanceof Error ? err.message : String(err));
  }
}
