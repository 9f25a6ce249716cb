/**
 * skiff-shim container setup on the real kernel: each test runs a busybox container
 * through the TS client and observes one feature from inside it.
 */
import { afterEach, describe, expect, test } from "@jest/globals";
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  statSync,
  writeFileSync,
  symlinkSync,
} from "node:fs";
import { join } from "node:path";

import { MS, capabilityMask, rlimitNumbers, seccompCacheName } from "./plan.js";
import { createContainer, startContainer, waitForExit } from "./shim-client.js";
import { defaultCapabilities, makeCgroups } from "./shim-fixtures.js";
import { Scratch, logLines } from "./shim-test-util.js";

const scratch = new Scratch();
afterEach(() => scratch.cleanup());

describe("namespaces", () => {
  test("the process is pid 1 of a new pid namespace", async () => {
    const { status, out } = await scratch.run(["sh", "-c", "echo $$"]);
    expect(status.exitCode).toBe(0);
    expect(out).toEqual(["1"]);
  });

  test("hostname and domainname are set in a new uts namespace", async () => {
    const { out } = await scratch.run(
      ["sh", "-c", "hostname; cat /proc/sys/kernel/domainname"],
      (p) => {
        p.domainname = "example.test";
      },
    );
    expect(out).toEqual(["skiff-test", "example.test"]);
  });

  test("a new network namespace has only lo", async () => {
    const { out } = await scratch.run(["ls", "/sys/class/net"]);
    expect(out).toEqual(["lo"]);
  });

  test("user namespace maps are those of the plan", async () => {
    const { status, out } = await scratch.run(
      ["sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; id -u"],
      (p) => {
        p.namespaces.push({ type: "user" });
        p.uidMappings = [{ containerId: 0, hostId: 200000, size: 65536 }];
        p.gidMappings = [{ containerId: 0, hostId: 200000, size: 65536 }];
      },
    );
    expect(status.exitCode).toBe(0);
    expect(out.map((l) => l.trim().split(/\s+/).join(" "))).toEqual([
      "0 200000 65536",
      "0 200000 65536",
      "0",
    ]);
  });

  test("a cgroup namespace is rooted at the container's cgroup", async () => {
    const cg = makeCgroups(["pids", "memory"]);
    try {
      const { out } = await scratch.run(["cat", "/proc/self/cgroup"], (p) => {
        p.namespaces.push({ type: "cgroup" });
        p.cgroupV1 = cg.dirs;
      });
      expect(out.find((l) => l.includes(":pids:"))).toMatch(/:pids:\/$/);
      expect(out.find((l) => l.includes(":memory:"))).toMatch(/:memory:\/$/);
    } finally {
      await cg.remove();
    }
  });

  test("clone3 places the process in its cgroup2 directory before exec", async () => {
    const cg = makeCgroups(["unified"]);
    try {
      const name = cg.dirs[0]!.split("/").pop()!;
      const { out } = await scratch.run(["cat", "/proc/self/cgroup"], (p) => {
        p.cgroupV2 = cg.dirs[0]!;
      });
      expect(out).toContain(`0::/${name}`);
    } finally {
      await cg.remove();
    }
  });
});

