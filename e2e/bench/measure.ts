/**
 * What the side-by-side benchmarks share: order statistics of samples, a process's
 * memory from /proc/<pid>/status (VmRSS, VmHWM) and a sampler that records the peak
 * VmRSS while something runs, and a fixed-width table printer.
 */
import { readFileSync } from "node:fs";

export interface Stats {
  n: number;
  min: number;
  median: number;
  p90: number;
  p99: number;
  max: number;
}

/** Nearest-rank quantiles (as the other bench scripts compute them). */
export function stats(xs: number[]): Stats {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
  return {
    n: s.length,
    min: s[0] ?? NaN,
    median: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    max: s[s.length - 1] ?? NaN,
  };
}

export const MiB = 1024 * 1024;

/** VmRSS and VmHWM of `pid`, in bytes (NaN when the process is gone). */
export function memoryOf(pid: number): { rss: number; hwm: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (key: string): number =>
      Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN) * 1024;
    return { rss: kb("VmRSS"), hwm: kb("VmHWM") };
  } catch {
    return { rss: NaN, hwm: NaN };
  }
}

/** Samples VmRSS of `pid` every `everyMs` until stop(); returns the peak and the mean. */
export function sampleRss(pid: number, everyMs = 10): { stop(): { peak: number; mean: number } } {
  let peak = 0;
  let sum = 0;
  let count = 0;
  const take = (): void => {
    const { rss } = memoryOf(pid);
    if (!Number.isFinite(rss)) return;
    peak = Math.max(peak, rss);
    sum += rss;
    count++;
  };
  take();
  const timer = setInterval(take, everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      take();
      return { peak, mean: count ? sum / count : NaN };
    },
  };
}

export const mib = (bytes: number): string => (bytes / MiB).toFixed(1);

/** Prints rows as a table: the first column left-aligned, the others right-aligned. */
export function printTable(header: string[], rows: (string | number)[][]): void {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  for (const row of cells) {
    console.log(
      row
        .map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
        .join("  "),
    );
  }
}

/** "1.23" or "-" when either side is missing. */
export function ratio(a: number, b: number): string {
  return Number.isFinite(a) && Number.isFinite(b) && b > 0 ? (a / b).toFixed(2) : "-";
}
