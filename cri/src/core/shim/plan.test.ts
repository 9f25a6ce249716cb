import { describe, expect, test } from "@jest/globals";

import {
  capabilityMask,
  encodePlan,
  joinNamespacesOf,
  MOUNT_ATTR,
  MS,
  shimMount,
  type ShimPlan,
} from "./plan.js";

/** Splits an encoded plan back into its NUL-terminated strings. */
const strings = (b: Buffer): string[] => b.toString("utf8").split("\0").slice(0, -1);

const base: ShimPlan = { namespaces: [], env: ["PATH=/bin"], cwd: "/", args: ["true"] };

describe("encodePlan", () => {
  test("writes version first, then records with their fields in order", () => {
    const plan: ShimPlan = {
      ...base,
      stateDir: "/run/x",
      namespaces: [{ type: "pid" }, { type: "network", path: "/proc/1/ns/net" }],
      mounts: [
        {
          source: "proc",
          destination: "/proc",
          type: "proc",
          flags: MS.NOSUID,
          data: "",
          propagation: 0,
          recursiveAttrSet: 0,
          recursiveAttrClear: 0,
        },
      ],
      sysctls: [["net.ipv4.ip_forward", "1"]],
    };
    expect(strings(encodePlan(plan))).toEqual([
      "version",
      "1",
      "state_dir",
      "/run/x",
      "ns",
      "pid",
      "",
      "ns",
      "network",
      "/proc/1/ns/net",
      "mount",
      "proc",
      "/proc",
      "proc",
      "2",
      "",
      "0",
      "0",
      "0",
      "sysctl",
      "net.ipv4.ip_forward",
      "1",
      "env",
      "PATH=/bin",
      "arg",
      "true",
      "cwd",
      "/",
    ]);
  });

  test("a console socket goes with the terminal record", () => {
    const encoded = strings(encodePlan({ ...base, terminal: true, consoleSocket: "/tmp/c.sock" }));
    expect(encoded.slice(-3)).toEqual(["terminal", "console_socket", "/tmp/c.sock"]);
  });

  test("capabilities are hex masks; seccomp args follow their rule", () => {
    const chown = capabilityMask(["CAP_CHOWN", "CAP_KILL"]);
    const plan: ShimPlan = {
      ...base,
      capabilities: {
        effective: chown,
        permitted: chown,
        inheritable: 0n,
        bounding: chown,
        ambient: 0n,
      },
      seccomp: {
        defaultAction: "SCMP_ACT_ERRNO",
        defaultErrnoRet: 1,
        architectures: ["x86_64"],
        flags: [],
        rules: [
          {
            action: "SCMP_ACT_ALLOW",
            errnoRet: 0,
            syscall: "personality",
            args: [{ index: 0, op: "SCMP_CMP_EQ", value: 0xffffffffn, valueTwo: 0n }],
          },
        ],
      },
    };
    const s = strings(encodePlan(plan));
    expect(s.slice(s.indexOf("caps"), s.indexOf("caps") + 6)).toEqual([
      "caps",
      "0x21",
      "0x21",
      "0x0",
      "0x21",
      "0x0",
    ]);
    const rule = s.indexOf("seccomp_rule");
    expect(s.slice(rule, rule + 9)).toEqual([
      "seccomp_rule",
      "SCMP_ACT_ALLOW",
      "0",
      "personality",
      "seccomp_arg",
      "0",
      "SCMP_CMP_EQ",
      "4294967295",
      "0",
    ]);
  });

  test("refuses NUL bytes and non-integers", () => {
    expect(() => encodePlan({ ...base, args: ["a\0b"] })).toThrow(/NUL/);
    expect(() => encodePlan({ ...base, oomScoreAdj: 1.5 })).toThrow(/integer/);
    expect(() => capabilityMask(["CAP_NOPE"])).toThrow(/unknown capability/);
  });

  test("joinNamespacesOf names the /proc files of a process", () => {
    expect(joinNamespacesOf(42, ["mount", "network"])).toEqual([
      { type: "mount", path: "/proc/42/ns/mnt" },
      { type: "network", path: "/proc/42/ns/net" },
    ]);
  });
});

describe("shimMount", () => {
  test("splits OCI options into flags, propagation, recursive attributes and data", () => {
    expect(
      shimMount({
        destination: "/data",
        source: "/host/data",
        type: "bind",
        options: ["rbind", "ro", "nosuid", "rprivate", "rro", "rnoexec"],
      }),
    ).toEqual({
      source: "/host/data",
      destination: "/data",
      type: "bind",
      flags: MS.BIND | MS.REC | MS.RDONLY | MS.NOSUID,
      data: "",
      propagation: MS.PRIVATE | MS.REC,
      recursiveAttrSet: MOUNT_ATTR.RDONLY | MOUNT_ATTR.NOEXEC,
      recursiveAttrClear: 0,
    });
    expect(
      shimMount({
        destination: "/dev",
        source: "tmpfs",
        type: "tmpfs",
        options: ["nosuid", "strictatime", "mode=755", "size=65536k"],
      }),
    ).toMatchObject({ flags: MS.NOSUID | MS.STRICTATIME, data: "mode=755,size=65536k" });
    expect(shimMount({ destination: "/x", options: ["ro", "rw"] }).flags).toBe(0);
    expect(() => shimMount({ destination: "/x", options: ["idmap"] })).toThrow(/not supported/);
  });
});