describe("filesystem", () => {
  test("files outside the rootfs are invisible", async () => {
    const { dir, plan, stateDir } = scratch.bundle([
      "sh",
      "-c",
      `ls /; test -e ${"/outside"} && echo leak; true`,
    ]);
    writeFileSync(join(dir, "outside"), "host secret");
    await createContainer(plan);
    startContainer(stateDir);
    await waitForExit(stateDir);
    const out = logLines(plan.logPath!);
    expect(out).not.toContain("leak");
    expect(out.sort()).toEqual(readdirSync(plan.rootfs).sort());
  });

  test("masked paths read as empty and /proc/sys is read-only", async () => {
    const { out, err } = await scratch.run([
      "sh",
      "-c",
      "cat /proc/kcore | wc -c; ls /sys/firmware | wc -l; echo 1 > /proc/sys/kernel/shm_rmid_forced || echo refused",
    ]);
    expect(out).toEqual(["0", "0", "refused"]);
    expect(err.join("\n")).toMatch(/Read-only file system/);
  });

  test("a read-only rootfs refuses writes; /dev/shm stays writable", async () => {
    const { out } = await scratch.run(
      ["sh", "-c", "touch /x || echo refused; touch /dev/shm/y && echo shm-ok"],
      (p) => {
        p.readonlyRootfs = true;
      },
    );
    expect(out).toEqual(["refused", "shm-ok"]);
  });

  test("/dev has the default devices, /dev/pts and the standard symlinks", async () => {
    const { out } = await scratch.run([
      "sh",
      "-c",
      "ls /dev; readlink /dev/fd; readlink /dev/ptmx; stat -c '%t:%T' /dev/null; echo x > /dev/null && echo null-ok",
    ]);
    expect(out).toEqual(
      expect.arrayContaining([
        "null",
        "zero",
        "urandom",
        "pts",
        "shm",
        "mqueue",
        "ptmx",
        "fd",
        "stdin",
      ]),
    );
    expect(out).toEqual(expect.arrayContaining(["/proc/self/fd", "pts/ptmx", "1:3", "null-ok"]));
  });

  test("overlay and cgroup2 (in a cgroup namespace) mount where the plan says", async () => {
    const cg = makeCgroups(["unified"]);
    try {
      const { out } = await scratch.run(
        [
          "sh",
          "-c",
          "cat /merged/lower.txt; cat /sys/fs/cgroup/cgroup.procs; echo hi > /merged/new",
        ],
        (p) => {
          const base = join(p.rootfs, "..");
          for (const d of ["lower", "upper", "work"]) mkdirSync(join(base, d));
          writeFileSync(join(base, "lower", "lower.txt"), "from-lower\n");
          const nosuid = MS.NOSUID | MS.NODEV | MS.NOEXEC;
          p.namespaces.push({ type: "cgroup" });
          p.cgroupV2 = cg.dirs[0]!;
          p.mounts!.push(
            {
              source: "overlay",
              destination: "/merged",
              type: "overlay",
              flags: 0,
              data: `lowerdir=${base}/lower,upperdir=${base}/upper,workdir=${base}/work`,
              propagation: 0,
              recursiveAttrSet: 0,
              recursiveAttrClear: 0,
            },
            {
              source: "cgroup",
              destination: "/sys/fs/cgroup",
              type: "cgroup2",
              flags: nosuid,
              data: "",
              propagation: 0,
              recursiveAttrSet: 0,
              recursiveAttrClear: 0,
            },
          );
        },
      );
      expect(out[0]).toBe("from-lower");
      expect(out).toContain("1"); // the container's own cgroup, seen from its namespace
    } finally {
      await scratch.cleanup();
      await cg.remove();
    }
  });

  test("ro binds only the top mount; rro (mount_setattr) makes submounts read-only too", async () => {
    const script =
      "for d in ro ro/sub rro rro/sub; do touch /$d/f 2>/dev/null && echo $d:rw || echo $d:ro; done";
    const { out } = await scratch.run(["sh", "-c", script], (p) => {
      const m = (source: string, destination: string, type: string, flags: number, rro = 0) => ({
        source,
        destination,
        type,
        flags,
        data: "",
        propagation: 0,
        recursiveAttrSet: rro,
        recursiveAttrClear: 0,
      });
      // a tmpfs with a tmpfs below it, inside the container's mount namespace
      p.mounts!.push(m("tmpfs", "/src", "tmpfs", 0), m("tmpfs", "/src/sub", "tmpfs", 0));
      const src = join(p.rootfs, "src");
      p.mounts!.push(m(src, "/ro", "bind", MS.BIND | MS.REC | MS.RDONLY));
      p.mounts!.push(m(src, "/rro", "bind", MS.BIND | MS.REC, 1));
    });
    expect(out).toEqual(["ro:ro", "ro/sub:rw", "rro:ro", "rro/sub:ro"]);
  });
});

