import { describe, expect, test } from "@jest/globals";

import {
  allCapabilities,
  capabilityNumber,
  capabilityProblem,
  kernelCapabilities,
} from "./capabilities.js";

describe("capabilities", () => {
  test("numbers follow linux/capability.h", () => {
    expect(capabilityNumber("CAP_CHOWN")).toBe(0);
    expect(capabilityNumber("CAP_NET_RAW")).toBe(13);
    expect(capabilityNumber("CAP_SYS_ADMIN")).toBe(21);
    expect(capabilityNumber("CAP_AUDIT_WRITE")).toBe(29);
    expect(capabilityNumber("CAP_BPF")).toBe(39);
    expect(capabilityNumber("CAP_CHECKPOINT_RESTORE")).toBe(40);
    expect(allCapabilities).toHaveLength(41);
  });

  test("the kernel's list stops at cap_last_cap", () => {
    expect(kernelCapabilities(40)).toHaveLength(41);
    expect(kernelCapabilities(37).at(-1)).toBe("CAP_AUDIT_READ");
  });

  test("an unknown name is refused, with a hint for a name missing CAP_", () => {
    expect(capabilityProblem("CAP_FOO", 40)).toBe('unknown capability "CAP_FOO"');
    expect(capabilityProblem("chown", 40)).toBe(
      'unknown capability "chown" (did you mean "CAP_CHOWN"?)',
    );
    expect(capabilityProblem("CAP_KILL", 40)).toBeUndefined();
  });

  test("a capability above cap_last_cap is refused", () => {
    expect(capabilityProblem("CAP_BPF", 37)).toMatch(/CAP_BPF \(39\) is not supported/);
  });
});
