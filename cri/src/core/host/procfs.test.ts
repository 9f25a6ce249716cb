import { describe, expect, test } from "@jest/globals";
import { countProcesses, interfaceCounters, parseNetDev } from "./procfs.js";

describe("procfs", () => {
  test("parseNetDev reads the counters of each interface", () => {
    const text =
      "Inter-|   Receive                                                |  Transmit\n" +
      " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n" +
      "    lo:     100       2    0    0    0     0          0         0      100       2    0    0    0     0       0          0\n" +
      "  eth0:    5000      40    1    2    0     0          0         0     3000      30    3    4    0     0       0          0\n";
    expect(parseNetDev(text)[1]).toEqual({
      name: "eth0",
      rxBytes: 5000,
      rxPackets: 40,
      rxErrors: 1,
      rxDropped: 2,
      txBytes: 3000,
      txPackets: 30,
      txErrors: 3,
      txDropped: 4,
    });
  });

  test("this process: its threads, fds and no loopback; a gone pid counts nothing", () => {
    const mine = countProcesses([process.pid, 2 ** 22 + 1]);
    expect(mine.processes).toBe(1);
    expect(mine.threads).toBeGreaterThanOrEqual(1);
    expect(mine.fileDescriptors).toBeGreaterThanOrEqual(3);
    expect(interfaceCounters(process.pid).map((i) => i.name)).not.toContain("lo");
    expect(interfaceCounters(2 ** 22 + 1)).toEqual([]);
  });
});