describe("security", () => {
  test("CapEff and the bounding set equal the plan; NoNewPrivs is set", async () => {
    const { out } = await scratch.run([
      "grep",
      "-E",
      "^(CapEff|CapBnd|CapAmb|NoNewPrivs)",
      "/proc/self/status",
    ]);
    const mask = capabilityMask(defaultCapabilities).toString(16).padStart(16, "0");
    expect(out.map((l) => l.replace(/\s+/, " "))).toEqual([
      `CapEff: ${mask}`,
      `CapBnd: ${mask}`,
      "CapAmb: 0000000000000000",
      "NoNewPrivs: 1",
    ]);
  });

  test("a non-root user keeps only ambient capabilities, with its groups", async () => {
    const { out } = await scratch.run(
      ["sh", "-c", "id; grep -E '^Cap(Eff|Amb)' /proc/self/status"],
      (p) => {
        p.user = { uid: 1000, gid: 1000, additionalGids: [10, 20] };
        const bind = capabilityMask(["CAP_NET_BIND_SERVICE"]);
        p.capabilities = {
          effective: bind,
          permitted: bind,
          inheritable: bind,
          bounding: bind,
          ambient: bind,
        };
      },
    );
    expect(out[0]).toBe("uid=1000 gid=1000 groups=10,20");
    expect(out.slice(1).map((l) => l.replace(/\s+/, " "))).toEqual([
      "CapEff: 0000000000000400",
      "CapAmb: 0000000000000400",
    ]);
  });

  test("rlimits are applied", async () => {
    const { out } = await scratch.run(["sh", "-c", "ulimit -n; ulimit -Hn"], (p) => {
      p.rlimits = [{ resource: rlimitNumbers["RLIMIT_NOFILE"]!, soft: 256n, hard: 512n }];
    });
    expect(out).toEqual(["256", "512"]);
  });

  test("a syscall denied by the seccomp profile fails with the profile's errno", async () => {
    const { out, err } = await scratch.run(
      ["sh", "-c", "mkdir /tmp/d || echo denied; echo still-alive"],
      (p) => {
        p.seccomp = {
          defaultAction: "SCMP_ACT_ALLOW",
          defaultErrnoRet: 1,
          architectures: ["x86_64", "x86", "x32"],
          flags: [],
          rules: ["mkdir", "mkdirat"].map((syscall) => ({
            action: "SCMP_ACT_ERRNO",
            errnoRet: 38,
            syscall,
            args: [],
          })),
        };
      },
    );
    expect(out).toEqual(["denied", "still-alive"]);
    expect(err.join("\n")).toMatch(/Function not implemented/);
  });

  test("a compiled seccomp filter is cached and reused", async () => {
    const seccomp = {
      defaultAction: "SCMP_ACT_ALLOW",
      defaultErrnoRet: 1,
      architectures: ["x86_64", "x86", "x32"],
      flags: [],
      rules: ["mkdir", "mkdirat"].map((syscall) => ({
        action: "SCMP_ACT_ERRNO",
        errnoRet: 38,
        syscall,
        args: [],
      })),
    };
    let cacheFile = "";
    for (let i = 0; i < 2; i++) {
      const { out } = await scratch.run(["sh", "-c", "mkdir /tmp/d || echo denied"], (p) => {
        cacheFile = join(p.rootfs, "..", seccompCacheName(seccomp));
        p.seccomp = seccomp;
        p.seccompCacheFile = cacheFile;
      });
      expect(out).toEqual(["denied"]);
      expect(statSync(cacheFile).size % 8).toBe(0); // struct sock_filter[]
    }
    expect(seccompCacheName(seccomp)).toMatch(/^[0-9a-f]{64}\.bpf$/);
  });

  test("seccomp argument conditions select which calls are denied", async () => {
    // kill(pid, SIGUSR1) is denied, kill(pid, 0) is not
    const script = "kill -USR1 $$ || echo usr1-denied; kill -0 $$ && echo sig0-ok";
    const { out } = await scratch.run(["sh", "-c", script], (p) => {
      p.seccomp = {
        defaultAction: "SCMP_ACT_ALLOW",
        defaultErrnoRet: 1,
        architectures: [],
        flags: [],
        rules: [
          {
            action: "SCMP_ACT_ERRNO",
            errnoRet: 1,
            syscall: "kill",
            args: [{ index: 1, op: "SCMP_CMP_EQ", value: 10n, valueTwo: 0n }],
          },
        ],
      };
    });
    expect(out).toEqual(["usr1-denied", "sig0-ok"]);
  });

  test("oom_score_adj is applied, and a negative value is clamped instead of failing", async () => {
    const up = await scratch.run(["cat", "/proc/self/oom_score_adj"], (p) => {
      p.oomScoreAdj = 500;
    });
    expect(up.out).toEqual(["500"]);
    const down = await scratch.run(["cat", "/proc/self/oom_score_adj"], (p) => {
      p.oomScoreAdj = -999;
    });
    expect(down.status.exitCode).toBe(0);
    expect(Number(down.out[0])).toBeGreaterThan(-999);
  });

  test("namespaced sysctls are written; values cannot carry a second setting (CVE-2022-0811)", async () => {
    const ok = await scratch.run(
      ["cat", "/proc/sys/kernel/shm_rmid_forced", "/proc/sys/net/ipv4/ping_group_range"],
      (p) => {
        p.sysctls = [
          ["kernel.shm_rmid_forced", "1"],
          ["net.ipv4.ping_group_range", "0 2147483647"],
        ];
      },
    );
    expect(ok.out.map((l) => l.replace(/\s+/g, " "))).toEqual(["1", "0 2147483647"]);
    for (const [key, value] of [
      ["kernel.shm_rmid_forced", "1+kernel.core_pattern=|/tmp/evil"],
      ["kernel.shm_rmid_forced", "1\nkernel.core_pattern=x"],
      ["kernel.core_pattern", "|/tmp/evil"],
      ["kernel/../../core_pattern", "1"],
    ] as const) {
      const { plan } = scratch.bundle(["true"], (p) => {
        p.sysctls = [[key, value]];
      });
      await expect(createContainer(plan)).rejects.toMatchObject({
        kind: "InvalidArgument",
        message: expect.stringMatching(/sysctl/),
      });
    }
    expect(readFileSync("/proc/sys/kernel/core_pattern", "utf8")).not.toMatch(/evil/);
  });

  test("the process has only fds 0-2 open at exec", async () => {
    const { plan, stateDir } = scratch.bundle(["sleep", "30"]);
    const { pid } = await createContainer(plan);
    scratch.track(pid);
    startContainer(stateDir);
    for (let i = 0; i < 100 && readFileSync(`/proc/${pid}/comm`, "utf8").trim() !== "sleep"; i++)
      await new Promise((r) => setTimeout(r, 10));
    expect(readdirSync(`/proc/${pid}/fd`).sort()).toEqual(["0", "1", "2"]);
  });
});

