import { describe, expect, test } from "@jest/globals";
import { CpuRates } from "./cpu-rates.js";

const s = (seconds: number): bigint => BigInt(Math.round(seconds * 1e9));

describe("CpuRates", () => {
  test("the first sample has no rate; the next gives CPU nanoseconds per second", () => {
    const rates = new CpuRates();
    expect(rates.rate("p", 1e9, s(100))).toBeUndefined();
    // 0.5 s of CPU in 2 s: half a core.
    expect(rates.rate("p", 1.5e9, s(102))).toBe(250_000_000);
    // 2 s of CPU in 1 s: two cores.
    expect(rates.rate("p", 3.5e9, s(103))).toBe(2_000_000_000);
  });

  test("ids are independent", () => {
    const rates = new CpuRates();
    rates.rate("a", 0, s(1));
    rates.rate("b", 0, s(1));
    expect(rates.rate("a", 1e9, s(2))).toBe(1e9);
    expect(rates.rate("b", 0, s(2))).toBe(0);
  });

  test("a sample too close to the baseline answers the last rate and keeps the baseline", () => {
    const rates = new CpuRates();
    rates.rate("p", 0, s(10));
    expect(rates.rate("p", 1e9, s(11))).toBe(1e9);
    expect(rates.rate("p", 1.000001e9, s(11.000001))).toBe(1e9);
    // measured from the baseline at 11 s, not from the close sample
    expect(rates.rate("p", 1.5e9, s(13))).toBe(250_000_000);
  });

  test("a counter that went backwards (cgroup made again) starts over", () => {
    const rates = new CpuRates();
    rates.rate("p", 5e9, s(10));
    expect(rates.rate("p", 1e9, s(12))).toBeUndefined();
    expect(rates.rate("p", 2e9, s(13))).toBe(1e9);
  });

  test("ids not sampled for maxAge are forgotten", () => {
    const rates = new CpuRates({ maxAgeNs: s(60) });
    rates.rate("old", 0, s(0));
    rates.rate("live", 0, s(50));
    rates.rate("live", 1e9, s(100));
    expect(rates.size).toBe(1);
    expect(rates.rate("old", 1e9, s(101))).toBeUndefined();
  });
});
