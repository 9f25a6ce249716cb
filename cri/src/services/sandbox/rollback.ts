/**
 * Rollback by construction: each step that makes something records how to undo it;
 * on failure the undos run in reverse order, each bounded by its own timeout and
 * independent of the request's cancellation, and a failing undo does not stop the
 * others (it is logged, and recovery finds what it left).
 */
import type { Logger } from "../../core/log.js";

export interface UndoStep {
  what: string;
  run(): Promise<void> | void;
}

export class Rollback {
  private readonly steps: UndoStep[] = [];

  constructor(
    private readonly log: Logger,
    private readonly stepTimeoutMs = 30_000,
  ) {}

  /** Records an undo for something just made. */
  push(what: string, run: () => Promise<void> | void): void {
    this.steps.push({ what, run });
  }

  /** Forgets every undo (the operation succeeded). */
  commit(): void {
    this.steps.length = 0;
  }

  get size(): number {
    return this.steps.length;
  }

  /** Runs the undos, newest first; never throws. Returns the steps that failed. */
  async run(): Promise<string[]> {
    const failed: string[] = [];
    while (this.steps.length > 0) {
      const step = this.steps.pop() as UndoStep;
      try {
        await withTimeout(Promise.resolve().then(step.run), this.stepTimeoutMs, step.what);
      } catch (err) {
        failed.push(step.what);
        this.log.warn({ err: (err as Error).message, step: step.what }, "rollback step failed");
      }
    }
    return failed;
  }
}

/** `promise`, or a rejection naming `what` after `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
