/**
 * `skiff exec`, `skiff attach` and `skiff port-forward` against a real skiff-cri: a pod
 * on a CNI bridge of this file's own, busybox containers from a real registry. exec:
 * output, exit code, stdin and its EOF, a terminal (through script(1), and through a
 * Python pty that resizes it: SIGWINCH reaches the remote terminal); attach: a
 * container's output, leaving it running (Ctrl-C, and Ctrl-P Ctrl-Q in a terminal);
 * port-forward: busybox httpd in the pod through 127.0.0.1, several connections, a
 * refused one reported while the session goes on.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync } from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { rpc } from "../../cri/src/cli/client.js";
import { buildImage, buildLayer, busyboxEntries, pushImage } from "../harness/images.js";
import { startRegistry, type TestRegistry } from "../harness/registry.js";
import {
  bin,
  bridgeNetwork,
  cniBinArgs,
  removeDirs,
  startDaemon,
  tempDirs,
  type BridgeNetwork,
  type DaemonDirs,
  type RunningDaemon,
} from "../harness/skiff-cri.js";
import { runSkiff } from "../images/cli.js";

const WEB_PORT = 8080;
const CLOSED_PORT = 8081;
const page = "hello through port-forward\n";

let registry: TestRegistry | undefined;
let dirs: DaemonDirs | undefined;
let network: BridgeNetwork | undefined;
let daemon: RunningDaemon | undefined;
let image = "";
let podId = "";
let podConfig: object = {};
let shell = ""; // a running container: sleep
const children: ChildProcess[] = [];

const runtime = <T>(method: string, request: object): Promise<T> =>
  rpc<T>(daemon!.clients.runtime, method, request);
const skiff = (args: string[], options: Parameters<typeof runSkiff>[2] = {}) =>
  runSkiff(dirs!.socket, args, options);

function testImage() {
  return buildImage({
    layers: [
      buildLayer(busyboxEntries()),
      buildLayer([
        ...["httpd", "stty", "tty", "wc", "grep", "tr"].map((applet) => ({
          name: `bin/${applet}`,
          type: "symlink" as const,
          linkname: "busybox",
        })),
        { name: "www", type: "directory" as const, mode: 0o755 },
        { name: "www/index.html", type: "file" as const, body: page },
      ]),
    ],
  });
}

async function createStarted(name: string, command: string[], extra: object = {}) {
  const { container_id } = await runtime<{ container_id: string }>("CreateContainer", {
    pod_sandbox_id: podId,
    config: {
      metadata: { name, attempt: 0 },
      image: { image },
      command,
      log_path: `${name}.log`,
      ...extra,
    },
    sandbox_config: podConfig,
  });
  await runtime("StartContainer", { container_id });
  return container_id;
}

async function state(id: string): Promise<string> {
  const r = await runtime<{ status: { state: string } }>("ContainerStatus", { container_id: id });
  return r.status.state;
}

/** Spawns `cmd`, gathering its output; killed at the end of the file if still running. */
function start(cmd: string, args: string[]) {
  const p = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"] });
  children.push(p);
  let stdout = "";
  let stderr = "";
  p.stdout!.on("data", (b: Buffer) => (stdout += b.toString()));
  p.stderr!.on("data", (b: Buffer) => (stderr += b.toString()));
  p.stdin!.on("error", () => undefined);
  const exited = new Promise<number | null>((resolve) => p.once("close", (code) => resolve(code)));
  return {
    process: p,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    async waitFor(re: RegExp, ms = 20_000): Promise<RegExpMatchArray> {
      for (const end = Date.now() + ms; Date.now() < end; await sleep(25)) {
        const m = re.exec(stdout);
        if (m) return m;
        if (p.exitCode !== null) break;
      }
      throw new Error(`no ${re} in output:\n${stdout}\nstderr:\n${stderr}`);
    },
  };
}

/**
 * Runs skiff in a Python pty of `rows`x`cols`, then for each step waits for its text in
 * the output (after the previous step's), sleeps, resizes the pty (the kernel sends
 * SIGWINCH) and types. Prints everything the pty showed; exits with skiff's status.
 */
