/**
 * The container core end to end on the real kernel: OCI bundles with a busybox rootfs,
 * run through ContainerRuntime (the path skiff-cri and skiff-oci use).
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmdirSync,
  rmSync,
  symlinkSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { join } from "node:path";
import { defaultSpec } from "../oci/defaults.js";
import type { Spec } from "../oci/spec.js";
import { discoverHierarchies, type Hierarchies } from "../cgroups/hierarchy.js";
import { ContainerRuntime } from "./runtime.js";
import { processStartTime } from "./state.js";

let work: string;
let bundle: string;
let runtime: ContainerRuntime;
let hierarchies: Hierarchies;
const ids: string[] = [];

function busyboxBundle(dir: string): string {
  const rootfs = join(dir, "rootfs");
  for (const d of ["bin", "proc", "sys", "dev", "tmp", "etc"])
    mkdirSync(join(rootfs, d), { recursive: true });
  copyFileSync("/bin/busybox", join(rootfs, "bin", "busybox"));
  for (const applet of ["sh", "cat", "echo", "sleep", "true", "hostname", "ls", "id"]) {
    symlinkSync("busybox", join(rootfs, "bin", applet));
  }
  return dir;
}

const cgroupBase = `skiff-test-runtime-${process.pid}`;

function spec(id: string, args: string[], change: (s: Spec) => void = () => undefined): Spec {
  const s = defaultSpec({ args, terminal: false });
  s.linux!.cgroupsPath = `${cgroupBase}/${id}`;
  change(s);
  return s;
}

function newId(): string {
  const id = `rt-${process.pid}-${ids.length}`;
  ids.push(id);
  return id;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "skiff-runtime-"));
  bundle = busyboxBundle(join(work, "bundle"));
  hierarchies = await discoverHierarchies();
  runtime = new ContainerRuntime({ root: join(work, "state"), hierarchies });
});

afterAll(async () => {
  for (const id of ids) await runtime.delete(id, { force: true }).catch(() => undefined);
  rmSync(work, { recursive: true, force: true });
  for (const c of hierarchies.controllers.values()) rmdirIfThere(join(c.mountpoint, cgroupBase));
  if (hierarchies.unified) rmdirIfThere(join(hierarchies.unified.mountpoint, cgroupBase));
});

function rmdirIfThere(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    // not there, or shared by two controllers already removed
  }
}

function cgroupDirs(id: string): string[] {
  return [...hierarchies.controllers.values()]
    .map((c) => join(c.mountpoint, cgroupBase, id))
    .filter((d) => existsSync(d));
}

describe("ContainerRuntime", () => {
  test("create, start, wait, delete: exit code, states, and nothing left", async () => {
    const id = newId();
    const created = await runtime.create(id, bundle, spec(id, ["sh", "-c", "exit 7"]));
    expect(created.status).toBe("created");
    expect(created.pid).toBeGreaterThan(0);
    expect(cgroupDirs(id).length).toBeGreaterThan(0);
    await runtime.start(id);
    const exit = await runtime.wait(id, 10_000);
    expect(exit.exitCode).toBe(7);
    expect((await runtime.state(id)).status).toBe("stopped");
    await runtime.delete(id);
    expect(existsSync(join(work, "state", id))).toBe(false);
    expect(cgroupDirs(id)).toEqual([]);
    await expect(runtime.state(id)).rejects.toMatchObject({ kind: "NotFound" });
  });

  test("a create cut short (no container.json) is still removed: process, monitor, cgroup", async () => {
    const id = newId();
    const { pid } = await runtime.create(id, bundle, spec(id, ["sleep", "1000"]));
    const monitorPid = (
      JSON.parse(readFileSync(join(work, "state", id, "container.json"), "utf8")) as {
        monitorPid: number;
      }
    ).monitorPid;
    // what a caller killed after skiff-shim ran, before the record was written, leaves
    // (a fresh runtime: no record in memory either)
    rmSync(join(work, "state", id, "container.json"));
    const fresh = new ContainerRuntime({ root: join(work, "state"), hierarchies });
    await fresh.delete(id, { force: true });
    expect(existsSync(join(work, "state", id))).toBe(false);
    expect(cgroupDirs(id)).toEqual([]);
    // gone, or a zombie of an init that has not reaped it yet
    expect(processStartTime(pid!)).toBeUndefined();
    for (let i = 0; i < 50 && processStartTime(monitorPid) !== undefined; i++) await sleep(20);
    expect(processStartTime(monitorPid)).toBeUndefined();
  });

  test("a running container: running state, kill with a signal, the exit says so", async () => {
    const id = newId();
    await runtime.create(
      id,
      bundle,
      spec(id, ["sh", "-c", 'trap "exit 3" TERM; while true; do sleep 0.05; done']),
    );
    await runtime.start(id);
    expect((await runtime.state(id)).status).toBe("running");
    await expect(runtime.delete(id)).rejects.toMatchObject({ kind: "FailedPrecondition" });
    await new Promise((r) => setTimeout(r, 100)); // let sh install its trap
    await runtime.kill(id, "SIGTERM");
    expect((await runtime.wait(id, 10_000)).exitCode).toBe(3);
    await runtime.delete(id);

    const other = newId();
    await runtime.create(other, bundle, spec(other, ["sleep", "1000"]));
    await runtime.start(other);
    await runtime.kill(other, "SIGKILL");
    const exit = await runtime.wait(other, 10_000);
    expect(exit.signal).toBe(9);
    expect(exit.exitCode).toBe(137);
    await expect(runtime.kill(other, "SIGKILL")).rejects.toMatchObject({
      kind: "FailedPrecondition",
    });
    await runtime.delete(other);
  });

  test("exec joins the container's namespaces and cgroup", async () => {
    const id = newId();
    await runtime.create(
      id,
      bundle,
      spec(id, ["sleep", "1000"], (s) => (s.hostname = "inside")),
    );
    await runtime.start(id);
    const { child, result } = await runtime.exec(id, {
      args: [
        "sh",
        "-c",
        "hostname; echo $$; cat /proc/self/cgroup | grep -c skiff/" + id + " || true",
      ],
      cwd: "/",
      user: { uid: 0, gid: 0 },
      env: ["PATH=/bin"],
    });
    let out = "";
    child.stdout?.on("data", (d) => (out += d));
    expect((await result).exitCode).toBe(0);
    const [hostname, pid] = out.trim().split("\n");
    expect(hostname).toBe("inside");
    expect(Number(pid)).toBeGreaterThan(1); // in the container's pid namespace, sleep is 1
    await runtime.delete(id, { force: true });
  });

  test("spare exec shims: later execs run from a spare parked in the container's cgroups; none under a pids limit; delete leaves nothing", async () => {
    const spared = new ContainerRuntime({
      root: join(work, "state"),
      hierarchies,
      spareExecs: true,
    });
    const procs = (id: string) =>
      readFileSync(join(cgroupDirs(id)[0]!, "cgroup.procs"), "utf8")
        .split("\n")
        .filter(Boolean)
        .map(Number);
    const exec = async (id: string, script: string) => {
      const { child, result, pid } = await spared.exec(id, {
        args: ["sh", "-c", script],
        env: ["PATH=/bin"],
      });
      let out = "";
      child.stdout?.on("data", (d) => (out += d));
      const hostPid = await pid;
      const cgroups = readFileSync(`/proc/${hostPid}/cgroup`, "utf8");
      const parent = /^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${hostPid}/status`, "utf8"))![1];
      return { ...(await result), out, cgroups, parent: Number(parent) };
    };
    const until = async (what: () => boolean) => {
      for (let i = 0; i < 100 && !what(); i++) await sleep(20);
      return what();
    };

    const id = newId();
    const { pid } = await spared.create(id, bundle, spec(id, ["sleep", "1000"]));
    await spared.start(id);
    const initCgroups = readFileSync(`/proc/${pid!}/cgroup`, "utf8");
    const first = await exec(id, "sleep 0.2; echo one; exit 3");
    expect(first).toMatchObject({ exitCode: 3, out: "one\n", cgroups: initCgroups });
    // the spare: one more process in the cgroup, left out of the container's pids
    expect(await until(() => procs(id).length === 2)).toBe(true);
    const spare = procs(id).find((p) => p !== pid)!;
    expect(await spared.pids(id)).toEqual([pid]);
    const second = await exec(id, "sleep 0.2; echo two");
    expect(second).toMatchObject({
      exitCode: 0,
      out: "two\n",
      cgroups: initCgroups,
      parent: spare,
    });
    expect(await until(() => processStartTime(spare) === undefined)).toBe(true);
    expect(await until(() => procs(id).length === 2)).toBe(true); // the next spare
    const next = procs(id).find((p) => p !== pid)!;
    await spared.delete(id, { force: true });
    expect(processStartTime(next)).toBeUndefined();
    expect(cgroupDirs(id)).toEqual([]);

    const limited = newId();
    const l = await spared.create(
      limited,
      bundle,
      spec(limited, ["sleep", "1000"], (s) => (s.linux!.resources = { pids: { limit: 20 } })),
    );
    await spared.start(limited);
    expect((await exec(limited, "sleep 0.2")).exitCode).toBe(0);
    await sleep(300);
    expect(procs(limited)).toEqual([l.pid]);
    await spared.delete(limited, { force: true });
    expect(cgroupDirs(limited)).toEqual([]);
  });

  test("an invalid spec is refused naming the field, and leaves nothing", async () => {
    const id = newId();
    await expect(
      runtime.create(
        id,
        bundle,
        spec(id, ["true"], (s) => (s.process!.capabilities!.effective = ["CAP_FLY"])),
      ),
    ).rejects.toThrow(/process\.capabilities\.effective\[0\]/);
    expect(existsSync(join(work, "state", id))).toBe(false);
    expect(cgroupDirs(id)).toEqual([]);
  });

  test("a missing rootfs is refused before anything is made", async () => {
    const id = newId();
    await expect(
      runtime.create(
        id,
        bundle,
        spec(id, ["true"], (s) => (s.root = { path: "nope" })),
      ),
    ).rejects.toThrow(/root\.path/);
    expect(existsSync(join(work, "state", id))).toBe(false);
  });

  test("a command that does not exist fails at start, reported in the exit, and cleans up", async () => {
    const id = newId();
    await runtime.create(id, bundle, spec(id, ["/bin/no-such-binary"]));
    await runtime.start(id);
    const exit = await runtime.wait(id, 10_000);
    expect(exit.exitCode).not.toBe(0);
    await runtime.delete(id);
    expect(cgroupDirs(id)).toEqual([]);
  });

  test("a duplicate id is refused", async () => {
    const id = newId();
    await runtime.create(id, bundle, spec(id, ["sleep", "100"]));
    await expect(runtime.create(id, bundle, spec(id, ["true"]))).rejects.toMatchObject({
      kind: "AlreadyExists",
    });
    await runtime.delete(id, { force: true });
  });

  test("list shows every container with its status", async () => {
    const a = newId();
    const b = newId();
    await runtime.create(a, bundle, spec(a, ["sleep", "100"]));
    await runtime.create(b, bundle, spec(b, ["sleep", "100"]));
    await runtime.start(b);
    const listed = (await runtime.list()).filter((s) => s.id === a || s.id === b);
    expect(new Map(listed.map((s) => [s.id, s.status]))).toEqual(
      new Map([
        [a, "created"],
        [b, "running"],
      ]),
    );
    await runtime.delete(a, { force: true });
    await runtime.delete(b, { force: true });
  });

  test("memory limit: the container is OOM-killed and the exit says so", async () => {
    const id = newId();
    await runtime.create(
      id,
      bundle,
      spec(id, ["sh", "-c", "x=a; while true; do x=$x$x; done"], (s) => {
        s.linux!.resources = {
          ...s.linux!.resources,
          memory: { limit: 16 * 1024 * 1024, swap: 16 * 1024 * 1024 },
        };
      }),
    );
    await runtime.start(id);
    const exit = await runtime.wait(id, 30_000);
    expect(exit.signal).toBe(9);
    expect(exit.oomKilled).toBe(true);
    await runtime.delete(id);
  });
});
