/**
 * skiff-cri as a user meets it: a real daemon process on a unix socket, driven by a
 * gRPC client and by crictl from the tool cache.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "@jest/globals";
import { status, type ServiceDefinition } from "@grpc/grpc-js";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { connect as netConnect, createServer } from "node:net";
import { join } from "node:path";
import { rpc } from "../../cri/src/cli/client.js";
import { loadServices } from "../../cri/src/grpc/proto.js";
import type { Services } from "../../cri/src/grpc/context.js";
import { imageHandlers } from "../../cri/src/grpc/image/index.js";
import { runtimeHandlers } from "../../cri/src/grpc/runtime/index.js";
import {
  bin,
  daemonArgs,
  removeDirs,
  runDaemonToFailure,
  startDaemon,
  tempDirs,
  toolPath,
  type DaemonDirs,
  type RunningDaemon,
} from "../harness/skiff-cri.js";

// The handler tables say what is implemented; every other RPC must answer UNIMPLEMENTED.
const noServices = {} as Services;
const implemented = new Set([
  ...Object.keys(runtimeHandlers(noServices)),
  ...Object.keys(imageHandlers(noServices)),
]);

describe("skiff-cri serving", () => {
  let dirs: DaemonDirs;
  let daemon: RunningDaemon;

  beforeAll(async () => {
    dirs = tempDirs();
    writeFileSync(
      dirs.config,
      'registries:\n  "registry.k8s.io":\n    mirrors: [{url: "http://127.0.0.1:5000"}]\n',
    );
    daemon = await startDaemon(dirs);
  });

  afterAll(async () => {
    await daemon?.stop("SIGKILL");
    removeDirs(dirs);
  });

  test("Version names skiff and CRI v1", async () => {
    expect(await rpc(daemon.clients.runtime, "Version", { version: "0.1.0" })).toEqual({
      version: "0.1.0",
      runtime_name: "skiff",
      runtime_version: "0.1.0",
      runtime_api_version: "v1",
    });
  });

  test("Status: runtime ready, network not ready with a reason", async () => {
    const response = await rpc<{ status: { conditions: object[] }; info: Record<string, string> }>(
      daemon.clients.runtime,
      "Status",
      { verbose: true },
    );
    expect(response.status.conditions).toEqual([
      { type: "RuntimeReady", status: true, reason: "", message: "" },
      {
        type: "NetworkReady",
        status: false,
        reason: "NetworkPluginNotReady",
        message: expect.stringContaining("CNI"),
      },
    ]);
    expect(JSON.parse(response.info["config"] ?? "{}")).toMatchObject({ socket: dirs.socket });
  });

  test("RuntimeConfig reports the cgroupfs driver", async () => {
    expect(await rpc(daemon.clients.runtime, "RuntimeConfig", {})).toEqual({
      linux: { cgroup_driver: "CGROUPFS" },
    });
  });

  test("every CRI RPC without a handler answers UNIMPLEMENTED", async () => {
    expect(implemented.has("Version")).toBe(true);
    const services = loadServices();
    const check = async (client: object, definition: ServiceDefinition) => {
      for (const [name, method] of Object.entries(definition)) {
        if (implemented.has(name)) continue;
        const code = await new Promise<number>((resolve) => {
          const fn = (client as Record<string, (...a: unknown[]) => unknown>)[name] as (
            ...a: unknown[]
          ) => unknown;
          if (method.responseStream) {
            const stream = fn.call(client, {}) as NodeJS.EventEmitter;
            stream.on("data", () => undefined);
            stream.on("error", (err: { code: number }) => resolve(err.code));
            stream.on("end", () => resolve(status.OK));
          } else {
            fn.call(client, {}, (err: { code: number } | null) =>
              resolve(err ? err.code : status.OK),
            );
          }
        });
        expect([name, code]).toEqual([name, status.UNIMPLEMENTED]);
      }
    };
    await check(daemon.clients.runtime, services.runtime);
    await check(daemon.clients.image, services.image);
  });

  test("the socket is 0660 in the directory created for it", () => {
    const st = statSync(dirs.socket);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o660);
    expect(existsSync(join(dirs.root, "skiff.db"))).toBe(true);
    expect(statSync(dirs.state).isDirectory()).toBe(true);
  });

  test("a second daemon on the same socket is refused and leaves the first serving", async () => {
    const other = tempDirs();
    try {
      const result = runDaemonToFailure([...daemonArgs({ ...other, socket: dirs.socket })]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`another process is already serving on ${dirs.socket}`);
      expect(existsSync(other.root)).toBe(false);
      expect(existsSync(other.state)).toBe(false);
      expect(
        (await rpc<{ runtime_name: string }>(daemon.clients.runtime, "Version", {})).runtime_name,
      ).toBe("skiff");
    } finally {
      removeDirs(other);
    }
  });

  test("SIGHUP and Config/Reload take a good config and refuse a bad one", async () => {
    writeFileSync(
      dirs.config,
      'registries:\n  "docker.io":\n    mirrors: [{url: "http://127.0.0.1:5001"}]\n',
    );
    daemon.process.kill("SIGHUP");
    let yaml = "";
    for (let i = 0; i < 100 && !yaml.includes("5001"); i++) {
      await new Promise((r) => setTimeout(r, 50));
      yaml = (await rpc<{ yaml: string }>(daemon.clients.config, "Get", {})).yaml;
    }
    expect(yaml).toContain("docker.io");
    expect(yaml).not.toContain("registry.k8s.io");

    writeFileSync(dirs.config, 'registries:\n  "docker.io":\n    mirrors: [{url: "ftp://nope"}]\n');
    await expect(rpc(daemon.clients.config, "Reload", {})).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: `${dirs.config}:3:21: registries."docker.io".mirrors[0].url: must start with http:// or https://`,
    });
    daemon.process.kill("SIGHUP");
    await new Promise((r) => setTimeout(r, 200));
    expect((await rpc<{ yaml: string }>(daemon.clients.config, "Get", {})).yaml).toContain("5001");
    expect(daemon.output()).toContain("config reload refused");
  });

  test("crictl version, info and runtime-config work against it", () => {
    const crictl = toolPath("crictl");
    const run = (...args: string[]) =>
      spawnSync(crictl, ["--runtime-endpoint", `unix://${dirs.socket}`, ...args], {
        encoding: "utf8",
      });
    const version = run("version");
    expect(version.status).toBe(0);
    expect(version.stdout).toMatch(/RuntimeName:\s+skiff/);
    expect(version.stdout).toMatch(/RuntimeApiVersion:\s+v1/);
    const info = run("info");
    expect(info.status).toBe(0);
    expect(JSON.parse(info.stdout).status.conditions[0]).toMatchObject({
      type: "RuntimeReady",
      status: true,
    });
    const config = run("runtime-config");
    expect(config.status).toBe(0);
    expect(config.stdout).toMatch(/cgroup driver:\s+CGROUPFS/i);
  });
});

describe("skiff-cri start and stop", () => {
  const cleanup: DaemonDirs[] = [];
  afterEach(() => cleanup.splice(0).forEach(removeDirs));
  const fresh = () => {
    const dirs = tempDirs();
    cleanup.push(dirs);
    return dirs;
  };

  test("SIGTERM stops it gracefully and removes the socket", async () => {
    const daemon = await startDaemon(fresh());
    expect(await daemon.stop("SIGTERM")).toBe(0);
    expect(existsSync(daemon.dirs.socket)).toBe(false);
    expect(daemon.output()).toContain("skiff-cri stopped");
  });

  test("a stale socket left by a killed daemon is replaced", async () => {
    const dirs = fresh();
    const first = await startDaemon(dirs);
    await first.stop("SIGKILL");
    expect(existsSync(dirs.socket)).toBe(true);
    const second = await startDaemon(dirs);
    expect(
      (await rpc<{ runtime_name: string }>(second.clients.runtime, "Version", {})).runtime_name,
    ).toBe("skiff");
    expect(await second.stop()).toBe(0);
  });

  test("a path that is not a socket is not replaced", async () => {
    const dirs = fresh();
    mkdirSync(join(dirs.dir, "run"));
    writeFileSync(dirs.socket, "precious");
    const result = runDaemonToFailure(daemonArgs(dirs));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${dirs.socket} exists and is not a socket`);
  });

  test("a live server of another kind on the socket is refused too", async () => {
    const dirs = fresh();
    mkdirSync(join(dirs.dir, "run"));
    const server = createServer((c) => c.end());
    await new Promise<void>((r) => server.listen(dirs.socket, r));
    try {
      const result = runDaemonToFailure(daemonArgs(dirs));
      expect(result.code).toBe(1);
      expect(result.stderr).toContain("another process is already serving");
      await new Promise<void>((r, j) =>
        netConnect(dirs.socket).once("connect", r).once("error", j),
      );
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  test("a malformed config: clear message with file, line and field; nothing created", () => {
    const dirs = fresh();
    writeFileSync(dirs.config, 'registries:\n  "docker.io":\n    mirors: []\n');
    const result = runDaemonToFailure(daemonArgs(dirs));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `${dirs.config}:3:5: registries."docker.io".mirors: unknown field`,
    );
    for (const path of [dirs.root, dirs.state, dirs.socket]) expect(existsSync(path)).toBe(false);
  });

  test("an unwritable root: clear message naming it; nothing created", () => {
    const dirs = fresh();
    const result = runDaemonToFailure(daemonArgs({ ...dirs, root: "/proc/skiff-root" }));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("create directory /proc/skiff-root");
    for (const path of [dirs.state, dirs.socket]) expect(existsSync(path)).toBe(false);
  });

  test("a socket whose directory cannot be made: clear message; root and state rolled back", () => {
    const dirs = fresh();
    writeFileSync(join(dirs.dir, "file"), "");
    const socket = join(dirs.dir, "file", "sub", "cri.sock");
    const result = runDaemonToFailure(daemonArgs({ ...dirs, socket }));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`create socket directory ${join(dirs.dir, "file", "sub")}`);
    for (const path of [dirs.root, dirs.state]) expect(existsSync(path)).toBe(false);
  });

  test("bad flags exit 2 with usage; --help and --version exit 0", () => {
    const bad = spawnSync(bin("skiff-cri"), ["--root"], { encoding: "utf8" });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("--root");
    expect(bad.stderr).toContain("usage: skiff-cri");
    const help = spawnSync(bin("skiff-cri"), ["--help"], { encoding: "utf8" });
    expect(help.status).toBe(0);
    for (const flag of [
      "--socket",
      "--root",
      "--state",
      "--config",
      "--cni-conf-dir",
      "--cni-bin-dir",
      "--log-level",
    ]) {
      expect(help.stdout).toContain(flag);
    }
    expect(spawnSync(bin("skiff-cri"), ["--version"], { encoding: "utf8" }).stdout).toBe(
      "skiff-cri 0.1.0\n",
    );
  });

  test("two daemons run side by side in their own dirs", async () => {
    const a = await startDaemon(fresh());
    const b = await startDaemon(fresh());
    expect(
      (await rpc<{ runtime_name: string }>(a.clients.runtime, "Version", {})).runtime_name,
    ).toBe("skiff");
    expect(
      (await rpc<{ runtime_name: string }>(b.clients.runtime, "Version", {})).runtime_name,
    ).toBe("skiff");
    expect(await a.stop()).toBe(0);
    expect(await b.stop()).toBe(0);
  });
});

describe("the skiff CLI against skiff-cri", () => {
  test("version, info and config", async () => {
    const dirs = tempDirs();
    const daemon = await startDaemon(dirs);
    try {
      const run = (...args: string[]) =>
        spawnSync(bin("skiff"), ["--socket", dirs.socket, ...args], { encoding: "utf8" });
      expect(run("version").stdout).toContain("Server: skiff 0.1.0 (CRI v1)");
      expect(run("info").stdout).toContain("NetworkReady: false (NetworkPluginNotReady");
      const config = run("config");
      expect(config.status).toBe(0);
      expect(config.stdout).toContain("registries: {}");
      const unknown = run("frobnicate");
      expect(unknown.status).toBe(2);
      expect(unknown.stderr).toContain('unknown command "frobnicate"');
    } finally {
      await daemon.stop();
      removeDirs(dirs);
    }
    const down = spawnSync(bin("skiff"), ["--socket", dirs.socket, "version"], {
      encoding: "utf8",
    });
    expect(down.status).toBe(1);
    expect(down.stderr).toContain(`cannot reach skiff-cri on ${dirs.socket}`);
  });
});
