/**
 * Spare exec shims, one per container that has been exec'd into: the next exec with
 * piped stdio (ExecSync, the streaming Exec) takes the container's spare, which has
 * already joined the container's cgroups, and a new spare is parked once that exec is
 * over. Exec probes and `crictl exec` so skip the wait a cgroup v1 move can cost (an
 * RCU grace period, about 10 ms on an idle node; shim-client's spawnSpareExec).
 *
 * A spare is one more process in the container's cgroups, outside its pid namespace
 * (so not seen by `ps` inside): none is parked where a pids limit applies to the
 * cgroup, its pid is left out of the container's process counts, and a container
 * being removed lets its spare go before its cgroup is.
 */
import type { ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";

import type { Hierarchies } from "../cgroups/hierarchy.js";
import { discardSpare, spawnSpareExec } from "../shim/shim-client.js";
import type { ShimPlan } from "../shim/plan.js";

/** Pids of every parked spare of this process, left out of process counts. */
const sparePids = new Set<number>();

/** `pids` without the parked spares' pids. */
export const withoutSpares = (pids: number[]): number[] => pids.filter((p) => !sparePids.has(p));

export class ExecSpares {
  private readonly spares = new Map<string, ChildProcess>();
  /** Containers being removed: no spare may be parked for them. */
  private readonly closing = new Set<string>();

  /** The container's spare, if one is parked and alive (it is no longer parked after). */
  take(id: string): ChildProcess | undefined {
    const spare = this.spares.get(id);
    if (!spare) return undefined;
    this.spares.delete(id);
    if (spare.pid !== undefined) sparePids.delete(spare.pid);
    return spare.exitCode === null && spare.signalCode === null ? spare : undefined;
  }

  /** Parks a spare for the container unless it has one, is closing or has a pids limit. */
  park(
    id: string,
    cgroups: Pick<ShimPlan, "cgroupV1" | "cgroupV2">,
    procsPaths: string[],
    hierarchies: Hierarchies,
  ): void {
    if (this.spares.has(id) || this.closing.has(id)) return;
    if (pidsLimited(procsPaths, hierarchies)) return;
    const spare = spawnSpareExec(cgroups);
    const pid = spare.pid;
    if (pid === undefined) return; // the spawn failed: exec without spares
    this.spares.set(id, spare);
    sparePids.add(pid);
    spare.on("exit", () => {
      sparePids.delete(pid);
      if (this.spares.get(id) === spare) this.spares.delete(id);
    });
  }

  /** No more spares for the container; resolves once the parked one is gone. */
  async close(id: string): Promise<void> {
    this.closing.add(id);
    const spare = this.take(id);
    if (!spare) return;
    const gone = new Promise((resolvePromise) => spare.once("exit", resolvePromise));
    discardSpare(spare);
    await gone;
  }

  /** Forgets a removed container (after close). */
  forget(id: string): void {
    this.closing.delete(id);
  }

  /** Lets every spare go (the daemon stopping). */
  closeAll(): void {
    for (const id of [...this.spares.keys()]) {
      const spare = this.take(id);
      if (spare) discardSpare(spare);
    }
  }
}

/**
 * Whether pids.max limits the cgroup (its own or an ancestor's): a spare would take one
 * of the container's pids.
 */
function pidsLimited(procsPaths: string[], hierarchies: Hierarchies): boolean {
  const pids = hierarchies.controllers.get("pids");
  const root = pids?.version === 1 ? pids.mountpoint : hierarchies.unified?.mountpoint;
  if (!pids || !root) return false;
  const procs = procsPaths.find((p) => p.startsWith(`${root}/`));
  if (!procs) return false;
  for (let dir = dirname(procs); dir.startsWith(`${root}/`); dir = dirname(dir)) {
    let max: string;
    try {
      max = readFileSync(join(dir, "pids.max"), "utf8").trim();
    } catch {
      continue;
    }
    if (max !== "max") return true;
  }
  return false;
}
