/**
 * CPU usage rates (the CRI's usage_nano_cores): a cgroup reports only cumulative CPU
 * time, so the rate is the change since the previous sample of the same pod or
 * container, divided by the time between them (nanoseconds of CPU per second = nano
 * cores), as containerd and CRI-O compute it for kubelet.
 *
 * Invariants:
 *   - the first sample of an id has no rate (undefined), and neither has one whose
 *     counter went backwards (the cgroup was made again): both become the new baseline;
 *   - a sample closer than `minIntervalNs` to the baseline answers the last rate and
 *     keeps the baseline, so two callers sampling at once (kubelet's housekeeping and a
 *     summary request) do not turn a few microseconds of counter noise into a rate;
 *   - ids not sampled for `maxAgeNs` are forgotten, so removed pods and containers do
 *     not stay in memory.
 */

interface Sample {
  usageNanos: number;
  timestampNs: bigint;
  rate: number | undefined;
}

export interface CpuRateOptions {
  /** Samples closer than this to the baseline reuse the last rate (default 1 s). */
  minIntervalNs?: bigint;
  /** Ids not sampled for this long are dropped (default 10 min). */
  maxAgeNs?: bigint;
}

export class CpuRates {
  private readonly samples = new Map<string, Sample>();
  private readonly minIntervalNs: bigint;
  private readonly maxAgeNs: bigint;
  private lastSweepNs = 0n;

  constructor(options: CpuRateOptions = {}) {
    this.minIntervalNs = options.minIntervalNs ?? 1_000_000_000n;
    this.maxAgeNs = options.maxAgeNs ?? 600_000_000_000n;
  }

  /** Records `usageNanos` of `id` at `timestampNs`; the rate in nano cores, when known. */
  rate(id: string, usageNanos: number, timestampNs: bigint): number | undefined {
    this.sweep(timestampNs);
    const prev = this.samples.get(id);
    let rate: number | undefined;
    if (prev && usageNanos >= prev.usageNanos && timestampNs >= prev.timestampNs) {
      const intervalNs = timestampNs - prev.timestampNs;
      if (intervalNs === 0n || intervalNs < this.minIntervalNs) return prev.rate;
      rate = Math.round(((usageNanos - prev.usageNanos) * 1e9) / Number(intervalNs));
    }
    this.samples.set(id, { usageNanos, timestampNs, rate });
    return rate;
  }

  /** How many ids have a baseline (for tests). */
  get size(): number {
    return this.samples.size;
  }

  private sweep(nowNs: bigint): void {
    if (nowNs - this.lastSweepNs < this.maxAgeNs / 10n) return;
    this.lastSweepNs = nowNs;
    for (const [id, s] of this.samples) {
      if (nowNs - s.timestampNs > this.maxAgeNs) this.samples.delete(id);
    }
  }
}
