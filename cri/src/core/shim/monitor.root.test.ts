/**
 * skiff-shim's monitor on the real kernel: CRI logs, log reopen, attach socket, tty,
 * surviving its parent's SIGKILL, and its memory (PSS).
 */
import { afterEach, describe, expect, test } from "@jest/globals";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, renameSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";

import {
  createContainer,
  startContainer,
  waitForExit,
  reopenContainerLog,
  statePaths,
  resizeTerminal,
} from "./shim-client.js";
import { Scratch, logLines, readLog } from "./shim-test-util.js";
import { attach } from "./attach-client.js";

const scratch = new Scratch();
afterEach(() => scratch.cleanup());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  for (const end = Date.now() + ms; !check(); await sleep(10))
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
}

describe("CRI log", () => {
  test("records carry RFC3339Nano time, stream, P/F tags, and long lines are split", async () => {
    const script = "printf abc; sleep 0.2; printf 'def\\n'; printf '%150s\\n' x; echo oops >&2";
    const { plan } = await scratch.run(["sh", "-c", script], (p) => {
      p.logMaxLine = 64;
    });
    const records = readLog(plan.logPath!);
    for (const r of records) expect(r.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    const out = records
      .filter((r) => r.stream === "stdout")
      .map((r) => `${r.tag} ${r.text.length}`);
    expect(out).toEqual(["P 3", "F 3", "P 64", "P 64", "F 22"]);
    expect(logLines(plan.logPath!)).toEqual(["abcdef", " ".repeat(149) + "x"]);
    expect(logLines(plan.logPath!, "stderr")).toEqual(["oops"]);
  });

  test("the monitor reopens its log on request (ReopenContainerLog)", async () => {
    const { plan, stateDir, rootfs } = scratch.bundle([
      "sh",
      "-c",
      "echo one; while [ ! -e /tmp/go ]; do sleep 0.02; done; echo two",
    ]);
    const log = plan.logPath!;
    const { pid } = await createContainer(plan);
    scratch.track(pid);
    startContainer(stateDir);
    await until(() => logLines(log).includes("one"), "first line");
    renameSync(log, `${log}.1`);
    reopenContainerLog(stateDir);
    await sleep(50);
    mkdirSync(join(rootfs, "tmp", "go"));
    await waitForExit(stateDir);
    expect(logLines(`${log}.1`)).toEqual(["one"]);
    expect(logLines(log)).toEqual(["two"]);
  });
});

/** Frames of the attach socket: [type u8][length u32 BE][payload]. */
function frame(type: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(5);
  h.writeUInt8(type, 0);
  h.writeUInt32BE(payload.length, 1);
  return Buffer.concat([h, payload]);
}

describe("attach and tty", () => {
  test("the attach socket feeds stdin and streams stdout frames", async () => {
    const { plan, stateDir } = scratch.bundle(["cat"], (p) => {
      p.stdin = true;
    });
    const { pid } = await createContainer(plan);
    scratch.track(pid);
    const sock = connect(statePaths(stateDir).attach);
    await new Promise<void>((resolve, reject) =>
      sock.once("connect", resolve).once("error", reject),
    );
    let received = Buffer.alloc(0);
    sock.on("data", (d: Buffer) => (received = Buffer.concat([received, d])));
    startContainer(stateDir);
    sock.write(frame(0, Buffer.from("hello\n")));
    await until(() => received.length >= 11, "stdout frame");
    expect(received.readUInt8(0)).toBe(1);
    expect(received.subarray(5, 11).toString()).toBe("hello\n");
    sock.write(frame(3, Buffer.alloc(0)));
    expect(await waitForExit(stateDir)).toMatchObject({ exitCode: 0 });
    sock.destroy();
    expect(logLines(plan.logPath!)).toEqual(["hello"]);
  });

  test("a client that writes once the container has exited still gets all its output", async () => {
    const { plan, stateDir } = scratch.bundle(["sh", "-c", "echo first; echo last"], (p) => {
      p.stdin = true;
    });
    const { pid } = await createContainer(plan);
    scratch.track(pid);
    const attachment = await attach(stateDir);
    let out = "";
    attachment.stdout.on("data", (d: Buffer) => (out += d.toString()));
    startContainer(stateDir);
    // this client reads nothing until the container is gone, then writes (its stdin
    // ended): before, the monitor had closed the socket and the write's EPIPE made
    // the client drop the output it had not read
    const exitFile = statePaths(stateDir).exit;
    const pause = new Int32Array(new SharedArrayBuffer(4));
    for (let i = 0; i < 500 && !existsSync(exitFile); i++) Atomics.wait(pause, 0, 0, 10);
    Atomics.wait(pause, 0, 0, 100);
    attachment.closeStdin();
    await attachment.closed;
    expect(out).toBe("first\nlast\n");
  });

  test("with a terminal, stdio is a pty and /dev/console is bound to it", async () => {
    const { out } = await scratch.run(
      ["sh", "-c", "[ -t 0 ] && [ -t 1 ] && echo tty; stat -c %t /dev/console"],
      (p) => {
        p.terminal = true;
      },
    );
    expect(out.map((l) => l.replace(/\r$/, ""))).toEqual(["tty", "88"]); // 0x88 = 136: pty slaves
  });

  test("the terminal is resized through the monitor", async () => {
    const { plan, stateDir } = scratch.bundle(["stty", "size"], (p) => {
      p.terminal = true;
    });
    const { pid } = await createContainer(plan);
    scratch.track(pid);
    resizeTerminal(stateDir, 40, 100);
    await sleep(50);
    startContainer(stateDir);
    await waitForExit(stateDir);
    expect(logLines(plan.logPath!).map((l) => l.replace(/\r$/, ""))).toEqual(["40 100"]);
  });
  test("an attach client resizes the terminal with a resize frame", async () => {
    const { plan, stateDir } = scratch.bundle(["stty", "size"], (p) => {
      p.terminal = true;
    });
    const { pid } = await createContainer(plan);
    scratch.track(pid);
    const sock = connect(statePaths(stateDir).attach);
    await new Promise<void>((resolve, reject) =>
      sock.once("connect", resolve).once("error", reject),
    );
    sock.write(frame(4, Buffer.from([0, 30, 0, 90]))); // rows 30, cols 90
    await sleep(50);
    startContainer(stateDir);
    await waitForExit(stateDir);
    sock.destroy();
    expect(logLines(plan.logPath!).map((l) => l.replace(/\r$/, ""))).toEqual(["30 90"]);
  });
});

describe("monitor process", () => {
  test("the monitor survives its parent's SIGKILL and still writes the exit file", async () => {
    const { plan, stateDir } = scratch.bundle(["sh", "-c", "exit 5"], (p) => {
      delete p.capabilities; // keeps the plan JSON-serialisable for the child
    });
    const client = new URL("./shim-client.js", import.meta.url).href;
    const script = `
      import { createContainer } from ${JSON.stringify(client)};
      const plan = JSON.parse(process.argv[1]);
      const r = await createContainer(plan);
      console.log(JSON.stringify(r));
      setInterval(() => {}, 1000);`;
    const child = spawn(
      process.execPath,
      ["--input-type=module", "-e", script, JSON.stringify(plan)],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    await until(() => out.includes("}"), "create in the child", 10_000);
    const { pid, monitorPid } = JSON.parse(out) as { pid: number; monitorPid: number };
    scratch.track(pid);
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    expect(() => process.kill(monitorPid, 0)).not.toThrow();
    startContainer(stateDir);
    expect(await waitForExit(stateDir)).toMatchObject({ exitCode: 5 });
  });

  // PSS divides the pages a monitor shares (skiff-shim's text, libc) among the
  // processes mapping them, so "per container" is measured with a few running:
  // a lone monitor also carries all of skiff-shim's 150 KiB of text alone.
  test("each monitor's PSS is at most 400 KiB with three containers running", async () => {
    const monitors: number[] = [];
    for (let i = 0; i < 3; i++) {
      const { plan, stateDir } = scratch.bundle(["sleep", "30"]);
      const { pid, monitorPid } = await createContainer(plan);
      scratch.track(pid);
      startContainer(stateDir);
      monitors.push(monitorPid);
    }
    await sleep(100);
    for (const monitorPid of monitors) {
      const rollup = readFileSync(`/proc/${monitorPid}/smaps_rollup`, "utf8");
      const pss = Number(/^Pss:\s+(\d+) kB/m.exec(rollup)?.[1]);
      console.log(`monitor PSS ${pss} kB`);
      expect(pss).toBeGreaterThan(0);
      expect(pss).toBeLessThanOrEqual(400);
    }
  });
});
