/**
 * Figures the kernel keeps per process in /proc: threads, open files and sockets of a
 * set of processes, and the interface counters of a process's network namespace. A
 * process that exits while it is read counts as nothing.
 */
import { readFileSync, readdirSync, readlinkSync } from "node:fs";

export interface ProcessCounts {
  processes: number;
  threads: number;
  fileDescriptors: number;
  sockets: number;
}

export function countProcesses(pids: number[]): ProcessCounts {
  const out: ProcessCounts = { processes: 0, threads: 0, fileDescriptors: 0, sockets: 0 };
  for (const pid of pids) {
    let status: string;
    let fds: string[];
    try {
      status = readFileSync(`/proc/${pid}/status`, "utf8");
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    out.processes++;
    out.threads += Number(/^Threads:\s*(\d+)/m.exec(status)?.[1] ?? 1);
    out.fileDescriptors += fds.length;
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith("socket:")) out.sockets++;
      } catch {
        // closed meanwhile
      }
    }
  }
  return out;
}

export interface InterfaceCounters {
  name: string;
  rxBytes: number;
  rxPackets: number;
  rxErrors: number;
  rxDropped: number;
  txBytes: number;
  txPackets: number;
  txErrors: number;
  txDropped: number;
}

/** /proc/<pid>/net/dev: "name: rx bytes packets errs drop fifo frame compressed multicast tx ...". */
export function parseNetDev(text: string): InterfaceCounters[] {
  const out: InterfaceCounters[] = [];
  for (const line of text.split("\n").slice(2)) {
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const f = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .map(Number);
    if (f.length < 16) continue;
    out.push({
      name: line.slice(0, colon).trim(),
      rxBytes: f[0] ?? 0,
      rxPackets: f[1] ?? 0,
      rxErrors: f[2] ?? 0,
      rxDropped: f[3] ?? 0,
      txBytes: f[8] ?? 0,
      txPackets: f[9] ?? 0,
      txErrors: f[10] ?? 0,
      txDropped: f[11] ?? 0,
    });
  }
  return out;
}

/** The interfaces of pid's network namespace, loopback left out; [] when pid is gone. */
export function interfaceCounters(pid: number): InterfaceCounters[] {
  try {
    return parseNetDev(readFileSync(`/proc/${pid}/net/dev`, "utf8")).filter((i) => i.name !== "lo");
  } catch {
    return [];
  }
}
