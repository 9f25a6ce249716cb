/**
 * CRI containers in a real skiff-cri: a host-network pod (no CNI needed here), a busybox
 * image from a real registry, and the container lifecycle through gRPC and crictl.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { status } from "@grpc/grpc-js";
import { spawn, spawnSync } from "node:child_process";
import { get } from "node:http";
import { mkdirSync, readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { rpc } from "../../cri/src/cli/client.js";
import { startRegistry, type TestRegistry } from "../harness/registry.js";
import { buildImage, buildLayer, busyboxImage, pushImage } from "../harness/images.js";
import {
  removeDirs,
  startDaemon,
  tempDirs,
  toolPath,
  type DaemonDirs,
  type RunningDaemon,
} from "../harness/skiff-cri.js";

let registry: TestRegistry;
let dirs: DaemonDirs;
let daemon: RunningDaemon;
let image: string;
let podId: string;
let logDir: string;
let crictl: string;

const runtime = <T>(method: string, request: object) =>
  rpc<T>(daemon.clients.runtime, method, request);

const podConfig = (name: string) => ({
  metadata: { name, namespace: "e2e", uid: `uid-${name}`, attempt: 0 },
  log_directory: logDir,
  linux: {
    security_context: { namespace_options: { network: "NODE", pid: "CONTAINER", ipc: "POD" } },
  },
});

const containerConfig = (name: string, args: string[], extra: object = {}) => ({
  metadata: { name, attempt: 0 },
  image: { image },
  command: args,
  log_path: `${name}.log`,
  labels: { app: name },
  ...extra,
});

async function createStarted(name: string, args: string[], extra: object = {}): Promise<string> {
  const { container_id } = await runtime<{ container_id: string }>("CreateContainer", {
    pod_sandbox_id: podId,
    config: containerConfig(name, args, extra),
    sandbox_config: podConfig("p1"),
  });
  await runtime("StartContainer", { container_id });
  return container_id;
}

async function statusOf(id: string) {
  return (
    await runtime<{
      status: { state: string; exit_code: number; reason: string; log_path: string };
    }>("ContainerStatus", { container_id: id })
  ).status;
}

async function waitExited(id: string) {
  for (let i = 0; i < 100; i++) {
    const s = await statusOf(id);
    if (s.state === "CONTAINER_EXITED") return s;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`container ${id} did not exit`);
}

beforeAll(async () => {
  registry = await startRegistry();
  image = `${registry.host}/library/busybox:latest`;
  await pushImage(registry, "library/busybox", "latest", busyboxImage("gzip"));
  dirs = tempDirs();
  logDir = join(dirs.dir, "logs");
  mkdirSync(logDir);
  daemon = await startDaemon(dirs);
  crictl = toolPath("crictl");
  await rpc(daemon.clients.image, "PullImage", { image: { image } });
  podId = (await runtime<{ pod_sandbox_id: string }>("RunPodSandbox", { config: podConfig("p1") }))
    .pod_sandbox_id;
});

afterAll(async () => {
  if (daemon) {
    try {
      await runtime("StopPodSandbox", { pod_sandbox_id: podId });
      await runtime("RemovePodSandbox", { pod_sandbox_id: podId });
    } catch {
      // reported by the tests
    }
    await daemon.stop();
  }
  if (dirs) {
    spawnSync("sh", [
      "-c",
      `grep ' ${dirs.dir}' /proc/mounts | cut -d' ' -f2 | sort -r | xargs -r umount`,
    ]);
    removeDirs(dirs);
  }
  await registry?.stop();
});

describe("CRI containers", () => {
  test("create, start: running, its output in the CRI log format", async () => {
    const id = await createStarted("hello", ["sh", "-c", "echo hello; echo oops >&2; sleep 1000"]);
    expect((await statusOf(id)).state).toBe("CONTAINER_RUNNING");
    const log = join(logDir, "hello.log");
    for (
      let i = 0;
      i < 50 && !(existsSync(log) && readFileSync(log, "utf8").includes("oops"));
      i++
    ) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const lines = readFileSync(log, "utf8").trim().split("\n");
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z stdout F hello$/),
        expect.stringMatching(/^\S+ stderr F oops$/),
      ]),
    );
    await runtime("StopContainer", { container_id: id, timeout: 1 });
    const exited = await statusOf(id);
    expect(exited.state).toBe("CONTAINER_EXITED");
    expect(exited.exit_code).toBe(137); // sleep as pid 1 ignores SIGTERM: killed after the grace period
    await runtime("RemoveContainer", { container_id: id });
    await runtime("RemoveContainer", { container_id: id });
    await expect(statusOf(id)).rejects.toMatchObject({ code: status.NOT_FOUND });
  });

  test("exit codes and reasons: Completed, Error", async () => {
    const ok = await createStarted("ok", ["true"]);
    const bad = await createStarted("bad", ["sh", "-c", "exit 3"]);
    expect(await waitExited(ok)).toMatchObject({ exit_code: 0, reason: "Completed" });
    expect(await waitExited(bad)).toMatchObject({ exit_code: 3, reason: "Error" });
    for (const id of [ok, bad]) await runtime("RemoveContainer", { container_id: id });
  });

  test("StopContainer right after start waits for the program's handler, not the grace period", async () => {
    // pid 1 of the container handles SIGTERM only after 0.3 s: a signal sent before
    // that is dropped by the kernel, and the stop would wait its 20 s, then SIGKILL.
    const id = await createStarted("late-trap", [
      "sh",
      "-c",
      "sleep 0.3; trap 'exit 7' TERM; while :; do sleep 0.05; done",
    ]);
    const started = Date.now();
    await runtime("StopContainer", { container_id: id, timeout: 20 });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await statusOf(id)).toMatchObject({ state: "CONTAINER_EXITED", exit_code: 7 });
    await runtime("RemoveContainer", { container_id: id });
  });

  test("ExecSync: output, exit code, the container's view", async () => {
    const id = await createStarted("exec", ["sleep", "1000"], {
      envs: [{ key: "GREETING", value: Buffer.from("hi") }],
    });
    const r = await runtime<{ stdout: Buffer; stderr: Buffer; exit_code: number }>("ExecSync", {
      container_id: id,
      cmd: ["sh", "-c", "echo $GREETING; cat /proc/1/cmdline | tr '\\0' ' '; echo err >&2; exit 2"],
      timeout: 10,
    });
    expect(r.stdout.toString()).toBe("hi\nsleep 1000 ");
    expect(r.stderr.toString()).toBe("err\n");
    expect(r.exit_code).toBe(2);
    await expect(
      runtime("ExecSync", { container_id: id, cmd: ["sleep", "10"], timeout: 1 }),
    ).rejects.toMatchObject({ code: status.DEADLINE_EXCEEDED });
    // The timed-out process is gone, not even a zombie: only the container's sleep is left.
    const left = await runtime<{ stdout: Buffer }>("ExecSync", {
      container_id: id,
      cmd: ["sh", "-c", "cat /proc/[0-9]*/cmdline | tr '\\0' ' '"],
      timeout: 10,
    });
    expect(left.stdout.toString()).not.toContain("sleep 10 ");
    await runtime("RemoveContainer", { container_id: id });
  });

  test("pod metrics: the container's cgroup, processes and layer, under their descriptors", async () => {
    const id = await createStarted("metrics", ["sh", "-c", "sleep 1000 & sleep 1000 & wait"]);
    const { descriptors } = await runtime<{
      descriptors: { name: string; label_keys: string[] }[];
    }>("ListMetricDescriptors", {});
    const keys = new Map(descriptors.map((d) => [d.name, d.label_keys.length]));
    type Metric = { name: string; label_values: string[]; value: { value: string } };
    let mine: Metric[] | undefined;
    const value = (name: string) => Number(mine?.find((m) => m.name === name)?.value?.value);
    // until sh has started both sleeps: StartContainer returns once sh runs, not its children
    for (let i = 0; i < 50 && (i === 0 || value("container_processes") < 3); i++) {
      if (i > 0) await sleep(100);
      const { pod_metrics } = await runtime<{
        pod_metrics: {
          pod_sandbox_id: string;
          container_metrics: { container_id: string; metrics: Metric[] }[];
        }[];
      }>("ListPodSandboxMetrics", {});
      mine = pod_metrics
        .find((p) => p.pod_sandbox_id === podId)
        ?.container_metrics.find((c) => c.container_id === id)?.metrics;
    }
    expect(value("container_processes")).toBe(3);
    expect(value("container_memory_usage_bytes")).toBeGreaterThan(0);
    expect(value("container_start_time_seconds")).toBeGreaterThan(Date.now() / 1000 - 600);
    for (const m of mine ?? [])
      expect([m.name, m.label_values.length]).toEqual([m.name, keys.get(m.name)]);
    await runtime("StopContainer", { container_id: id, timeout: 0 });
    await runtime("RemoveContainer", { container_id: id });
  });

  test("ContainerStatus.user is the process's identity, as `id` sees it", async () => {
    const id = await createStarted("who", ["sleep", "1000"], {
      linux: {
        security_context: {
          run_as_user: { value: 1000 },
          run_as_group: { value: 2000 },
          supplemental_groups: [1234],
        },
      },
    });
    const { status: st } = await runtime<{
      status: { user: { linux: { uid: string; gid: string; supplemental_groups: string[] } } };
    }>("ContainerStatus", { container_id: id });
    expect(st.user.linux).toEqual({
      uid: "1000",
      gid: "2000",
      supplemental_groups: ["1234", "2000"],
    });
    const r = await runtime<{ stdout: Buffer }>("ExecSync", {
      container_id: id,
      cmd: ["sh", "-c", "id -u; id -G"],
      timeout: 10,
    });
    expect(r.stdout.toString()).toBe("1000\n2000 1234\n");
    await runtime("RemoveContainer", { container_id: id });
  });

  test("mount propagation: private, host-to-container, bidirectional", async () => {
    const host = join(dirs.dir, "propagation");
    const sh = (cmd: string) => {
      const r = spawnSync("sh", ["-c", cmd], { encoding: "utf8" });
      if (r.status !== 0) throw new Error(`${cmd}: ${r.stderr}`);
    };
    const cases = [
      ["PROPAGATION_PRIVATE", "private"],
      ["PROPAGATION_HOST_TO_CONTAINER", "slave"],
      ["PROPAGATION_BIDIRECTIONAL", "shared"],
    ] as const;
    try {
      for (const [propagation, name] of cases) {
        const volume = join(host, name);
        mkdirSync(join(volume, "from-host"), { recursive: true });
        mkdirSync(join(host, `${name}-src`), { recursive: true });
        // The volume is a shared mount on the host, as kubelet makes its pod dirs.
        sh(`mount --bind ${volume} ${volume} && mount --make-rshared ${volume}`);
        const id = await createStarted(`prop-${name}`, ["sleep", "1000"], {
          mounts: [{ container_path: "/v", host_path: volume, propagation }],
          linux: { security_context: { privileged: true } },
        });
        sh(
          `mount --bind ${host}/${name}-src ${volume}/from-host && touch ${volume}/from-host/flag`,
        );
        const seen = await runtime<{ stdout: Buffer }>("ExecSync", {
          container_id: id,
          cmd: [
            "sh",
            "-c",
            "ls /v/from-host; mkdir -p /v/from-ctr && mount -t tmpfs t /v/from-ctr && touch /v/from-ctr/x",
          ],
          timeout: 10,
        });
        // Host mounts reach the container unless private; the container's reach the host
        // only when bidirectional.
        expect([name, seen.stdout.toString()]).toEqual([name, name === "private" ? "" : "flag\n"]);
        expect([name, existsSync(join(volume, "from-ctr/x"))]).toEqual([name, name === "shared"]);
        await runtime("RemoveContainer", { container_id: id });
      }
    } finally {
      spawnSync("sh", [
        "-c",
        `grep ' ${host}' /proc/mounts | cut -d' ' -f2 | sort -r | xargs -r umount`,
      ]);
    }
  });

  test("ExecSync output is capped at 16 MiB and says so (CVE-2022-31030)", async () => {
    const id = await createStarted("flood", ["sleep", "1000"]);
    const r = await runtime<{ stdout: Buffer; exit_code: number }>("ExecSync", {
      container_id: id,
      cmd: ["sh", "-c", "head -c 20000000 /dev/zero"],
      timeout: 30,
    });
    expect(r.stdout.length).toBeLessThan(16 * 1024 * 1024 + 100);
    expect(r.stdout.subarray(-60).toString()).toContain("output truncated");
    await runtime("RemoveContainer", { container_id: id });
  }, 60_000);

  test("ListContainers filters by id prefix, state, pod and labels", async () => {
    const a = await createStarted("list-a", ["sleep", "1000"]);
    const { containers } = await runtime<{ containers: { id: string }[] }>("ListContainers", {
      filter: {
        label_selector: { app: "list-a" },
        state: { state: "CONTAINER_RUNNING" },
        pod_sandbox_id: podId,
      },
    });
    expect(containers.map((c) => c.id)).toEqual([a]);
    const byPrefix = await runtime<{ containers: { id: string }[] }>("ListContainers", {
      filter: { id: a.slice(0, 12) },
    });
    expect(byPrefix.containers.map((c) => c.id)).toEqual([a]);
    // every field of the message, and its state as it changes (encodings are cached)
    type Listed = { containers: Record<string, unknown>[] };
    const listA = async () =>
      (await runtime<Listed>("ListContainers", { filter: { id: a } })).containers;
    expect(await listA()).toEqual([
      expect.objectContaining({
        id: a,
        pod_sandbox_id: podId,
        metadata: { name: "list-a", attempt: 0 },
        state: "CONTAINER_RUNNING",
        labels: { app: "list-a" },
        image_ref: expect.stringMatching(/^sha256:/),
        created_at: expect.stringMatching(/^\d{19}$/),
      }),
    ]);
    const stats = await runtime<{
      stats: {
        cpu: { usage_core_nano_seconds: { value: string } };
        memory: { working_set_bytes: { value: string } };
      };
    }>("ContainerStats", { container_id: a });
    expect(Number(stats.stats.memory.working_set_bytes.value)).toBeGreaterThan(0);
    await runtime("StopContainer", { container_id: a, timeout: 0 });
    expect((await listA())[0]).toMatchObject({ id: a, state: "CONTAINER_EXITED" });
    const running = await runtime<Listed>("ListContainers", {
      filter: { id: a, state: { state: "CONTAINER_RUNNING" } },
    });
    expect(running.containers).toEqual([]);
    await runtime("RemoveContainer", { container_id: a });
  });

  test("GetContainerEvents streams created, started, stopped, deleted", async () => {
    const events: {
      container_id: string;
      container_event_type: string;
      containers_statuses: unknown[];
    }[] = [];
    const stream = (
      daemon.clients.runtime as unknown as {
        getContainerEvents(r: object): NodeJS.EventEmitter & { cancel(): void };
      }
    ).getContainerEvents({});
    stream.on("data", (e: (typeof events)[number]) => events.push(e));
    stream.on("error", () => undefined);
    await new Promise((r) => setTimeout(r, 200));
    const id = await createStarted("evented", ["sh", "-c", "sleep 0.2"]);
    await waitExited(id);
    await runtime("RemoveContainer", { container_id: id });
    for (let i = 0; i < 50 && events.filter((e) => e.container_id === id).length < 4; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    stream.cancel();
    const mine = events.filter((e) => e.container_id === id);
    expect(mine.map((e) => e.container_event_type)).toEqual([
      "CONTAINER_CREATED_EVENT",
      "CONTAINER_STARTED_EVENT",
      "CONTAINER_STOPPED_EVENT",
      "CONTAINER_DELETED_EVENT",
    ]);
    expect(mine[1]?.containers_statuses.length).toBeGreaterThan(0);
  });

  test("streaming through crictl: exec, exec -i, attach, port-forward", async () => {
    const cli = (args: string[], input?: string) =>
      spawnSync(
        crictl,
        [
          "--runtime-endpoint",
          `unix://${dirs.socket}`,
          "--image-endpoint",
          `unix://${dirs.socket}`,
          ...args,
        ],
        {
          encoding: "utf8",
          timeout: 30_000,
          ...(input === undefined ? {} : { input }),
        },
      );
    const port = 20000 + (process.pid % 20000);
    const id = await createStarted("web", [
      "sh",
      "-c",
      `echo hi > /tmp/index.html; while true; do echo tick; sleep 0.2; done & httpd -f -p ${port} -h /tmp`,
    ]);
    const exec = cli(["exec", id, "sh", "-c", "echo out; echo err >&2; exit 3"]);
    expect(exec.stdout).toBe("out\n");
    expect(exec.stderr).toContain("err\n");
    // streaming crictl exec reports the code in its error and exits 1 (exec -s exits with it)
    expect(exec.stderr).toContain("exit code 3");
    expect(exec.status).toBe(1);
    expect(cli(["exec", "-i", id, "cat"], "through stdin\n").stdout).toBe("through stdin\n");

    const attached = spawn(crictl, ["--runtime-endpoint", `unix://${dirs.socket}`, "attach", id]);
    let attachOut = "";
    attached.stdout.on("data", (d) => (attachOut += d));
    await new Promise((r) => setTimeout(r, 1500));
    attached.kill("SIGINT");
    expect(attachOut).toContain("tick");

    const local = port + 1;
    const forward = spawn(crictl, [
      "--runtime-endpoint",
      `unix://${dirs.socket}`,
      "port-forward",
      podId,
      `${local}:${port}`,
    ]);
    let forwardOut = "";
    forward.stdout.on("data", (d) => (forwardOut += d));
    forward.stderr.on("data", (d) => (forwardOut += d));
    for (let i = 0; i < 50 && !forwardOut.includes("Forwarding from"); i++)
      await new Promise((r) => setTimeout(r, 100));
    const body = await new Promise<string>((resolve, reject) => {
      get(`http://127.0.0.1:${local}/index.html`, (res) => {
        let text = "";
        res.on("data", (d) => (text += d));
        res.on("end", () => resolve(text));
      }).on("error", reject);
    });
    forward.kill("SIGINT");
    expect(body).toBe("hi\n");
    await runtime("RemoveContainer", { container_id: id });
  });

  test("an image in use cannot be removed", async () => {
    const id = await createStarted("holder", ["sleep", "1000"]);
    await expect(
      rpc(daemon.clients.image, "RemoveImage", { image: { image } }),
    ).rejects.toMatchObject({
      code: status.FAILED_PRECONDITION,
    });
    await runtime("RemoveContainer", { container_id: id });
  });

  test("image volumes: read-only, reported, in use, sub paths stay inside the image", async () => {
    const volumeImage = `${registry.host}/library/data:1`;
    await pushImage(
      registry,
      "library/data",
      "1",
      buildImage({
        layers: [
          buildLayer([
            { name: "data", type: "directory", mode: 0o755 },
            { name: "data/hello.txt", type: "file", body: "hello from an image\n" },
            { name: "escape", type: "symlink", linkname: "/etc" },
          ]),
        ],
      }),
    );
    const { image_ref } = await rpc<{ image_ref: string }>(daemon.clients.image, "PullImage", {
      image: { image: volumeImage },
    });
    const withVolume = (name: string, subPath = "") =>
      createStarted(name, ["sleep", "1000"], {
        mounts: [
          {
            container_path: "/vol",
            readonly: true,
            image: { image: volumeImage },
            image_sub_path: subPath,
          },
        ],
      });
    const id = await withVolume("imgvol");
    const exec = (cmd: string) =>
      runtime<{ stdout: Buffer; stderr: Buffer; exit_code: number }>("ExecSync", {
        container_id: id,
        cmd: ["sh", "-c", cmd],
        timeout: 10,
      });
    expect((await exec("cat /vol/data/hello.txt")).stdout.toString()).toBe("hello from an image\n");
    expect((await exec("touch /vol/data/new")).exit_code).not.toBe(0);
    const { status: st } = await runtime<{
      status: { mounts: { container_path: string; image: { image_ref: string } }[] };
    }>("ContainerStatus", { container_id: id });
    expect(st.mounts[0]?.image.image_ref).toBe(image_ref);
    await expect(
      rpc(daemon.clients.image, "RemoveImage", { image: { image: volumeImage } }),
    ).rejects.toMatchObject({ code: status.FAILED_PRECONDITION });

    const sub = await withVolume("imgvol-sub", "data");
    const subRead = await runtime<{ stdout: Buffer }>("ExecSync", {
      container_id: sub,
      cmd: ["cat", "/vol/hello.txt"],
      timeout: 10,
    });
    expect(subRead.stdout.toString()).toBe("hello from an image\n");
    await expect(
      createStarted("imgvol-rw", ["sleep", "1000"], {
        mounts: [{ container_path: "/vol", readonly: false, image: { image: volumeImage } }],
      }),
    ).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
    for (const bad of ["escape", "../data", "/data", "missing"]) {
      await expect(withVolume(`imgvol-bad-${bad.replace(/\W/g, "")}`, bad)).rejects.toMatchObject({
        code: status.INVALID_ARGUMENT,
      });
    }

    await runtime("RemoveContainer", { container_id: sub });
    await runtime("RemoveContainer", { container_id: id });
    expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toContain("image-volumes");
    await rpc(daemon.clients.image, "RemoveImage", { image: { image: volumeImage } });
  });

  test("bad input: unknown pod, missing image, missing names", async () => {
    await expect(
      runtime("CreateContainer", {
        pod_sandbox_id: "nope",
        config: containerConfig("x", ["true"]),
      }),
    ).rejects.toMatchObject({ code: status.NOT_FOUND });
    await expect(
      runtime("CreateContainer", {
        pod_sandbox_id: podId,
        config: { ...containerConfig("x", ["true"]), image: { image: `${registry.host}/none:1` } },
      }),
    ).rejects.toMatchObject({ code: status.NOT_FOUND });
    await expect(
      runtime("CreateContainer", {
        pod_sandbox_id: podId,
        config: { ...containerConfig("x", ["true"]), metadata: {} },
      }),
    ).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
    await expect(runtime("StartContainer", { container_id: "nope" })).rejects.toMatchObject({
      code: status.NOT_FOUND,
    });
    const { containers } = await runtime<{ containers: unknown[] }>("ListContainers", {});
    expect(containers).toEqual([]);
  });

  test("crictl create, start, logs, exec, stop, rm", () => {
    const dir = join(dirs.dir, "crictl");
    mkdirSync(dir, { recursive: true });
    const pod = join(dir, "pod.json");
    const ctr = join(dir, "ctr.json");
    spawnSync("sh", [
      "-c",
      `cat > ${pod} <<'X'\n${JSON.stringify({
        ...podConfig("p1"),
        // crictl's JSON takes the enums as numbers: NODE = 2, CONTAINER = 1, POD = 0
        linux: { security_context: { namespace_options: { network: 2, pid: 1, ipc: 0 } } },
      })}\nX`,
    ]);
    spawnSync("sh", [
      "-c",
      `cat > ${ctr} <<'X'\n${JSON.stringify(containerConfig("cli", ["sh", "-c", "echo from-crictl; sleep 1000"]))}\nX`,
    ]);
    const run = (...args: string[]) =>
      spawnSync(
        crictl,
        [
          "--runtime-endpoint",
          `unix://${dirs.socket}`,
          "--image-endpoint",
          `unix://${dirs.socket}`,
          ...args,
        ],
        {
          encoding: "utf8",
          timeout: 30_000,
        },
      );
    const created = run("create", podId, ctr, pod);
    expect([created.status, created.stderr]).toEqual([
      0,
      expect.not.stringContaining("level=error"),
    ]);
    const id = created.stdout.trim();
    expect(run("start", id).status).toBe(0);
    spawnSync("sleep", ["0.3"]);
    expect(run("logs", id).stdout).toBe("from-crictl\n");
    const exec = run("exec", "-s", id, "echo", "inside");
    expect(exec.stdout.trim()).toBe("inside"); // crictl adds its own newlines
    expect(run("ps").stdout).toContain(id.slice(0, 13));
    expect(run("stop", "-t", "1", id).status).toBe(0);
    expect(run("rm", id).status).toBe(0);
  });
});
