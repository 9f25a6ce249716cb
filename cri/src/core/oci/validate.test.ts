import { describe, expect, test } from "@jest/globals";

import { SkiffError } from "../errors.js";
import { defaultSpec } from "./defaults.js";
import { type FixedHostFactsInit, fixedHostFacts } from "./host-facts.js";
import type { Spec } from "./spec.js";
import { specProblems, validateResources, validateSpec } from "./validate.js";

const bundle = "/bundles/c1";
const hostInit: FixedHostFactsInit = {
  directories: [bundle, `${bundle}/rootfs`, "/data"],
  files: ["/usr/local/bin/hook"],
  namespaces: {
    "/proc/1234/ns/net": { id: "4:100", type: "network" },
    "/run/netns/pod1": { id: "4:101" },
    "/proc/self/ns/net": { id: "4:1", type: "network" },
    "/proc/self/ns/ipc": { id: "4:2", type: "ipc" },
    "/proc/1234/ns/user": { id: "4:103", type: "user" },
    "/proc/1234/ns/uts": { id: "4:104", type: "uts" },
  },
  hostNamespaces: { network: "4:1", ipc: "4:2" },
  capLastCap: 40,
};
const host = fixedHostFacts(hostInit);

function spec(change: (s: Spec) => void = () => undefined): Spec {
  const s = defaultSpec({ arch: "x64", kernelRelease: "6.1.0" });
  change(s);
  return s;
}

/** The error validateSpec throws for a spec, which must name `field`. */
async function refusal(s: unknown, facts = host): Promise<SkiffError> {
  try {
    await validateSpec(s, bundle, facts);
  } catch (err) {
    if (err instanceof SkiffError) return err;
    throw err;
  }
  throw new Error("spec was accepted");
}

async function expectRefused(
  s: unknown,
  field: string,
  text?: RegExp,
  kind = "InvalidArgument",
): Promise<void> {
  const err = await refusal(s);
  expect(err.kind).toBe(kind);
  expect(err.message).toContain(`${field}: `);
  if (text) expect(err.message).toMatch(text);
}

/** A namespace list with the given entries replacing the default ones of those types. */
function withNamespaces(s: Spec, ...entries: { type: string; path?: string }[]): void {
  const types = new Set(entries.map((e) => e.type));
  const kept = (s.linux?.namespaces ?? []).filter((n) => !types.has(n.type));
  s.linux = { ...s.linux, namespaces: [...kept, ...(entries as Spec["linux"] & never[])] };
}

