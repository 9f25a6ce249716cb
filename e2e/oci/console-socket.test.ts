/**
 * skiff-oci --console-socket as runc offers it (docs/terminals.md): the pty master of a
 * detached container's (or an exec's) terminal is sent over a unix socket, and whoever
 * receives it owns the console. The receiver is a small C program
 * (cri/native/tests/console-receiver.c, the role of runc's recvtty), since Node cannot
 * receive SCM_RIGHTS.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultSpec } from "../../cri/src/core/oci/defaults.js";
import { bin, repoRoot } from "../harness/skiff-cri.js";
import { busyboxBundle, writeSpec } from "../harness/bundle.js";
import { removeCgroupTree } from "../harness/cgroups.js";

const ids = ["cs-run", "cs-exec", "cs-bad"];
const cgroupBase = `skiff-test-oci-console-${process.pid}`;
const receivers: ChildProcess[] = [];
let work: string;
let bundle: string;
let root: string;
let receiver: string;

const oci = (...args: string[]) =>
  spawnSync(bin("skiff-oci"), ["--root", root, ...args], { encoding: "utf8", timeout: 30_000 });

function useSpec(args: string[], terminal: boolean): void {
  const spec = defaultSpec({ args, terminal });
  spec.linux!.cgroupsPath = `${cgroupBase}/c`;
  writeSpec(bundle, spec);
}

/** Starts the receiver on a fresh socket; resolves once it listens. */
async function listen(
  name: string,
  send: string,
  expectText: string,
  drain = false,
): Promise<{ socket: string; done: Promise<{ code: number | null; out: string }> }> {
  const socket = join(work, `${name}.sock`);
  const child = spawn(receiver, [socket, send, expectText, ...(drain ? ["drain"] : [])], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  receivers.push(child);
  let out = "";
  const done = new Promise<{ code: number | null; out: string }>((res) =>
    child.on("close", (code) => res({ code, out })),
  );
  await new Promise<void>((res, rej) => {
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("listening\n")) res();
    });
    child.on("close", () => rej(new Error(`receiver exited early: ${out}`)));
  });
  return { socket, done };
}

async function waitStopped(id: string): Promise<string> {
  let status = "";
  for (let i = 0; i < 100; i++) {
    status = JSON.parse(oci("state", id).stdout || "{}").status;
    if (status === "stopped") break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return status;
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "skiff-oci-console-"));
  bundle = busyboxBundle(join(work, "bundle"));
  root = join(work, "state");
  receiver = join(work, "console-receiver");
  const cc = spawnSync(
    "gcc",
    [
      "-std=gnu11",
      "-Wall",
      "-Wextra",
      "-Werror",
      "-D_GNU_SOURCE",
      "-O2",
      "-o",
      receiver,
      join(repoRoot, "cri/native/tests/console-receiver.c"),
    ],
    { encoding: "utf8" },
  );
  if (cc.status !== 0) throw new Error(`gcc: ${cc.stderr}`);
});

afterAll(() => {
  for (const r of receivers) r.kill("SIGKILL");
  for (const id of ids) oci("delete", "--force", id);
  rmSync(work, { recursive: true, force: true });
  removeCgroupTree(cgroupBase);
});

describe("skiff-oci --console-socket", () => {
  test("run -d sends the container's pty master; the receiver owns the console", async () => {
    useSpec(["sh"], true);
    const { socket, done } = await listen("run", "echo hi-$((1+2))\n", "hi-3");
    const run = oci("run", "-d", "--console-socket", socket, "-b", bundle, "cs-run");
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    const { code, out } = await done;
    expect(out).toContain("name /dev/ptmx\n");
    expect(out).toMatch(/hi-3\r?\n/); // the shell's answer, not the echoed input
    expect(code).toBe(0);
    // The receiver has exited: its master was the only one, so the shell got a hangup.
    expect(await waitStopped("cs-run")).toBe("stopped");
    expect(oci("delete", "cs-run").status).toBe(0);
  });

  test("exec -t --console-socket: the exec's pty goes to the socket, exec returns its code", async () => {
    useSpec(["sleep", "1000"], false);
    expect(oci("run", "-d", "-b", bundle, "cs-exec").status).toBe(0);
    const { socket, done } = await listen("exec", "echo hi-$((1+2)); exit 3\n", "hi-3", true);
    const exec = oci("exec", "-t", "--console-socket", socket, "cs-exec", "sh");
    expect(exec.stderr).toBe("");
    expect(exec.status).toBe(3);
    const { code, out } = await done;
    expect(out).toMatch(/hi-3\r?\n/);
    expect(code).toBe(0);
    const noTty = oci("exec", "--console-socket", socket, "cs-exec", "true");
    expect(noTty.status).toBe(1);
    expect(noTty.stderr).toContain("--console-socket");
    expect(oci("delete", "-f", "cs-exec").status).toBe(0);
  });

  test("usage errors as runc's: a socket without a terminal, a detached terminal without a socket", () => {
    const socket = join(work, "unused.sock");
    useSpec(["true"], false);
    for (const args of [["create"], ["run", "-d"]]) {
      const r = oci(...args, "--console-socket", socket, "-b", bundle, "cs-bad");
      expect(r.status).toBe(1);
      expect(r.stderr).toContain("cannot use --console-socket without a tty");
    }
    useSpec(["sh"], true);
    for (const args of [["create"], ["run", "-d"]]) {
      const r = oci(...args, "-b", bundle, "cs-bad");
      expect(r.status).toBe(1);
      expect(r.stderr).toContain("without --console-socket");
    }
    const foreground = oci("run", "--console-socket", socket, "-b", bundle, "cs-bad");
    expect(foreground.status).toBe(1);
    expect(existsSync(join(root, "cs-bad"))).toBe(false);
    expect(existsSync(socket)).toBe(false);
  });
});