describe("lifecycle", () => {
  test("create sets up without running; start runs the process", async () => {
    const { plan, stateDir, rootfs } = scratch.bundle(["touch", "/tmp/ran"]);
    const { pid } = await createContainer(plan);
    scratch.track(pid);
    await new Promise((r) => setTimeout(r, 100));
    expect(existsSync(join(rootfs, "tmp", "ran"))).toBe(false);
    expect(readFileSync(join(stateDir, "pid"), "utf8").trim()).toBe(String(pid));
    startContainer(stateDir);
    const status = await waitForExit(stateDir);
    expect(status.exitCode).toBe(0);
    expect(existsSync(join(rootfs, "tmp", "ran"))).toBe(true);
  });

  test("exit codes and signals are recorded", async () => {
    const seven = await scratch.run(["sh", "-c", "exit 7"]);
    expect(seven.status).toMatchObject({ exitCode: 7, signal: 0, oomKilled: false });
    expect(seven.status.exitedAtNs).toBeGreaterThan(BigInt(Date.now() - 60_000) * 1_000_000n);

    const { plan, stateDir } = scratch.bundle(["sleep", "30"]);
    const { pid } = await createContainer(plan);
    startContainer(stateDir);
    await new Promise((r) => setTimeout(r, 50));
    process.kill(pid, "SIGKILL");
    expect(await waitForExit(stateDir)).toMatchObject({ exitCode: 137, signal: 9 });
  });

  test("a missing executable fails create with stage and errno", async () => {
    const { plan } = scratch.bundle(["/bin/nope"]);
    plan.args = ["nope"];
    await expect(createContainer(plan)).rejects.toMatchObject({
      name: "SystemError",
      code: "ENOENT",
      op: "skiff-shim exec",
    });
  });

  test("the exit file says OOM-killed when the memory cgroup killed the process", async () => {
    const cg = makeCgroups(["memory"]);
    try {
      const dir = cg.dirs[0]!;
      writeFileSync(join(dir, "memory.limit_in_bytes"), String(16 << 20));
      const { status } = await scratch.run(
        ["dd", "if=/dev/zero", "of=/dev/shm/fill", "bs=1M", "count=60"],
        (p) => {
          p.cgroupV1 = [dir];
          p.oomEventsPath = join(dir, "memory.oom_control");
        },
      );
      expect(status).toMatchObject({ signal: 9, oomKilled: true });
    } finally {
      await cg.remove();
    }
  });
});

