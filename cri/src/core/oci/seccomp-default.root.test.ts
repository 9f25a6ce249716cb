/**
 * The RuntimeDefault profile on the real kernel: loaded through libseccomp by a tiny
 * loader compiled for this test (the same library skiff-shim uses), then programs run
 * under it. Shows the profile loads, ordinary programs (busybox, Node with its threads,
 * which need clone3's ENOSYS fallback) work, and the blocked calls fail with EPERM.
 * Needs gcc and libseccomp-dev (both required to build skiff-shim).
 */

import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

import { defaultCapabilities } from "./defaults.js";
import { runtimeDefaultProfile } from "./seccomp-default.js";
import type { LinuxSeccomp } from "./spec.js";

const run = promisify(execFile);

/** Reads rules as text lines, builds the filter with libseccomp, loads it, execs argv. */
const loaderSource = String.raw`
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static enum scmp_compare op_of(const char *s) {
  if (!strcmp(s, "SCMP_CMP_NE")) return SCMP_CMP_NE;
  if (!strcmp(s, "SCMP_CMP_LT")) return SCMP_CMP_LT;
  if (!strcmp(s, "SCMP_CMP_LE")) return SCMP_CMP_LE;
  if (!strcmp(s, "SCMP_CMP_EQ")) return SCMP_CMP_EQ;
  if (!strcmp(s, "SCMP_CMP_GE")) return SCMP_CMP_GE;
  if (!strcmp(s, "SCMP_CMP_GT")) return SCMP_CMP_GT;
  if (!strcmp(s, "SCMP_CMP_MASKED_EQ")) return SCMP_CMP_MASKED_EQ;
  fprintf(stderr, "bad op %s\n", s);
  exit(100);
}

static uint32_t arch_of(const char *s) {
  if (!strcmp(s, "SCMP_ARCH_X86_64")) return SCMP_ARCH_X86_64;
  if (!strcmp(s, "SCMP_ARCH_X86")) return SCMP_ARCH_X86;
  if (!strcmp(s, "SCMP_ARCH_X32")) return SCMP_ARCH_X32;
  if (!strcmp(s, "SCMP_ARCH_AARCH64")) return SCMP_ARCH_AARCH64;
  if (!strcmp(s, "SCMP_ARCH_ARM")) return SCMP_ARCH_ARM;
  fprintf(stderr, "bad arch %s\n", s);
  exit(100);
}

int main(int argc, char **argv) {
  if (argc < 3) return 100;
  FILE *f = fopen(argv[1], "r");
  if (!f) return 100;
  unsigned defaultErrno;
  if (fscanf(f, "default %u\n", &defaultErrno) != 1) return 100;
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(defaultErrno));
  if (!ctx) return 100;
  char word[64], name[64];
  while (fscanf(f, "%63s", word) == 1) {
    if (!strcmp(word, "arch")) {
      if (fscanf(f, "%63s", name) != 1) return 100;
      int rc = seccomp_arch_add(ctx, arch_of(name));
      if (rc != 0 && rc != -EEXIST) { fprintf(stderr, "arch %s: %d\n", name, rc); return 100; }
      continue;
    }
    unsigned errnoRet, nargs;
    if (fscanf(f, "%63s %u %u", name, &errnoRet, &nargs) != 3 || nargs > 6) return 100;
    struct scmp_arg_cmp cmps[6];
    for (unsigned i = 0; i < nargs; i++) {
      char op[32];
      unsigned long long a, b;
      unsigned idx;
      if (fscanf(f, "%u %31s %llu %llu", &idx, op, &a, &b) != 4) return 100;
      cmps[i] = (struct scmp_arg_cmp){idx, op_of(op), a, b};
    }
    uint32_t action = !strcmp(word, "allow") ? SCMP_ACT_ALLOW : SCMP_ACT_ERRNO(errnoRet);
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) continue; /* unknown to this libseccomp: stays denied */
    int rc = seccomp_rule_add_array(ctx, action, nr, nargs, cmps);
    if (rc != 0) { fprintf(stderr, "rule %s: %d\n", name, rc); return 100; }
  }
  if (seccomp_load(ctx) != 0) { perror("seccomp_load"); return 100; }
  execv(argv[2], argv + 2);
  perror("execv");
  return 127;
}
`;

/** The loader's input: one line per (syscall name, rule). */
function loaderInput(profile: LinuxSeccomp): string {
  const lines = [`default ${profile.defaultErrnoRet ?? 1}`];
  for (const arch of profile.architectures ?? []) lines.push(`arch ${arch}`);
  for (const rule of profile.syscalls ?? []) {
    const action = rule.action === "SCMP_ACT_ALLOW" ? "allow" : "errno";
    const args = (rule.args ?? []).map((a) => `${a.index} ${a.op} ${a.value} ${a.valueTwo ?? 0}`);
    for (const name of rule.names) {
      lines.push([action, name, rule.errnoRet ?? 1, args.length, ...args].join(" "));
    }
  }
  return lines.join("\n") + "\n";
}

let dir = "";
let loader = "";
let profileFile = "";

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "skiff-seccomp-"));
  loader = join(dir, "load-seccomp");
  await writeFile(join(dir, "load-seccomp.c"), loaderSource);
  await run("gcc", ["-O1", "-Wall", "-o", loader, join(dir, "load-seccomp.c"), "-lseccomp"]);
  profileFile = join(dir, "profile.txt");
  const profile = runtimeDefaultProfile([...defaultCapabilities]);
  await writeFile(profileFile, loaderInput(profile));
  await mkdir(join(dir, "mnt"));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Runs argv under the profile; resolves with the exit code and output. */
async function confined(...argv: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run(loader, [profileFile, ...argv], { timeout: 30_000 });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : -1, out: `${e.stdout}${e.stderr}` };
  }
}

describe("RuntimeDefault seccomp on the kernel", () => {
  test("a shell and ordinary commands run", async () => {
    const r = await confined(
      "/bin/busybox",
      "sh",
      "-c",
      "echo hello | /bin/busybox cat; ls / >/dev/null",
    );
    expect(r).toEqual({ code: 0, out: "hello\n" });
  });

  test("Node runs with its worker threads (clone3 falls back to clone)", async () => {
    const script =
      "const fs=require('fs');fs.readFile('/proc/self/status','utf8',(e,t)=>{if(e)throw e;" +
      "console.log(t.includes('Seccomp:\\t2')?'filtered':'unfiltered')})";
    const r = await confined(process.execPath, "-e", script);
    expect(r).toEqual({ code: 0, out: "filtered\n" });
  });

  test("unshare of a network namespace is refused with EPERM", async () => {
    const r = await confined("/bin/busybox", "unshare", "-n", "/bin/busybox", "true");
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/Operation not permitted/);
  });

  test("mount is refused with EPERM", async () => {
    const r = await confined("/bin/busybox", "mount", "-t", "tmpfs", "none", join(dir, "mnt"));
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/Operation not permitted|permission denied/i);
  });

  test("chroot works with CAP_SYS_CHROOT, a default capability", async () => {
    const r = await confined("/bin/busybox", "chroot", "/", "/bin/busybox", "true");
    expect(r.code).toBe(0);
  });
});