describe("validateSpec", () => {
  test("the default spec validates cleanly", async () => {
    expect(await specProblems(spec(), bundle, host)).toEqual([]);
    await expect(validateSpec(spec(), bundle, host)).resolves.toBeDefined();
  });

  test("a non-object config is refused", async () => {
    await expectRefused(null, "(config)");
  });

  describe("ociVersion", () => {
    test("is required", async () => {
      const s = spec() as Partial<Spec>;
      delete s.ociVersion;
      await expectRefused(s, "ociVersion", /is required/);
    });
    test("must be 1.x SemVer", async () => {
      await expectRefused(
        spec((s) => (s.ociVersion = "2.0.0")),
        "ociVersion",
        /not 1\.x/,
      );
      await expectRefused(
        spec((s) => (s.ociVersion = "one")),
        "ociVersion",
        /SemVer/,
      );
      expect(
        await specProblems(
          spec((s) => (s.ociVersion = "1.0.2-dev")),
          bundle,
          host,
        ),
      ).toEqual([]);
    });
  });

  describe("root", () => {
    test("root.path must exist relative to the bundle", async () => {
      await expectRefused(
        spec((s) => (s.root = { path: "missing" })),
        "root.path",
        /\/bundles\/c1\/missing does not exist/,
      );
    });
    test("root.path must be a directory", async () => {
      await expectRefused(
        spec((s) => (s.root = { path: "/usr/local/bin/hook" })),
        "root.path",
        /is not a directory/,
      );
    });
    test("an absolute root.path is taken as is", async () => {
      expect(
        await specProblems(
          spec((s) => (s.root = { path: "/data" })),
          bundle,
          host,
        ),
      ).toEqual([]);
    });
  });

  describe("process", () => {
    test("args must not be empty", async () => {
      await expectRefused(
        spec((s) => (s.process!.args = [])),
        "process.args",
      );
      await expectRefused(
        spec((s) => delete s.process!.args),
        "process.args",
        /is required/,
      );
    });
    test("cwd must be absolute", async () => {
      await expectRefused(
        spec((s) => (s.process!.cwd = "tmp")),
        "process.cwd",
        /not absolute/,
      );
    });
    test("env entries must be KEY=VALUE", async () => {
      await expectRefused(
        spec((s) => s.process!.env!.push("JUSTKEY")),
        "process.env[2]",
        /"JUSTKEY" is not KEY=VALUE/,
      );
      await expectRefused(
        spec((s) => s.process!.env!.push("=x")),
        "process.env[2]",
      );
      expect(
        await specProblems(
          spec((s) => s.process!.env!.push("EMPTY=")),
          bundle,
          host,
        ),
      ).toEqual([]);
    });
    test("an unknown capability is named with its set and index", async () => {
      await expectRefused(
        spec((s) => s.process!.capabilities!.bounding!.push("CAP_FLY")),
        "process.capabilities.bounding[14]",
        /unknown capability "CAP_FLY"/,
      );
      await expectRefused(
        spec((s) => (s.process!.capabilities!.effective = ["KILL"])),
        "process.capabilities.effective[0]",
        /did you mean "CAP_KILL"/,
      );
    });
    test("a capability this kernel does not have is refused", async () => {
      const s = spec((x) => x.process!.capabilities!.bounding!.push("CAP_BPF"));
      const err = await refusal(s, fixedHostFacts({ ...hostInit, capLastCap: 37 }));
      expect(err.message).toMatch(/process\.capabilities\.bounding\[14\]: capability CAP_BPF/);
    });
    test("ambient capabilities must be permitted and inheritable", async () => {
      await expectRefused(
        spec((s) => (s.process!.capabilities!.ambient = ["CAP_KILL"])),
        "process.capabilities.ambient[0]",
        /permitted and inheritable/,
      );
    });
    test("rlimits: known names, soft <= hard, no duplicates", async () => {
      await expectRefused(
        spec((s) => s.process!.rlimits!.push({ type: "RLIMIT_FOO", soft: 1, hard: 1 })),
        "process.rlimits[1].type",
        /unknown rlimit "RLIMIT_FOO"/,
      );
      await expectRefused(
        spec((s) => (s.process!.rlimits = [{ type: "RLIMIT_NOFILE", soft: 2048, hard: 1024 }])),
        "process.rlimits[0].soft",
        /above the hard limit/,
      );
      await expectRefused(
        spec((s) => s.process!.rlimits!.push({ type: "RLIMIT_NOFILE", soft: 1, hard: 1 })),
        "process.rlimits[1].type",
        /listed twice/,
      );
    });
    test("oomScoreAdj must be within -1000..1000", async () => {
      await expectRefused(
        spec((s) => (s.process!.oomScoreAdj = 1001)),
        "process.oomScoreAdj",
      );
      await expectRefused(
        spec((s) => (s.process!.oomScoreAdj = -1001)),
        "process.oomScoreAdj",
      );
      expect(
        await specProblems(
          spec((s) => (s.process!.oomScoreAdj = -999)),
          bundle,
          host,
        ),
      ).toEqual([]);
    });
    test("an AppArmor profile on a kernel without AppArmor is refused, not run unconfined", async () => {
      await expectRefused(
        spec((s) => (s.process!.apparmorProfile = "skiff-default")),
        "process.apparmorProfile",
        /no AppArmor; refusing to run unconfined/,
        "FailedPrecondition",
      );
      expect(
        await specProblems(
          spec((s) => (s.process!.apparmorProfile = "unconfined")),
          bundle,
          host,
        ),
      ).toEqual([]);
      // where the kernel has AppArmor too: Skiff cannot apply the profile
      const withAppArmor = fixedHostFacts({ ...hostInit, appArmor: true });
      const err = await refusal(
        spec((s) => (s.process!.apparmorProfile = "skiff-default")),
        withAppArmor,
      );
      expect(err.kind).toBe("FailedPrecondition");
      expect(err.message).toMatch(/cannot apply AppArmor profiles yet; refusing to run unconfined/);
    });
    test("an SELinux label or mount label is refused, with SELinux or without", async () => {
      await expectRefused(
        spec((s) => (s.process!.selinuxLabel = "system_u:system_r:container_t:s0")),
        "process.selinuxLabel",
        /SELinux is not enabled on this host/,
        "FailedPrecondition",
      );
      const withSELinux = fixedHostFacts({ ...hostInit, selinux: true });
      for (const [field, edit] of [
        [
          "process.selinuxLabel",
          (s: Spec) => (s.process!.selinuxLabel = "system_u:system_r:container_t:s0"),
        ],
        [
          "linux.mountLabel",
          (s: Spec) => (s.linux!.mountLabel = "system_u:object_r:container_file_t:s0"),
        ],
      ] as const) {
        const err = await refusal(spec(edit), withSELinux);
        expect(err.kind).toBe("FailedPrecondition");
        expect(err.message).toContain(`${field}: `);
        expect(err.message).toMatch(/cannot apply SELinux labels yet; refusing to run unlabelled/);
      }
    });
    test("user ids must be uint32", async () => {
      await expectRefused(
        spec((s) => (s.process!.user.uid = -1)),
        "process.user.uid",
      );
      await expectRefused(
        spec((s) => (s.process!.user.additionalGids = [1, 2 ** 32])),
        "process.user.additionalGids[1]",
      );
    });
  });

  describe("namespaces", () => {
    test("an unknown type is refused", async () => {
      await expectRefused(
        spec((s) => s.linux!.namespaces!.push({ type: "bogus" as "pid" })),
        "linux.namespaces[6].type",
        /unknown namespace type "bogus"/,
      );
    });
    test("a duplicated type is refused", async () => {
      await expectRefused(
        spec((s) => s.linux!.namespaces!.push({ type: "pid" })),
        "linux.namespaces[6].type",
        /listed twice/,
      );
    });
    test("a path that does not exist is named", async () => {
      await expectRefused(
        spec((s) => withNamespaces(s, { type: "network", path: "/run/netns/nope" })),
        "linux.namespaces[5].path",
        /\/run\/netns\/nope does not exist/,
      );
    });
    test("a path that is not a namespace, or of another type, is refused", async () => {
      await expectRefused(
        spec((s) => withNamespaces(s, { type: "network", path: "/data" })),
        "linux.namespaces[5].path",
        /is not a namespace/,
      );
      await expectRefused(
        spec((s) => withNamespaces(s, { type: "ipc", path: "/proc/1234/ns/net" })),
        "linux.namespaces[5].path",
        /is a network namespace, not ipc/,
      );
    });
    test("joining namespaces by path is accepted", async () => {
      expect(
        await specProblems(
          spec((s) => withNamespaces(s, { type: "network", path: "/run/netns/pod1" })),
          bundle,
          host,
        ),
      ).toEqual([]);
    });
    test("a new user namespace needs uid and gid mappings", async () => {
      const err = await refusal(spec((s) => withNamespaces(s, { type: "user" })));
      expect(err.message).toContain("linux.uidMappings: a new user namespace needs uid mappings");
      expect(err.message).toContain("linux.gidMappings: a new user namespace needs gid mappings");
      const mapped = spec((s) => {
        withNamespaces(s, { type: "user" });
        s.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
        s.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      });
      expect(await specProblems(mapped, bundle, host)).toEqual([]);
    });
    test("mappings without a user namespace are refused", async () => {
      await expectRefused(
        spec((s) => (s.linux!.uidMappings = [{ containerID: 0, hostID: 1000, size: 1 }])),
        "linux.uidMappings",
        /needs a user namespace/,
      );
    });
    test("hostname needs a uts namespace of the container's own", async () => {
      await expectRefused(
        spec((s) => (s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== "uts"))),
        "hostname",
        /needs a uts namespace/,
      );
      await expectRefused(
        spec((s) => withNamespaces(s, { type: "uts", path: "/proc/1234/ns/uts" })),
        "hostname",
        /joined uts namespace/,
      );
    });
    test("time offsets need a time namespace", async () => {
      await expectRefused(
        spec((s) => (s.linux!.timeOffsets = { monotonic: { secs: 10 } })),
        "linux.timeOffsets",
        /time namespace/,
      );
    });
  });

  describe("mounts", () => {
    test("destination must be absolute", async () => {
      await expectRefused(
        spec((s) => s.mounts!.push({ destination: "data", type: "tmpfs", source: "tmpfs" })),
        "mounts[7].destination",
        /absolute path/,
      );
      await expectRefused(
        spec((s) => s.mounts!.push({ destination: "/a/../etc", type: "tmpfs", source: "t" })),
        "mounts[7].destination",
      );
    });
    test("an unknown filesystem type is refused", async () => {
      await expectRefused(
        spec((s) => s.mounts!.push({ destination: "/x", type: "nosuchfs", source: "x" })),
        "mounts[7].type",
        /unknown filesystem type "nosuchfs"/,
      );
    });
    test("a bind mount needs an existing source", async () => {
      const bind = { destination: "/x", type: "bind", options: ["rbind", "ro"] };
      await expectRefused(
        spec((s) => s.mounts!.push({ ...bind, source: "/nowhere" })),
        "mounts[7].source",
        /\/nowhere does not exist/,
      );
      expect(
        await specProblems(
          spec((s) => s.mounts!.push({ ...bind, source: "/data" })),
          bundle,
          host,
        ),
      ).toEqual([]);
      expect(
        await specProblems(
          spec((s) => s.mounts!.push({ destination: "/x", source: "/data", options: ["bind"] })),
          bundle,
          host,
        ),
      ).toEqual([]);
    });
  });

  describe("sysctl", () => {
    test("namespaced sysctls are accepted with their namespace", async () => {
      const s = spec((x) => {
        x.linux!.sysctl = {
          "net.ipv4.ip_unprivileged_port_start": "0",
          "net.ipv4.ping_group_range": "0 2147483647",
          "kernel.shm_rmid_forced": "1",
          "kernel.sem": "250 32000 32 128",
          "fs.mqueue.msg_max": "100",
        };
      });
      expect(await specProblems(s, bundle, host)).toEqual([]);
    });
    test("net.* needs a network namespace", async () => {
      await expectRefused(
        spec((s) => {
          s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== "network");
          s.linux!.sysctl = { "net.ipv4.ip_forward": "1" };
        }),
        "linux.sysctl.net.ipv4.ip_forward",
        /needs a network namespace/,
      );
    });
    test("IPC sysctls need an ipc namespace", async () => {
      await expectRefused(
        spec((s) => {
          s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== "ipc");
          s.linux!.sysctl = { "kernel.msgmax": "8192" };
        }),
        "linux.sysctl.kernel.msgmax",
        /needs a ipc namespace/,
      );
    });
    test("joining the host's own network namespace does not make net.* safe", async () => {
      await expectRefused(
        spec((s) => {
          withNamespaces(s, { type: "network", path: "/proc/self/ns/net" });
          s.linux!.sysctl = { "net.ipv4.ip_forward": "1" };
        }),
        "linux.sysctl.net.ipv4.ip_forward",
        /joins the host's network namespace/,
      );
    });
    test("non-namespaced sysctls are refused", async () => {
      for (const name of ["kernel.core_pattern", "vm.overcommit_memory", "fs.file-max"]) {
        await expectRefused(
          spec((s) => (s.linux!.sysctl = { [name]: "1" })),
          `linux.sysctl.${name}`,
          /not namespaced/,
        );
      }
    });
    test("kernel.hostname and kernel.domainname are refused in favour of the fields", async () => {
      await expectRefused(
        spec((s) => (s.linux!.sysctl = { "kernel.hostname": "x" })),
        "linux.sysctl.kernel.hostname",
        /hostname field/,
      );
      await expectRefused(
        spec((s) => (s.linux!.sysctl = { "kernel.domainname": "x" })),
        "linux.sysctl.kernel.domainname",
        /domainname field/,
      );
    });
    test("value injection is refused (CVE-2022-0811)", async () => {
      for (const value of [
        "1+kernel.core_pattern=|/tmp/x",
        "1=2",
        "1\nkernel.core_pattern=|/x",
        "1\0",
      ]) {
        await expectRefused(
          spec((s) => (s.linux!.sysctl = { "net.ipv4.ip_forward": value })),
          "linux.sysctl.net.ipv4.ip_forward",
        );
      }
    });
    test("names with / or .. are refused", async () => {
      for (const name of ["net/ipv4/ip_forward", "net.ipv4..ip_forward", "net.../../sys"]) {
        await expectRefused(
          spec((s) => (s.linux!.sysctl = { [name]: "1" })),
          `linux.sysctl.${name}`,
          /not a sysctl name/,
        );
      }
    });
  });

  describe("seccomp", () => {
    test("an unknown syscall name is named with its rule and index", async () => {
      await expectRefused(
        spec((s) =>
          s.linux!.seccomp!.syscalls!.push({ names: ["read", "foo"], action: "SCMP_ACT_ALLOW" }),
        ),
        `linux.seccomp.syscalls[${spec().linux!.seccomp!.syscalls!.length}].names[1]`,
        /unknown syscall "foo"/,
      );
    });
    test("unknown actions, architectures, flags and operators are refused", async () => {
      await expectRefused(
        spec((s) => (s.linux!.seccomp!.defaultAction = "SCMP_ACT_MAYBE" as "SCMP_ACT_ALLOW")),
        "linux.seccomp.defaultAction",
        /unknown seccomp action/,
      );
      await expectRefused(
        spec((s) => (s.linux!.seccomp!.architectures = ["SCMP_ARCH_Z80" as "SCMP_ARCH_X86"])),
        "linux.seccomp.architectures[0]",
      );
      await expectRefused(
        spec(
          (s) =>
            (s.linux!.seccomp!.flags = ["SECCOMP_FILTER_FLAG_FAST" as "SECCOMP_FILTER_FLAG_LOG"]),
        ),
        "linux.seccomp.flags[0]",
      );
      await expectRefused(
        spec((s) => {
          s.linux!.seccomp!.syscalls = [
            {
              names: ["socket"],
              action: "SCMP_ACT_ALLOW",
              args: [{ index: 0, value: 1, op: "SCMP_CMP_ABOUT" as "SCMP_CMP_EQ" }],
            },
          ];
        }),
        "linux.seccomp.syscalls[0].args[0].op",
        /unknown comparison/,
      );
      await expectRefused(
        spec((s) => {
          s.linux!.seccomp!.syscalls = [
            {
              names: ["socket"],
              action: "SCMP_ACT_ALLOW",
              args: [{ index: 6, value: 1, op: "SCMP_CMP_EQ" }],
            },
          ];
        }),
        "linux.seccomp.syscalls[0].args[0].index",
      );
    });
    test("an errno on an action that takes none is refused", async () => {
      await expectRefused(
        spec(
          (s) =>
            (s.linux!.seccomp!.syscalls = [
              { names: ["read"], action: "SCMP_ACT_KILL", errnoRet: 1 },
            ]),
        ),
        "linux.seccomp.syscalls[0].errnoRet",
        /takes no errno/,
      );
    });
    test("SCMP_ACT_NOTIFY needs a listener path", async () => {
      await expectRefused(
        spec(
          (s) => (s.linux!.seccomp!.syscalls = [{ names: ["mount"], action: "SCMP_ACT_NOTIFY" }]),
        ),
        "linux.seccomp.syscalls[0].action",
        /listenerPath/,
      );
    });
  });

  describe("devices, cgroups and paths", () => {
    test("device type must be c, b, u or p, with numbers unless p", async () => {
      await expectRefused(
        spec(
          (s) => (s.linux!.devices = [{ path: "/dev/x", type: "z" as "c", major: 1, minor: 1 }]),
        ),
        "linux.devices[0].type",
        /unknown device type "z"/,
      );
      await expectRefused(
        spec((s) => (s.linux!.devices = [{ path: "/dev/fuse", type: "c" }])),
        "linux.devices[0].major",
        /is required/,
      );
      await expectRefused(
        spec((s) => (s.linux!.devices = [{ path: "/dev/fuse", type: "c", major: -1, minor: 229 }])),
        "linux.devices[0].major",
      );
      expect(
        await specProblems(
          spec((s) => (s.linux!.devices = [{ path: "/dev/fifo", type: "p" }])),
          bundle,
          host,
        ),
      ).toEqual([]);
    });
    test("device paths must be absolute", async () => {
      await expectRefused(
        spec((s) => (s.linux!.devices = [{ path: "dev/fuse", type: "c", major: 10, minor: 229 }])),
        "linux.devices[0].path",
      );
    });
    test("cgroupsPath must not escape with ..", async () => {
      await expectRefused(
        spec((s) => (s.linux!.cgroupsPath = "/kubepods/../../escape")),
        "linux.cgroupsPath",
        /"\.\."/,
      );
      expect(
        await specProblems(
          spec((s) => (s.linux!.cgroupsPath = "/kubepods/besteffort/pod1/c1")),
          bundle,
          host,
        ),
      ).toEqual([]);
    });
    test("masked and read-only paths must be absolute", async () => {
      await expectRefused(
        spec((s) => s.linux!.maskedPaths!.push("proc/kcore")),
        "linux.maskedPaths[11]",
      );
      await expectRefused(
        spec((s) => s.linux!.readonlyPaths!.push("/proc/../etc")),
        "linux.readonlyPaths[5]",
      );
    });
    test("device cgroup rules are checked", async () => {
      await expectRefused(
        spec((s) => s.linux!.resources!.devices!.push({ allow: true, type: "c", access: "rwx" })),
        `linux.resources.devices[${spec().linux!.resources!.devices!.length}].access`,
      );
    });
    test("rootfsPropagation and personality are checked", async () => {
      await expectRefused(
        spec((s) => (s.linux!.rootfsPropagation = "sideways")),
        "linux.rootfsPropagation",
      );
      await expectRefused(
        spec((s) => (s.linux!.personality = { domain: "BSD" as "LINUX" })),
        "linux.personality.domain",
      );
    });
    test("hooks need an absolute path to an existing file", async () => {
      await expectRefused(
        spec((s) => (s.hooks = { createRuntime: [{ path: "/usr/local/bin/nohook" }] })),
        "hooks.createRuntime[0].path",
      );
      expect(
        await specProblems(
          spec((s) => (s.hooks = { poststop: [{ path: "/usr/local/bin/hook", timeout: 5 }] })),
          bundle,
          host,
        ),
      ).toEqual([]);
    });
  });

  test("every problem is reported at once", async () => {
    const s = spec((x) => {
      x.process!.cwd = "relative";
      x.process!.oomScoreAdj = 5000;
      x.linux!.sysctl = { "vm.swappiness": "1" };
    });
    const problems = await specProblems(s, bundle, host);
    expect(problems.map((p) => p.field)).toEqual([
      "linux.sysctl.vm.swappiness",
      "process.cwd",
      "process.oomScoreAdj",
    ]);
  });
});

describe("validateResources", () => {
  test("limits for a running container or a pod are checked by the spec's rules", () => {
    expect(() =>
      validateResources({ cpu: { shares: 512, cpus: "0-3,5" }, memory: { limit: 1 << 26 } }),
    ).not.toThrow();
    expect(() => validateResources({ cpu: { cpus: "x".repeat(5000) } })).toThrow(
      /^linux\.resources\.cpu\.cpus: "x+.*" is not a list like "0-3,5"$/,
    );
    expect(() => validateResources({ memory: { limit: -5 }, cpu: { mems: "a" } })).toThrow(
      expect.objectContaining({
        kind: "InvalidArgument",
        message: expect.stringMatching(/memory\.limit: .*; linux\.resources\.cpu\.mems: /),
      }),
    );
  });
});