const ptyDriver = `
import json, os, pty, select, struct, sys, termios, fcntl, time
rows, cols, steps, argv = json.loads(sys.argv[1])
def size(fd, r, c): fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", r, c, 0, 0))
pid, fd = pty.fork()
if pid == 0:
    size(0, rows, cols)
    os.execv(argv[0], argv)
out, seen, deadline = b"", 0, time.time() + 30
while time.time() < deadline:
    while steps and steps[0]["wait"].encode() in out[seen:]:
        step = steps.pop(0)
        seen = out.index(step["wait"].encode(), seen) + len(step["wait"])
        time.sleep(step.get("sleep", 0))
        if "resize" in step: size(fd, *step["resize"])
        if "send" in step: os.write(fd, step["send"].encode())
    if select.select([fd], [], [], 0.2)[0]:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk: break
        out += chunk
if time.time() >= deadline: os.kill(pid, 9)
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace"))
sys.exit(os.waitstatus_to_exitcode(status))
`;

interface PtyStep {
  wait: string;
  sleep?: number;
  resize?: [number, number];
  send?: string;
}

async function inPty(rows: number, cols: number, steps: PtyStep[], args: string[]) {
  const argv = [bin("skiff"), "--socket", dirs!.socket, ...args];
  const p = start("/usr/bin/python3", ["-c", ptyDriver, JSON.stringify([rows, cols, steps, argv])]);
  p.process.stdin!.end();
  const code = await p.exited;
  return { code, output: p.stdout(), stderr: p.stderr() };
}

beforeAll(async () => {
  registry = await startRegistry();
  await pushImage(registry, "e2e/cli-stream", "v1", testImage());
  image = `${registry.host}/e2e/cli-stream:v1`;
  dirs = tempDirs("skiff-e2e-cli-stream-");
  network = bridgeNetwork(dirs.dir);
  network.install(dirs);
  daemon = await startDaemon(dirs, cniBinArgs);
  await rpc(daemon.clients.image, "PullImage", { image: { image } });
  const logDirectory = join(dirs.dir, "logs");
  mkdirSync(logDirectory);
  podConfig = {
    metadata: { name: "cli", uid: "uid-cli-stream", namespace: "skiff-e2e", attempt: 0 },
    log_directory: logDirectory,
    linux: {
      security_context: { namespace_options: { network: "POD", pid: "CONTAINER", ipc: "POD" } },
    },
  };
  podId = (await runtime<{ pod_sandbox_id: string }>("RunPodSandbox", { config: podConfig }))
    .pod_sandbox_id;
  shell = await createStarted("shell", ["sleep", "100000"]);
}, 180_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  try {
    if (daemon && podId) {
      await runtime("StopPodSandbox", { pod_sandbox_id: podId }).catch(() => undefined);
      await runtime("RemovePodSandbox", { pod_sandbox_id: podId }).catch(() => undefined);
    }
    await daemon?.stop();
  } finally {
    if (dirs) {
      spawnSync("sh", [
        "-c",
        `grep ' ${dirs.dir}' /proc/mounts | cut -d' ' -f2 | sort -r | xargs -r umount`,
      ]);
    }
    network?.cleanup();
    if (dirs) removeDirs(dirs);
    await registry?.stop();
  }
}, 120_000);

