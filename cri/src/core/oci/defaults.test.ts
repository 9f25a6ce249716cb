import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { mkdir, mkdtemp, rm, writeFile, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import {
  defaultCapabilities,
  defaultDeviceCgroupRules,
  defaultDevices,
  defaultMaskedPaths,
  defaultMounts,
  defaultReadonlyPaths,
  defaultSpec,
} from "./defaults.js";
import { realHostFacts } from "./host-facts.js";
import { specProblems } from "./validate.js";

describe("security defaults", () => {
  test("the 14 default capabilities of containerd's CRI", () => {
    expect([...defaultCapabilities].sort()).toEqual(
      [
        "CAP_AUDIT_WRITE",
        "CAP_CHOWN",
        "CAP_DAC_OVERRIDE",
        "CAP_FOWNER",
        "CAP_FSETID",
        "CAP_KILL",
        "CAP_MKNOD",
        "CAP_NET_BIND_SERVICE",
        "CAP_NET_RAW",
        "CAP_SETFCAP",
        "CAP_SETGID",
        "CAP_SETPCAP",
        "CAP_SETUID",
        "CAP_SYS_CHROOT",
      ].sort(),
    );
  });

  test("masked and read-only paths cover the host interfaces", () => {
    for (const p of ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware"]) {
      expect(defaultMaskedPaths).toContain(p);
    }
    expect(defaultReadonlyPaths).toEqual([
      "/proc/bus",
      "/proc/fs",
      "/proc/irq",
      "/proc/sys",
      "/proc/sysrq-trigger",
    ]);
  });

  test("the standard mounts, /dev before what lives in it", () => {
    const dests = defaultMounts().map((m) => m.destination);
    expect(dests).toEqual([
      "/proc",
      "/dev",
      "/dev/pts",
      "/dev/shm",
      "/dev/mqueue",
      "/sys",
      "/sys/fs/cgroup",
    ]);
    const sys = defaultMounts().find((m) => m.destination === "/sys");
    expect(sys?.options).toContain("ro");
  });

  test("default devices are the ones the runtime spec requires", () => {
    expect(defaultDevices().map((d) => `${d.path} ${d.major}:${d.minor}`)).toEqual([
      "/dev/null 1:3",
      "/dev/zero 1:5",
      "/dev/full 1:7",
      "/dev/random 1:8",
      "/dev/urandom 1:9",
      "/dev/tty 5:0",
    ]);
    const rules = defaultDeviceCgroupRules();
    expect(rules[0]).toEqual({ allow: false, access: "rwm" });
    expect(rules).toContainEqual({ allow: true, type: "c", major: 1, minor: 3, access: "rwm" });
  });

  test("defaults are fresh copies", () => {
    const a = defaultSpec();
    a.mounts?.pop();
    a.linux?.maskedPaths?.pop();
    expect(defaultSpec().mounts).toHaveLength(7);
    expect(defaultSpec().linux?.maskedPaths).toHaveLength(defaultMaskedPaths.length);
  });

  test("the default spec is locked down", () => {
    const s = defaultSpec();
    expect(s.process?.noNewPrivileges).toBe(true);
    expect(s.root).toEqual({ path: "rootfs", readonly: true });
    expect(s.process?.capabilities?.bounding).toEqual([...defaultCapabilities]);
    expect(s.process?.capabilities?.ambient).toBeUndefined();
    expect(s.process?.capabilities?.inheritable).toBeUndefined();
    expect(s.linux?.seccomp?.defaultAction).toBe("SCMP_ACT_ERRNO");
    expect(s.linux?.namespaces?.map((n) => n.type).sort()).toEqual(
      ["cgroup", "ipc", "mount", "network", "pid", "uts"].sort(),
    );
  });
});

describe("the default spec on this host", () => {
  let bundle = "";
  beforeAll(async () => {
    bundle = await mkdtemp(join(tmpdir(), "skiff-oci-defaults-"));
    await mkdir(join(bundle, "rootfs"));
  });
  afterAll(async () => {
    await rm(bundle, { recursive: true, force: true });
  });

  test("written as config.json and read back, it validates against the real host", async () => {
    await writeFile(join(bundle, "config.json"), JSON.stringify(defaultSpec(), null, 2));
    const parsed: unknown = JSON.parse(await readFile(join(bundle, "config.json"), "utf8"));
    expect(await specProblems(parsed, bundle, realHostFacts())).toEqual([]);
  });
});
