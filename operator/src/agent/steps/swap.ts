/** The swap check: kubelet refuses to run with swap on unless told; /proc/swaps lists it. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Host } from "../host.js";
import { applied, failed, guard, skipped, warning, type StepResult } from "./step.js";

export function swapDevices(swaps: string): string[] {
  return swaps
    .split("\n")
    .slice(1)
    .map((l) => l.trim().split(/\s+/)[0] ?? "")
    .filter((d) => d !== "");
}

export async function checkSwap(
  host: Host,
  policy: "Fail" | "Warn" | "Ignore",
): Promise<StepResult> {
  if (policy === "Ignore") return skipped("swap", "policy Ignore");
  return guard("swap", () => {
    const devices = swapDevices(readFileSync(join(host.proc, "swaps"), "utf8"));
    if (devices.length === 0) return applied("swap", "swap is off");
    const message = `swap is on (${devices.join(", ")}); turn it off (swapoff -a) or configure kubelet for swap`;
    return policy === "Fail" ? failed("swap", message) : warning("swap", message);
  });
}
