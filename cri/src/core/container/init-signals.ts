/**
 * The kernel drops a signal sent to a pid namespace's init (from outside it, SIGKILL
 * and SIGSTOP aside) unless init has a handler for it. A container's program is that
 * init, and right after it starts it may not have installed its SIGTERM handler yet:
 * a stop signal sent in that window is lost and the stop waits out its whole grace
 * period. untilInitHandles waits for the handler before the signal goes.
 */
import { readFileSync } from "node:fs";
import { constants } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";

/** What /proc/PID/status says of `signal` for this process, or "gone". */
export function initSignalDisposition(
  status: string,
  signal: number,
): "not-init" | "handled" | "ignored" | "dropped" {
  const nspid = /^NSpid:\s+(.+)$/m.exec(status)?.[1]?.trim().split(/\s+/) ?? [];
  if (nspid.length < 2 || nspid[nspid.length - 1] !== "1") return "not-init";
  const bit = (mask: string | undefined): boolean =>
    mask !== undefined && ((BigInt(`0x${mask}`) >> BigInt(signal - 1)) & 1n) === 1n;
  if (bit(/^SigCgt:\s+([0-9a-f]+)$/m.exec(status)?.[1])) return "handled";
  if (bit(/^SigIgn:\s+([0-9a-f]+)$/m.exec(status)?.[1])) return "ignored";
  return "dropped";
}

/**
 * Resolves once `signal` would reach `pid` (it is not a namespace init, it handles the
 * signal, or it is gone), or after `ms` at the latest.
 */
export async function untilInitHandles(
  pid: number,
  signal: NodeJS.Signals | number,
  ms: number,
): Promise<void> {
  const number = typeof signal === "number" ? signal : constants.signals[signal];
  if (signal === "SIGKILL" || signal === "SIGSTOP" || number === undefined) return;
  const deadline = Date.now() + ms;
  for (let wait = 2; ; wait = Math.min(wait * 2, 50)) {
    let status: string;
    try {
      status = readFileSync(`/proc/${pid}/status`, "utf8");
    } catch {
      return;
    }
    if (initSignalDisposition(status, number) !== "dropped") return;
    const left = deadline - Date.now();
    if (left <= 0) return;
    await sleep(Math.min(wait, left));
  }
}
