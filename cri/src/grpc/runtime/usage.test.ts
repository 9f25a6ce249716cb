import { describe, expect, test } from "@jest/globals";
import type { InterfaceCounters } from "../../core/host/procfs.js";
import { cpuUsage, memoryUsage, networkUsage, processUsage, u64 } from "./usage.js";

const iface = (name: string, n: number): InterfaceCounters => ({
  name,
  rxBytes: n,
  rxPackets: 1,
  rxErrors: n + 1,
  rxDropped: 0,
  txBytes: n + 2,
  txPackets: 1,
  txErrors: n + 3,
  txDropped: 0,
});

describe("CRI usage messages", () => {
  test("u64: whole, non-negative decimal strings; unknown is null", () => {
    expect(u64(12.6)).toEqual({ value: "13" });
    expect(u64(-5)).toEqual({ value: "0" });
    expect(u64(2 ** 60)).toEqual({ value: "1152921504606846976" });
    expect(u64(undefined)).toBeNull();
    expect(u64(NaN)).toBeNull();
    expect(u64(1e22)).toEqual({ value: "10000000000000000000000" });
  });

  test("cpu: cumulative time, and nano cores only when a rate is known", () => {
    expect(cpuUsage({ usageNanos: 5e9 }, 7n, 250_000_000)).toEqual({
      timestamp: "7",
      usage_core_nano_seconds: { value: "5000000000" },
      usage_nano_cores: { value: "250000000" },
    });
    expect(cpuUsage({ usageNanos: 1 }, 7n).usage_nano_cores).toBeNull();
  });

  test("memory: available is limit - working set, absent without a limit", () => {
    const m = {
      usageBytes: 1000,
      workingSetBytes: 800,
      rssBytes: 600,
      cacheBytes: 200,
      pageFaults: 7,
      majorPageFaults: 1,
      failcnt: 0,
      oomKills: 0,
    };
    expect(memoryUsage({ ...m, limitBytes: 4096 }, 9n)).toEqual({
      timestamp: "9",
      working_set_bytes: { value: "800" },
      available_bytes: { value: "3296" },
      usage_bytes: { value: "1000" },
      rss_bytes: { value: "600" },
      page_faults: { value: "7" },
      major_page_faults: { value: "1" },
    });
    expect(memoryUsage(m, 9n).available_bytes).toBeNull();
    // over the limit (working set counted before a reclaim): 0, never negative
    expect(memoryUsage({ ...m, limitBytes: 500 }, 9n).available_bytes).toEqual({ value: "0" });
  });

  test("network: eth0 is the default interface; every interface listed, sorted", () => {
    const n = networkUsage([iface("net1", 10), iface("eth0", 20)], 3n);
    expect(n.timestamp).toBe("3");
    expect(n.default_interface).toEqual({
      name: "eth0",
      rx_bytes: { value: "20" },
      rx_errors: { value: "21" },
      tx_bytes: { value: "22" },
      tx_errors: { value: "23" },
    });
    expect(n.interfaces?.map((i) => i.name)).toEqual(["eth0", "net1"]);
  });

  test("network: without eth0 the first interface is the default; none gives null", () => {
    expect(networkUsage([iface("net2", 1), iface("net1", 1)], 1n).default_interface?.name).toBe(
      "net1",
    );
    expect(networkUsage([], 1n)).toEqual({
      timestamp: "1",
      default_interface: null,
      interfaces: [],
    });
  });

  test("process count", () => {
    expect(processUsage(3, 5n)).toEqual({ timestamp: "5", process_count: { value: "3" } });
  });
});
