/**
 * `skiff-shim exec` on the real kernel: joining a running container, exit statuses, the
 * same security setup, tty relay, and the /proc/<pid>/exe overwrite (CVE-2019-5736).
 */
import { afterEach, describe, expect, test } from "@jest/globals";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";

import { shimBinary } from "./launch.js";
import { joinNamespacesOf, type NamespaceType, type ShimPlan } from "./plan.js";
import {
  createContainer,
  execInContainer,
  startContainer,
  waitForExit,
  type ExecResult,
} from "./shim-client.js";
import { makeCgroups } from "./shim-fixtures.js";
import { Scratch } from "./shim-test-util.js";

const scratch = new Scratch();
afterEach(() => scratch.cleanup());

const containerNs: NamespaceType[] = ["pid", "mount", "uts", "ipc", "network"];

async function running(edit?: Parameters<Scratch["bundle"]>[1]) {
  const b = scratch.bundle(["sleep", "60"], edit);
  const { pid } = await createContainer(b.plan);
  scratch.track(pid);
  startContainer(b.stateDir);
  for (let i = 0; i < 200 && readFileSync(`/proc/${pid}/comm`, "utf8").trim() !== "sleep"; i++)
    await new Promise((r) => setTimeout(r, 5));
  return { ...b, pid };
}

function execPlan(
  pid: number,
  args: string[],
  base: ShimPlan,
  extra: Partial<ShimPlan> = {},
): ShimPlan {
  return {
    namespaces: joinNamespacesOf(pid, containerNs),
    capabilities: base.capabilities,
    noNewPrivileges: true,
    env: ["PATH=/bin"],
    cwd: "/",
    args,
    ...extra,
  };
}

async function exec(plan: ShimPlan): Promise<ExecResult & { out: string }> {
  const { child, result } = execInContainer(plan, ["ignore", "pipe", "pipe"]);
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  const r = await result;
  return { ...r, out };
}

describe("exec", () => {
  test("joins the container's namespaces and cgroup", async () => {
    const cg = makeCgroups(["unified"]);
    try {
      const c = await running((p) => {
        p.cgroupV2 = cg.dirs[0]!;
      });
      const files = ["pid", "mnt", "uts", "ipc", "net"];
      const script = `for n in ${files.join(" ")}; do readlink /proc/self/ns/$n; done; hostname; cat /proc/self/cgroup`;
      const r = await exec(
        execPlan(c.pid, ["sh", "-c", script], c.plan, { cgroupV2: cg.dirs[0]! }),
      );
      expect(r.exitCode).toBe(0);
      const expected = files.map((n) => readlinkSync(`/proc/${c.pid}/ns/${n}`));
      const name = cg.dirs[0]!.split("/").pop()!;
      const lines = r.out.trim().split("\n");
      expect(lines.slice(0, 6)).toEqual([...expected, "skiff-test"]);
      expect(lines).toContain(`0::/${name}`);
    } finally {
      await scratch.cleanup();
      await cg.remove();
    }
  });

  test("returns the process's exit code and signal", async () => {
    const c = await running();
    expect(await exec(execPlan(c.pid, ["sh", "-c", "exit 3"], c.plan))).toMatchObject({
      exitCode: 3,
      signal: 0,
    });
    expect(await exec(execPlan(c.pid, ["sh", "-c", "kill -9 $$"], c.plan))).toMatchObject({
      exitCode: 137,
      signal: 9,
    });
  });

  test("applies the same security setup and leaves only fds 0-2", async () => {
    const c = await running();
    // "; true" keeps sh from exec'ing ls, so $$ is the exec'd process itself
    const script = "grep -E '^(CapEff|NoNewPrivs)' /proc/self/status; ls /proc/$$/fd; true";
    const r = await exec(
      execPlan(c.pid, ["sh", "-c", script], c.plan, {
        user: { uid: 1234, gid: 1234, additionalGids: [] },
      }),
    );
    const lines = r.out
      .trim()
      .split("\n")
      .map((l) => l.replace(/\s+/, " "));
    expect(lines).toEqual(["CapEff: 0000000000000000", "NoNewPrivs: 1", "0", "1", "2"]);
  });

  test("a missing executable is an error naming the stage", async () => {
    const c = await running();
    await expect(exec(execPlan(c.pid, ["nope"], c.plan))).rejects.toMatchObject({
      op: "skiff-shim exec",
      code: "ENOENT",
    });
  });

  test("with a terminal, the shim relays a pty from the container's own /dev/pts", async () => {
    const c = await running();
    const r = await exec(
      execPlan(
        c.pid,
        [
          "sh",
          "-c",
          "[ -t 0 ] && [ -t 1 ] && echo is-a-tty; ls /dev/pts; [ /proc/self/fd/0 -ef /dev/pts/0 ] && echo pts-0",
        ],
        c.plan,
        { terminal: true },
      ),
    );
    expect(r.exitCode).toBe(0);
    // the pty is the container devpts' first, so its name resolves inside
    expect(r.out.replace(/\r/g, "").split(/\s+/).filter(Boolean)).toEqual([
      "is-a-tty",
      "0",
      "ptmx",
      "pts-0",
    ]);
  });

  test("the runtime binary cannot be overwritten through /proc/<pid>/exe (CVE-2019-5736)", async () => {
    const before = createHash("sha256").update(readFileSync(shimBinary())).digest("hex");
    const a = await running();
    // a second container joins a's pid namespace and stays created: its setup process
    // (skiff-shim) is visible to a's processes until it is started
    const b = scratch.bundle(["true"], (p) => {
      p.namespaces = p.namespaces.filter((n) => n.type !== "pid");
      p.namespaces.push({ type: "pid", path: `/proc/${a.pid}/ns/pid` });
    });
    const { pid: bPid } = await createContainer(b.plan);
    scratch.track(bPid);
    expect(readlinkSync(`/proc/${bPid}/exe`)).toMatch(/^\/memfd:skiff-shim/);
    // the attack: hold the shim's exe open, wait until the shim has exec'd, then write
    const attack = [
      "for p in /proc/[0-9]*; do",
      '  [ "$(cat $p/comm)" = memfd:skiff-shi ] && exec 5<$p/exe && echo opened',
      "done",
      "while [ ! -e /tmp/go ]; do sleep 0.02; done",
      "echo x 2>/dev/null >> /proc/self/fd/5 && echo wrote || echo refused",
    ].join("\n");
    // every capability this machine allows, CAP_SYS_PTRACE included
    const bnd = /^CapBnd:\s+([0-9a-f]+)/m.exec(readFileSync("/proc/self/status", "utf8"))![1]!;
    const all = BigInt(`0x${bnd}`);
    const caps = { effective: all, permitted: all, inheritable: 0n, bounding: all, ambient: 0n };
    const { child, result } = execInContainer(
      execPlan(a.pid, ["sh", "-c", attack], a.plan, { capabilities: caps }),
      ["ignore", "pipe", "pipe"],
    );
    let out = "";
    child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    for (let i = 0; i < 200 && !out.includes("opened"); i++)
      await new Promise((r) => setTimeout(r, 10));
    expect(out).toContain("opened");
    startContainer(b.stateDir);
    await waitForExit(b.stateDir);
    mkdirSync(join(a.rootfs, "tmp", "go"));
    await result;
    expect(out.trim().split("\n")).toEqual(["opened", "refused"]);
    const after = createHash("sha256").update(readFileSync(shimBinary())).digest("hex");
    expect(after).toBe(before);
  });
});
