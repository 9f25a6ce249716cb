/**
 * Polling shared by the v1 and v2 freezers: repeat a step until it reports done or the
 * deadline passes. Freezing is asynchronous in both versions (tasks stop at their next
 * return to user space; a task in uninterruptible sleep delays it).
 */
import { setTimeout as sleep } from "node:timers/promises";

export const defaultFreezeTimeoutMs = 10_000;

/** Runs `step` until it returns true; false when `timeoutMs` ran out. */
export async function pollUntil(step: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let delay = 1;
  for (;;) {
    if (await step()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(delay);
    delay = Math.min(delay * 2, 50);
  }
}