describe("escapes stay closed", () => {
  test("a working directory under /proc/self/fd cannot reach the host (CVE-2024-21626)", async () => {
    for (const fd of [3, 4, 5, 6, 7, 8]) {
      const { plan } = scratch.bundle(["true"], (p) => {
        p.cwd = `/proc/self/fd/${fd}`;
      });
      await expect(createContainer(plan)).rejects.toMatchObject({ op: "skiff-shim cwd" });
    }
  });

  test("a masked or read-only path replaced by a symlink is refused (CVE-2025-31133)", async () => {
    for (const kind of ["maskedPaths", "readonlyPaths"] as const) {
      const { plan, rootfs } = scratch.bundle(["true"], (p) => {
        p[kind] = ["/etc/hidden"];
      });
      symlinkSync("/proc/sys/kernel/core_pattern", join(rootfs, "etc", "hidden"));
      await expect(createContainer(plan)).rejects.toMatchObject({ code: "ELOOP" });
    }
  });

  test("a /dev/console symlink cannot redirect the console bind (CVE-2025-52565)", async () => {
    const { plan, rootfs } = scratch.bundle(["true"], (p) => {
      p.terminal = true;
      p.mounts = p.mounts!.filter((m) => m.destination === "/proc");
      p.devices = [];
      p.symlinks = [];
      p.maskedPaths = [];
    });
    symlinkSync("/proc/sys/kernel/core_pattern", join(rootfs, "dev", "console"));
    await expect(createContainer(plan)).rejects.toMatchObject({
      op: "skiff-shim console",
      code: "ELOOP",
    });
  });

  test("a mount target through a symlink stays inside the rootfs", async () => {
    const { out } = await scratch.run(["sh", "-c", "touch /escape/f && ls /tmp/inside"], (p) => {
      symlinkSync("../../../../../../tmp/inside", join(p.rootfs, "escape"));
      mkdirSync(join(p.rootfs, "tmp", "inside"));
      p.mounts!.push({
        source: "tmpfs",
        destination: "/escape",
        type: "tmpfs",
        flags: 0,
        data: "",
        propagation: 0,
        recursiveAttrSet: 0,
        recursiveAttrClear: 0,
      });
    });
    expect(out).toEqual(["f"]);
    expect(existsSync("/tmp/inside")).toBe(false);
  });
});