describe("skiff exec", () => {
  test("prints the output and exits with the command's exit code (id prefix)", async () => {
    const r = await skiff([
      "exec",
      shell.slice(0, 12),
      "sh",
      "-c",
      "echo hi; echo oops >&2; exit 3",
    ]);
    expect(r.stdout).toBe("hi\n");
    expect(r.stderr).toBe("oops\n");
    expect(r.status).toBe(3);
    const ok = await skiff(["exec", shell, "sh", "-c", "echo fine"]);
    expect({ status: ok.status, stdout: ok.stdout, stderr: ok.stderr }).toEqual({
      status: 0,
      stdout: "fine\n",
      stderr: "",
    });
  });

  test("-i relays stdin; its end reaches the process", async () => {
    const r = await skiff(["exec", "-i", shell, "cat"], { input: "line one\nline two\n" });
    expect(r.stdout).toBe("line one\nline two\n");
    expect(r.status).toBe(0);
    const big = Buffer.alloc(3 * 1024 * 1024, "abcdefgh\n");
    const counted = await skiff(["exec", "-i", shell, "wc", "-c"], { input: big });
    expect(counted.stdout.trim()).toBe(String(big.length));
    expect(counted.status).toBe(0);
  });

  test("usage and lookup errors", async () => {
    const none = await skiff(["exec", shell]);
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/usage: skiff exec/);
    const unknown = await skiff(["exec", "f00f00f00", "true"]);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toMatch(/^skiff: container f00f00f00 not found\n$/);
    const bad = await skiff(["exec", "-x", shell, "true"]);
    expect(bad.status).toBe(2);
  });

  test("-it through script(1): the command runs in a terminal of our size", async () => {
    const inner = [
      "stty rows 33 cols 77;",
      bin("skiff"),
      "--socket",
      dirs!.socket,
      "exec -it",
      shell,
      "sh -c 'stty size; exit 5'",
    ].join(" ");
    const p = start("/usr/bin/script", ["-qfec", inner, "/dev/null"]);
    p.process.stdin!.end();
    const code = await p.exited;
    expect(p.stdout()).toContain("33 77");
    expect(code).toBe(5);
  });

  test("-it in a pty that is resized: the remote terminal follows (SIGWINCH)", async () => {
    const r = await inPty(
      20,
      50,
      [
        { wait: "20 50", sleep: 0.3, resize: [30, 90] },
        { wait: "", sleep: 0.5, send: "\r" },
      ],
      ["exec", "-it", shell, "sh", "-c", "stty size; read x; stty size"],
    );
    expect(r.output).toMatch(/20 50[\s\S]*30 90/);
    expect(r.code).toBe(0);
  });
});

describe("skiff attach", () => {
  test("shows a container's output; Ctrl-C leaves it running", async () => {
    const id = await createStarted("ticker", [
      "sh",
      "-c",
      "i=0; while :; do echo tick $i; i=$((i+1)); sleep 0.2; done",
    ]);
    const a = start(bin("skiff"), ["--socket", dirs!.socket, "attach", id.slice(0, 10)]);
    await a.waitFor(/tick \d+\n[\s\S]*tick \d+\n/);
    a.process.kill("SIGINT");
    expect(await a.exited).toBe(0);
    expect(await state(id)).toBe("CONTAINER_RUNNING");
    await runtime("StopContainer", { container_id: id, timeout: 1 });
  });

  test("-i sends stdin to the container's process", async () => {
    const id = await createStarted("reader", ["sh", "-c", "read l; echo got:$l; sleep 0.3"], {
      stdin: true,
    });
    const r = await skiff(["attach", "-i", id], { input: "line1\n" });
    expect(r.stdout).toContain("got:line1");
    expect(r.status).toBe(0);
    const refused = await skiff(["attach", "-i", shell]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/not created with stdin/);
  });

  test("-it to a terminal container; Ctrl-P Ctrl-Q detaches and leaves it running", async () => {
    const id = await createStarted("tty", ["sh"], { stdin: true, tty: true });
    const r = await inPty(
      24,
      80,
      [
        { wait: "", sleep: 0.5, send: "echo hel''lo-$((6*7))\r" },
        { wait: "hello-42", sleep: 0.2, send: "\x10\x11" },
      ],
      ["attach", "-it", id],
    );
    expect(r.output).toContain("hello-42");
    expect(r.code).toBe(0);
    expect(await state(id)).toBe("CONTAINER_RUNNING");
    await runtime("StopContainer", { container_id: id, timeout: 1 });
  });
});

