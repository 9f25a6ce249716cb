/**
 * crictl (cri-tools, client-go's SPDY and WebSocket clients) against Skiff's streaming
 * server: a tiny runtime.v1 RuntimeService in the test process answers Exec, ExecSync,
 * Attach, PortForward and the status calls crictl makes, with URLs from a
 * StreamingServer backed by host processes.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as http from "node:http";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { toolPath } from "../harness/skiff-cri.js";
import { crictlArgs, startFakeRuntime, type FakeRuntime } from "./fake-runtime.js";

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], input?: string, timeoutMs = 30_000): Promise<Run> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, {
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, HOME: tmpdir() },
    });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    p.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const t = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
    p.on("close", (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
    p.stdin.on("error", () => undefined);
    if (input !== undefined) p.stdin.end(input);
  });
}

describe("crictl against the streaming server", () => {
  let rt: FakeRuntime;
  let crictl: string;
  let web: http.Server;
  let webPort = 0;

  beforeAll(async () => {
    crictl = toolPath("crictl");
    rt = await startFakeRuntime();
    web = http.createServer((req, res) => res.end(`hello from ${req.url}`));
    await new Promise<void>((r) => web.listen(0, "127.0.0.1", r));
    webPort = (web.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await rt.close();
    await new Promise<void>((r) => web.close(() => r()));
  });

  const c = (args: string[], input?: string): Promise<Run> =>
    run(crictl, crictlArgs(rt.socket, args), input);

  test("crictl exec -s runs the command and returns its output", async () => {
    const r = await c(["exec", "-s", "ctr1", "sh", "-c", "echo sync-out"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("sync-out");
  });

  for (const transport of ["spdy", "websocket"]) {
    test(`crictl exec (${transport}): stdout, stderr and the exit code`, async () => {
      const r = await c([
        "exec",
        "-r",
        transport,
        "ctr1",
        "sh",
        "-c",
        "echo out; echo err >&2; exit 7",
      ]);
      expect(r.stdout).toBe("out\n");
      expect(r.stderr).toContain("err\n");
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/exit code 7/);
    });

    test(`crictl exec -i (${transport}): stdin reaches the process and its EOF ends it`, async () => {
      const r = await c(
        [
          "exec",
          "-i",
          "-r",
          transport,
          "ctr1",
          "sh",
          "-c",
          "tr a-z A-Z; echo end; : e2e-stream-mark",
        ],
        "piped input\n",
      );
      expect(r.code).toBe(0);
      expect(r.stdout).toBe("PIPED INPUT\nend\n");
    });
  }

  test("crictl exec -it through a pty sees the terminal size", async () => {
    const inner = [
      "stty rows 33 cols 77;",
      crictl,
      ...crictlArgs(rt.socket, [
        "exec",
        "-it",
        "ctr1",
        "sh",
        "-c",
        "'stty size; tty; : e2e-stream-mark'",
      ]),
    ].join(" ");
    const r = await run("/usr/bin/script", ["-qfec", inner, "/dev/null"], "");
    expect(r.stdout).toContain("33 77");
    expect(r.stdout).toMatch(/\/dev\/pts\/\d+/);
  });

  for (const transport of ["spdy", "websocket"]) {
    test(`crictl attach -i (${transport}) joins a running process`, async () => {
      const id = `att-${transport}`;
      rt.backend.startContainer(id, ["sh", "-c", "read l; echo got:$l; sleep 0.2"], {
        stdin: true,
      });
      const r = await c(["attach", "-i", "-r", transport, id], "line1\n");
      expect(r.stdout).toContain("got:line1");
    });
  }

  test("crictl exec -it over WebSocket (v5) through a pty sees the terminal size", async () => {
    const inner = [
      "stty rows 21 cols 63;",
      crictl,
      ...crictlArgs(rt.socket, [
        "exec",
        "-it",
        "-r",
        "websocket",
        "ctr1",
        "sh",
        "-c",
        "'stty size; : e2e-stream-mark'",
      ]),
    ].join(" ");
    const r = await run("/usr/bin/script", ["-qfec", inner, "/dev/null"], "");
    expect(r.stdout).toContain("21 63");
  });

  for (const transport of ["spdy", "websocket"]) {
    test(`crictl port-forward (${transport}) reaches a local HTTP server`, async () => {
      const p = spawn(
        crictl,
        crictlArgs(rt.socket, ["port-forward", "-r", transport, "pod1", `0:${webPort}`]),
        {
          stdio: ["ignore", "pipe", "pipe"],
        },
      );
      try {
        let out = "";
        p.stdout.on("data", (b: Buffer) => (out += b.toString()));
        p.stderr.on("data", (b: Buffer) => (out += b.toString()));
        let local = 0;
        for (let i = 0; i < 100 && local === 0; i++) {
          await sleep(50);
          const m = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(out);
          if (m) local = Number(m[1]);
        }
        expect(local).toBeGreaterThan(0);
        const bodies = await Promise.all(
          ["/a", "/b", "/c"].map(async (path) =>
            (await fetch(`http://127.0.0.1:${local}${path}`)).text(),
          ),
        );
        expect(bodies).toEqual(["hello from /a", "hello from /b", "hello from /c"]);
      } finally {
        p.kill("SIGINT");
        await new Promise((r) => p.once("close", r));
      }
    });
  }

  test("crictl exec over a TLS streaming server", async () => {
    const dir = mkdtempSync(join(tmpdir(), "skiff-tls-"));
    try {
      const made = spawnSync("openssl", [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=localhost",
        "-keyout",
        join(dir, "key.pem"),
        "-out",
        join(dir, "cert.pem"),
      ]);
      expect(made.status).toBe(0);
      const tls = await startFakeRuntime({
        tls: { cert: readFileSync(join(dir, "cert.pem")), key: readFileSync(join(dir, "key.pem")) },
      });
      try {
        expect(tls.streaming.url).toMatch(/^https:/);
        for (const transport of ["spdy", "websocket"]) {
          const r = await run(
            crictl,
            crictlArgs(tls.socket, ["exec", "-r", transport, "c", "echo", "secure"]),
          );
          expect(r.stdout).toBe("secure\n");
          expect(r.code).toBe(0);
        }
      } finally {
        await tls.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("nothing is left running after the sessions", async () => {
    for (
      let i = 0;
      i < 100 && (rt.streaming.activeSessions > 0 || rt.backend.runningExecs.length > 0);
      i++
    ) {
      await sleep(50);
    }
    expect(rt.backend.runningExecs).toEqual([]);
    expect(rt.streaming.activeSessions).toBe(0);
    const ps = spawnSync("pgrep", ["-f", "e2e-stream-mark"], { encoding: "utf8" });
    expect(ps.stdout.trim()).toBe("");
  });
});
