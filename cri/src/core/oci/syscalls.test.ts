import { describe, expect, test } from "@jest/globals";

import {
  armOnlySyscalls,
  i386Syscalls,
  isKnownSyscall,
  newerSyscalls,
  syscallNumber,
  x86_64Syscalls,
} from "./syscalls.js";

describe("syscall table", () => {
  test("x86_64 numbers of well-known calls match the kernel ABI", () => {
    expect(syscallNumber("read")).toBe(0);
    expect(syscallNumber("write")).toBe(1);
    expect(syscallNumber("execve")).toBe(59);
    expect(syscallNumber("mount")).toBe(165);
    expect(syscallNumber("clone3")).toBe(435);
    expect(syscallNumber("set_mempolicy_home_node")).toBe(450);
  });

  test("i386 numbers differ where the ABIs differ", () => {
    expect(syscallNumber("read", "i386")).toBe(3);
    expect(syscallNumber("socketcall", "i386")).toBe(102);
    expect(syscallNumber("socketcall", "x86_64")).toBeUndefined();
  });

  test("calls newer than the 6.1 headers are known on both ABIs, map_shadow_stack on x86_64 only", () => {
    expect(syscallNumber("fchmodat2")).toBe(452);
    expect(syscallNumber("fchmodat2", "i386")).toBe(452);
    expect(syscallNumber("map_shadow_stack")).toBe(453);
    expect(syscallNumber("map_shadow_stack", "i386")).toBeUndefined();
    expect(syscallNumber("uretprobe")).toBe(335);
    expect(syscallNumber("uretprobe", "i386")).toBeUndefined();
  });

  test("numbers are unique within an ABI", () => {
    for (const [abi, table] of [
      ["x86_64", x86_64Syscalls],
      ["i386", i386Syscalls],
    ] as const) {
      const newer = Object.keys(newerSyscalls).map((n) => syscallNumber(n, abi));
      const numbers = [...Object.values(table), ...newer.filter((n) => n !== undefined)];
      expect(new Set(numbers).size).toBe(numbers.length);
    }
  });

  test("isKnownSyscall accepts names of x86_64, i386 and ARM, and refuses others", () => {
    expect(isKnownSyscall("openat")).toBe(true);
    expect(isKnownSyscall("_llseek")).toBe(true);
    expect(isKnownSyscall(armOnlySyscalls[0] ?? "")).toBe(true);
    expect(isKnownSyscall("foo")).toBe(false);
    expect(isKnownSyscall("toString")).toBe(false);
    expect(isKnownSyscall("")).toBe(false);
  });
});