describe("skiff port-forward", () => {
  beforeAll(async () => {
    const id = await createStarted("httpd", ["httpd", "-f", "-p", String(WEB_PORT), "-h", "/www"]);
    // Listening (state 0A) on 8080 (1F90) in the pod's network namespace.
    for (let i = 0; ; i++) {
      const r = await runtime<{ exit_code: number }>("ExecSync", {
        container_id: id,
        cmd: ["grep", "-q", ":1F90 [0-9A-F]*:0000 0A", "/proc/net/tcp", "/proc/net/tcp6"],
        timeout: 10,
      });
      if (r.exit_code === 0) break;
      if (i > 200) throw new Error("httpd in the pod did not start listening");
      await sleep(50);
    }
  }, 60_000);

  const get = (port: number): Promise<{ status: number; body: string }> =>
    new Promise((resolve, reject) => {
      http
        .get({ host: "127.0.0.1", port, path: "/index.html", agent: false }, (res) => {
          let body = "";
          res.on("data", (c: Buffer) => (body += c.toString()));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        })
        .on("error", reject);
    });

  test("relays connections to a server in the pod; a refused port is reported", async () => {
    const pf = start(bin("skiff"), [
      "--socket",
      dirs!.socket,
      "port-forward",
      podId.slice(0, 12),
      `:${WEB_PORT}`,
      `0:${CLOSED_PORT}`,
    ]);
    const web = Number((await pf.waitFor(/127\.0\.0\.1:(\d+) -> 8080\n/))[1]);
    const closed = Number((await pf.waitFor(/127\.0\.0\.1:(\d+) -> 8081\n/))[1]);
    expect(await get(web)).toEqual({ status: 200, body: page });
    expect(await get(web)).toEqual({ status: 200, body: page });
    const both = await Promise.all([get(web), get(web), get(web)]);
    expect(both.map((r) => r.body)).toEqual([page, page, page]);

    // Nothing listens on 8081 in the pod: the connection closes, the error is shown,
    // and the session goes on.
    const refused = await new Promise<string>((resolve) => {
      let got = "";
      const s = net.connect(closed, "127.0.0.1", () => s.end("GET / HTTP/1.0\r\n\r\n"));
      s.on("data", (c: Buffer) => (got += c.toString()));
      s.on("error", () => undefined);
      s.on("close", () => resolve(got));
    });
    expect(refused).toBe("");
    for (let i = 0; i < 100 && !/8081/.test(pf.stderr()); i++) await sleep(20);
    expect(pf.stderr()).toMatch(/port-forward \d+ -> 8081: .*8081/);
    expect(await get(web)).toEqual({ status: 200, body: page });
    expect(pf.stdout().match(/Handling connection for/g)?.length).toBe(7);

    pf.process.kill("SIGINT");
    expect(await pf.exited).toBe(0);
    await expect(get(web)).rejects.toMatchObject({ code: "ECONNREFUSED" });
  });

  test("half-close: the request's end reaches the pod, the answer still comes back", async () => {
    const pf = start(bin("skiff"), [
      "--socket",
      dirs!.socket,
      "port-forward",
      podId,
      `0:${WEB_PORT}`,
    ]);
    const port = Number((await pf.waitFor(/127\.0\.0\.1:(\d+) -> 8080\n/))[1]);
    // HTTP/1.0 without a body: we end our side right after the request.
    const answer = await new Promise<string>((resolve, reject) => {
      let got = "";
      const s = net.connect({ port, host: "127.0.0.1", allowHalfOpen: true }, () =>
        s.end("GET /index.html HTTP/1.0\r\n\r\n"),
      );
      s.on("data", (c: Buffer) => (got += c.toString()));
      s.on("error", reject);
      s.on("close", () => resolve(got));
    });
    expect(answer).toMatch(/^HTTP\/1\.[01] 200/);
    expect(answer.endsWith(page)).toBe(true);
    pf.process.kill("SIGTERM");
    expect(await pf.exited).toBe(0);
  });

  test("errors: no mapping, an unknown pod", async () => {
    const none = await skiff(["port-forward", podId]);
    expect(none.status).toBe(2);
    const unknown = await skiff(["port-forward", "f00f00f00", "8080"]);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toMatch(/pod sandbox f00f00f00 not found/);
  });
});
