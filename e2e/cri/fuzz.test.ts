/**
 * Fuzzing every CRI RPC (runtime.v1 RuntimeService and ImageService, k8s.io/cri-api
 * v0.37) of a real skiff-cri over its socket, with raw bodies sent as they are: random
 * bytes, random wire records (wrong wire types, lying lengths, unknown fields), random
 * messages shaped by the schema (huge strings, extreme numbers, unknown enum values,
 * random nested configs, live and unknown ids), truncated and bit-flipped valid
 * requests, and valid requests with fields dropped, replaced or re-typed. Streaming RPCs
 * are opened with the same bodies and cancelled. Each call has a deadline.
 *
 * What a user would see: every call answers success or a gRPC status that is neither
 * INTERNAL nor UNKNOWN (and none hangs), the daemon stays up, and afterwards Version,
 * Status and a real pod → container → start → stop → remove cycle work, and removing
 * everything leaves no pod, container, mount, process or directory behind.
 *
 * Inputs are a function of the seed, printed at the start (and in every failure);
 * SKIFF_FUZZ_SEED replays a run, SKIFF_FUZZ_RPC=A,B limits it to some RPCs (each RPC has
 * a PRNG of its own, so its inputs stay the same), SKIFF_FUZZ_ITERATIONS sets the count
 * and SKIFF_FUZZ_DAEMON_LOG=<file> keeps skiff-cri's log.
 * Inputs that could reach outside the test's directories (log, mount, seccomp and
 * checkpoint paths, cgroup parents, image references off the test registry, ExecSync
 * commands) are redrawn before they are sent.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import {
  Client,
  credentials,
  Metadata,
  status as grpcStatus,
  type ServiceError,
  type StatusObject,
} from "@grpc/grpc-js";
import { loadSync, type MethodDefinition, type PackageDefinition } from "@grpc/proto-loader";
import { randomBytes, randomInt } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { rpc } from "../../cri/src/cli/client.js";
import { loaderOptions } from "../../cri/src/grpc/proto.js";
import { busyboxImage, pushImage } from "../harness/images.js";
import { startRegistry, type TestRegistry } from "../harness/registry.js";
import {
  removeDirs,
  startDaemon,
  tempDirs,
  type DaemonDirs,
  type RunningDaemon,
} from "../harness/skiff-cri.js";
import { Generator, Prng, Schema, seedFor } from "./fuzz-inputs.js";
import { cgroupDirs, forceCleanup, removeCgroupTree } from "./sandbox-helpers.js";

const seed = Number(process.env["SKIFF_FUZZ_SEED"] ?? randomInt(2 ** 31));
const iterations = Number(process.env["SKIFF_FUZZ_ITERATIONS"] ?? 60);
const onlyRpcs = (process.env["SKIFF_FUZZ_RPC"] ?? "").split(",").filter((s) => s !== "");
const replay = `SKIFF_FUZZ_SEED=${seed}`;
/** No call of a healthy daemon takes this long here: past it, the call hangs. */
const deadlineMs = 5000;

const tag = randomBytes(3).toString("hex");
const cgroupTop = `skiff-e2e-fuzz-${tag}`;
const services = ["runtime.v1.RuntimeService", "runtime.v1.ImageService"] as const;
/** Last, so the live pod, container and image the mutations aim at live long. */
const destructive = [
  "StopContainer",
  "RemoveContainer",
  "StopPodSandbox",
  "RemovePodSandbox",
  "RemoveImage",
];
const strategies = [
  "random-bytes",
  "random-records",
  "schema-random",
  "object-mutation",
  "wire-mutation",
  "truncated",
  "bit-flips",
  "object-mutation",
  "wire-mutation",
] as const;
type Strategy = (typeof strategies)[number] | "oversized";

let registry: TestRegistry | undefined;
let dirs: DaemonDirs | undefined;
let daemon: RunningDaemon | undefined;
let client: Client | undefined;
let definitions: PackageDefinition;
let image = "";
let logDir = "";
const fixture = { podId: "", containerId: "", pods: 0 };

interface Outcome {
  code: number;
  details: string;
  /** A stream still open when the test cancelled it. */
  cancelled?: boolean;
}

interface Sent {
  rpc: string;
  iteration: number;
  strategy: Strategy;
  body: Buffer;
  outcome: Outcome;
}

const codeName = (code: number): string => grpcStatus[code] ?? String(code);
const describeSent = (s: Sent): string =>
  `${s.rpc} #${s.iteration} (${s.strategy}, ${s.body.length} bytes): ${codeName(s.outcome.code)}` +
  ` "${s.outcome.details.slice(0, 300)}"\n    body: ${s.body.subarray(0, 96).toString("hex")}` +
  `${s.body.length > 96 ? "…" : ""}\n    replay: ${replay} SKIFF_FUZZ_RPC=${s.rpc}`;

const alive = (d: RunningDaemon | undefined): boolean =>
  d !== undefined && d.process.exitCode === null && d.process.signalCode === null;

function live(): RunningDaemon {
  if (!daemon || !alive(daemon)) throw new Error(`skiff-cri is not running (${replay})`);
  return daemon;
}

const runtime = <T>(method: string, request: object, ms = 30_000) =>
  rpc<T>(live().clients.runtime, method, request, ms);
const images = <T>(method: string, request: object, ms = 30_000) =>
  rpc<T>(live().clients.image, method, request, ms);

const podConfig = (name: string) => ({
  metadata: { name, namespace: "fuzz", uid: `uid-${name}`, attempt: 0 },
  log_directory: logDir,
  labels: { app: "fuzz" },
  annotations: { "e2e.skiff.dev/test": "fuzz" },
  linux: {
    cgroup_parent: `/${cgroupTop}/pod-${name}`,
    security_context: { namespace_options: { network: "NODE", pid: "CONTAINER", ipc: "POD" } },
  },
});

const containerConfig = (name: string) => ({
  metadata: { name, attempt: 0 },
  image: { image },
  // pid 1 of its namespace: exits at once on SIGTERM, so no stop waits for its timeout
  command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"],
  log_path: `${name}.log`,
  labels: { app: "fuzz" },
  linux: { resources: { memory_limit_in_bytes: String(64 << 20), cpu_shares: "512" } },
});

/** The pod RunPodSandbox's mutations start from: most of PodSandboxConfig set. */
const richPodConfig = () => {
  const base = podConfig("fuzz-run");
  return {
    ...base,
    hostname: "fuzz-host",
    dns_config: { servers: ["10.96.0.10"], searches: ["svc.cluster.local"], options: ["ndots:5"] },
    port_mappings: [{ protocol: "TCP", container_port: 8080, host_port: 0, host_ip: "" }],
    linux: {
      ...base.linux,
      sysctls: { "kernel.shmmni": "1000" },
      resources: { cpu_shares: "512", memory_limit_in_bytes: String(256 << 20) },
      overhead: { memory_limit_in_bytes: String(16 << 20) },
      security_context: {
        ...base.linux.security_context,
        run_as_user: { value: "0" },
        seccomp: { profile_type: "RuntimeDefault" },
        supplemental_groups: ["1000"],
      },
    },
  };
};

/** The container CreateContainer's mutations start from: most of ContainerConfig set. */
const richContainerConfig = () => {
  const base = containerConfig("fuzz-create");
  return {
    ...base,
    args: ["-x"],
    working_dir: "/",
    envs: [{ key: "A", value: Buffer.from("b") }],
    mounts: [
      { container_path: "/data", host_path: scratch(), readonly: true },
      { container_path: "/rw", host_path: scratch(), propagation: "PROPAGATION_PRIVATE" },
    ],
    devices: [{ container_path: "/dev/fuzz-null", host_path: "/dev/null", permissions: "rwm" }],
    annotations: { "e2e.skiff.dev/test": "fuzz" },
    stdin: false,
    tty: false,
    linux: {
      ...base.linux,
      security_context: {
        capabilities: { add_capabilities: ["NET_RAW"], drop_capabilities: ["MKNOD"] },
        run_as_user: { value: "1000" },
        run_as_group: { value: "1000" },
        supplemental_groups: ["1001"],
        readonly_rootfs: true,
        no_new_privs: true,
        masked_paths: ["/proc/kcore"],
        readonly_paths: ["/proc/sys"],
        seccomp: { profile_type: "RuntimeDefault" },
        namespace_options: { network: "NODE", pid: "CONTAINER", ipc: "POD" },
      },
    },
  };
};

/** A valid request of each RPC, aimed at the live pod, container and image. */
function validRequest(method: string): Record<string, unknown> {
  const pod = { pod_sandbox_id: fixture.podId };
  const container = { container_id: fixture.containerId };
  const podFilter = {
    id: fixture.podId.slice(0, 8),
    label_selector: { app: "fuzz" },
  };
  switch (method) {
    case "Version":
      return { version: "v1" };
    case "Status":
      return { verbose: true };
    case "RunPodSandbox":
      return { config: richPodConfig(), runtime_handler: "" };
    case "StopPodSandbox":
    case "RemovePodSandbox":
    case "PodSandboxStats":
      return pod;
    case "PodSandboxStatus":
      return { ...pod, verbose: true };
    case "UpdatePodSandboxResources":
      return {
        ...pod,
        resources: { memory_limit_in_bytes: String(256 << 20), cpu_shares: "1024" },
        overhead: { memory_limit_in_bytes: String(16 << 20) },
      };
    case "PortForward":
      return { ...pod, port: [8080] };
    case "ListPodSandbox":
    case "StreamPodSandboxes":
      return { filter: { ...podFilter, state: { state: "SANDBOX_READY" } } };
    case "ListPodSandboxStats":
    case "StreamPodSandboxStats":
      return { filter: podFilter };
    case "CreateContainer":
      return {
        ...pod,
        config: richContainerConfig(),
        sandbox_config: podConfig("fixture"),
      };
    case "StartContainer":
    case "RemoveContainer":
    case "ReopenContainerLog":
    case "ContainerStats":
    case "Attach":
      return { ...container, stdout: true };
    case "StopContainer":
      return { ...container, timeout: "1" };
    case "ContainerStatus":
      return { ...container, verbose: true };
    case "UpdateContainerResources":
      return {
        ...container,
        linux: { memory_limit_in_bytes: String(96 << 20), cpu_shares: "256" },
        annotations: { a: "b" },
      };
    case "ExecSync":
      return { ...container, cmd: ["echo", "fuzz"], timeout: "5" };
    case "Exec":
      return { ...container, cmd: ["echo", "fuzz"], stdout: true };
    case "ListContainers":
    case "StreamContainers":
      return {
        filter: {
          id: fixture.containerId.slice(0, 8),
          state: { state: "CONTAINER_RUNNING" },
          pod_sandbox_id: fixture.podId,
          label_selector: { app: "fuzz" },
        },
      };
    case "ListContainerStats":
    case "StreamContainerStats":
      return {
        filter: {
          id: fixture.containerId,
          pod_sandbox_id: fixture.podId,
          label_selector: { app: "fuzz" },
        },
      };
    case "UpdateRuntimeConfig":
      return { runtime_config: { network_config: { pod_cidr: "10.251.7.0/24" } } };
    case "CheckpointContainer":
      return { ...container, location: join(scratch(), "checkpoint.tar"), timeout: "5" };
    case "CheckpointPod":
      return { ...pod, output_path: join(scratch(), "pod.tar") };
    case "RestorePod":
      return { checkpoint_path: join(scratch(), "pod.tar"), config: podConfig("restored") };
    case "ListImages":
    case "StreamImages":
      return { filter: { image: { image } } };
    case "ImageStatus":
      return { image: { image }, verbose: true };
    case "PullImage":
      return { image: { image }, sandbox_config: podConfig("fixture") };
    case "RemoveImage":
      return { image: { image } };
    default:
      return {};
  }
}

const scratch = (): string => join(dirs?.dir ?? "/nonexistent", "scratch");

/**
 * Why a decoded request must not be sent: a field that would make skiff-cri write, read
 * or mount outside the test's directories, create cgroups elsewhere, pull from the
 * internet or run an arbitrary command. Empty when it may be sent.
 */
function unsafeFields(method: string, request: unknown): string[] {
  const top = dirs?.dir ?? "/nonexistent";
  const inside = (p: string) => (p === top || p.startsWith(`${top}/`)) && !p.includes("..");
  const reasons: string[] = [];
  const walk = (value: unknown, path: string): void => {
    if (Array.isArray(value)) return value.forEach((v, i) => walk(v, `${path}[${i}]`));
    if (typeof value !== "object" || value === null || Buffer.isBuffer(value)) return;
    for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
      const at = `${path}.${key}`;
      if (typeof v !== "string") {
        walk(v, at);
        continue;
      }
      switch (key) {
        case "log_directory":
          if (v !== "" && !inside(v)) reasons.push(at);
          break;
        case "log_path":
          if (v.split("/").includes("..")) reasons.push(at);
          break;
        case "cgroup_parent":
          // "" is skiff's default; a character outside the cgroup path set is refused
          if (
            v !== "" &&
            /^[A-Za-z0-9_.:@/-]+$/.test(v) &&
            !v.replace(/^\/+/, "").startsWith(cgroupTop)
          )
            reasons.push(at);
          break;
        case "host_path":
        case "location":
        case "output_path":
        case "checkpoint_path":
        case "localhost_ref":
        case "seccomp_profile_path":
        case "apparmor_profile": {
          const p = v.replace(/^localhost\//, "");
          if (p.startsWith("/") && !inside(p) && p !== "/dev/null") reasons.push(at);
          // checkpoints are unimplemented; a relative path would land in skiff-cri's cwd
          const checkpoint = ["location", "output_path", "checkpoint_path"].includes(key);
          if (checkpoint && !p.startsWith("/") && p !== "") reasons.push(at);
          break;
        }
      }
    }
  };
  walk(request, "request");
  const r = request as Record<string, unknown>;
  if (method === "PullImage") {
    const ref = (r["image"] as { image?: string } | null)?.image ?? "";
    // a reference with a character outside the reference grammar is refused unparsed
    if (ref !== "" && !ref.startsWith(`${registry?.host}/`) && /^[A-Za-z0-9._/:@-]+$/.test(ref))
      reasons.push("request.image.image");
  }
  if (method === "ExecSync") {
    const cmd = (r["cmd"] as string[] | undefined) ?? [];
    const first = cmd[0] ?? "";
    if (!["", "echo", "true", "false"].includes(first) && /^[A-Za-z0-9._/-]{1,40}$/.test(first))
      reasons.push("request.cmd[0]");
  }
  return reasons;
}

function requestTypeName(method: MethodDefinition<object, object>): string {
  const name = (method.requestType.type as { name?: string }).name ?? "";
  return `runtime.v1.${name}`;
}

/** One input of `strategy` for `method`; undefined when every draw was unsafe. */
function makeInput(
  name: string,
  method: MethodDefinition<object, object>,
  strategy: Strategy,
  gen: Generator,
): Buffer | undefined {
  const typeName = requestTypeName(method);
  const p = gen.prng;
  const serialize = (obj: object): Buffer => {
    try {
      return method.requestSerialize(obj);
    } catch {
      return gen.records(typeName);
    }
  };
  const draw = (): Buffer => {
    gen.begin();
    switch (strategy) {
      case "oversized":
        return Buffer.alloc((16 << 20) + p.range(1, 1 << 20), 0x0a);
      case "random-bytes":
        return p.bytes(p.pick([0, 1, 2, 3, 7, 16, 64, 256, p.range(1, 4096)]));
      case "random-records":
        return gen.records(typeName);
      case "schema-random":
        return serialize(gen.message(typeName));
      case "object-mutation":
        return serialize(gen.mutateObject(validRequest(name), typeName));
      case "wire-mutation":
        return gen.mutateWire(serialize(validRequest(name)), typeName);
      case "truncated": {
        const valid = serialize(validRequest(name));
        return valid.length > 1 ? valid.subarray(0, p.int(valid.length)) : p.bytes(3);
      }
      case "bit-flips": {
        const valid = Buffer.from(serialize(validRequest(name)));
        const flips = p.range(1, 4);
        for (let i = 0; i < flips && valid.length > 0; i++) {
          const at = p.int(valid.length);
          valid[at] = p.chance(0.5) ? (valid[at] ?? 0) ^ (1 << p.int(8)) : p.int(256);
        }
        return valid;
      }
    }
  };
  for (let attempt = 0; attempt < 10; attempt++) {
    const body = draw();
    let decoded: unknown;
    try {
      decoded = method.requestDeserialize(body);
    } catch {
      return body; // skiff-cri cannot decode it either
    }
    if (unsafeFields(name, decoded).length === 0) return body;
  }
  return undefined;
}

function callUnary(path: string, body: Buffer): Promise<Outcome> {
  return new Promise((resolve) => {
    if (!client) throw new Error("no client");
    client.makeUnaryRequest(
      path,
      (b: Buffer) => b,
      (b: Buffer) => b,
      body,
      new Metadata(),
      { deadline: Date.now() + deadlineMs },
      (err: ServiceError | null) =>
        resolve(
          err ? { code: err.code, details: err.details } : { code: grpcStatus.OK, details: "" },
        ),
    );
  });
}

/** Opens a server stream, reads what comes, cancels it after `cancelAfterMs` if still open. */
function callStream(path: string, body: Buffer, cancelAfterMs: number): Promise<Outcome> {
  return new Promise((resolve) => {
    if (!client) throw new Error("no client");
    let cancelled = false;
    let settled = false;
    const call = client.makeServerStreamRequest(
      path,
      (b: Buffer) => b,
      (b: Buffer) => b,
      body,
      new Metadata(),
      { deadline: Date.now() + deadlineMs },
    );
    const finish = (o: Outcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(cancelled ? { ...o, cancelled: true } : o);
    };
    call.on("data", () => undefined);
    call.on("error", (err: ServiceError) => finish({ code: err.code, details: err.details }));
    call.on("status", (s: StatusObject) => finish({ code: s.code, details: s.details }));
    const timer = setTimeout(() => {
      cancelled = true;
      call.cancel();
    }, cancelAfterMs);
  });
}

/** Why an answer is a bug: INTERNAL, UNKNOWN, a hang, or a transport that broke. */
function problemOf(s: Sent): string | undefined {
  const { code, cancelled } = s.outcome;
  if (code === grpcStatus.INTERNAL || code === grpcStatus.UNKNOWN) return "unclear error";
  if (code === grpcStatus.DEADLINE_EXCEEDED) return `no answer within ${deadlineMs} ms`;
  if (code === grpcStatus.UNAVAILABLE) return "connection lost";
  if (code === grpcStatus.CANCELLED && !cancelled) return "cancelled by the server";
  return undefined;
}

const running = async (id: string): Promise<boolean> => {
  if (!id) return false;
  try {
    const r = await runtime<{ status: { state: string } }>("ContainerStatus", { container_id: id });
    return r.status.state === "CONTAINER_RUNNING";
  } catch {
    return false;
  }
};

const podReady = async (id: string): Promise<boolean> => {
  if (!id) return false;
  try {
    const r = await runtime<{ status: { state: string } }>("PodSandboxStatus", {
      pod_sandbox_id: id,
    });
    return r.status.state === "SANDBOX_READY";
  } catch {
    return false;
  }
};

/**
 * The live objects the mutations aim at: the image pulled, a ready host-network pod, a
 * running container in it. Whatever an earlier RPC's fuzz removed or stopped is made
 * again.
 */
async function ensureFixture(): Promise<void> {
  const status = await images<{ image: unknown }>("ImageStatus", { image: { image } });
  if (!status.image) await images("PullImage", { image: { image } });
  if (!(await podReady(fixture.podId))) {
    if (fixture.podId)
      await runtime("RemovePodSandbox", { pod_sandbox_id: fixture.podId }).catch(() => undefined);
    // a new name each time: the fuzz may have left a stopped pod holding the old one
    const r = await runtime<{ pod_sandbox_id: string }>("RunPodSandbox", {
      config: podConfig(`fixture-${++fixture.pods}`),
    });
    fixture.podId = r.pod_sandbox_id;
    fixture.containerId = "";
  }
  if (!(await running(fixture.containerId))) {
    if (fixture.containerId)
      await runtime("RemoveContainer", { container_id: fixture.containerId }).catch(
        () => undefined,
      );
    const r = await runtime<{ container_id: string }>("CreateContainer", {
      pod_sandbox_id: fixture.podId,
      config: containerConfig(`fixture-${randomBytes(3).toString("hex")}`),
      sandbox_config: podConfig("fixture"),
    });
    fixture.containerId = r.container_id;
    await runtime("StartContainer", { container_id: fixture.containerId });
  }
}

/** Removes every container and pod through the API; answers what it removed. */
async function removeEverything(ms = 30_000): Promise<{ pods: string[]; containers: string[] }> {
  const containers = (
    await runtime<{ containers: { id: string }[] }>("ListContainers", {}, ms)
  ).containers.map((c) => c.id);
  for (const id of containers) {
    await runtime("StopContainer", { container_id: id, timeout: "1" }, ms);
    await runtime("RemoveContainer", { container_id: id }, ms);
  }
  const pods = (await runtime<{ items: { id: string }[] }>("ListPodSandbox", {}, ms)).items.map(
    (p) => p.id,
  );
  for (const id of pods) {
    await runtime("StopPodSandbox", { pod_sandbox_id: id }, ms);
    await runtime("RemovePodSandbox", { pod_sandbox_id: id }, ms);
  }
  return { pods, containers };
}

const listDir = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir).sort() : []);

/**
 * Processes other than skiff-cri whose command line, working directory or root is in
 * the test's directory (a container's monitor works in its state directory).
 */
function processesUnder(dir: string): string[] {
  const out: string[] = [];
  const link = (path: string): string => {
    try {
      return readlinkSync(path);
    } catch {
      return ""; // a kernel thread, or gone
    }
  };
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    if (Number(pid) === daemon?.process.pid || Number(pid) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
      const places = [cmdline, link(`/proc/${pid}/cwd`), link(`/proc/${pid}/root`)];
      if (places.some((p) => p.includes(`${dir}/`) || p.endsWith(dir)))
        out.push(`${pid} ${cmdline.trim()}`);
    } catch {
      // gone
    }
  }
  return out;
}

/** The processes in the cgroups under the test's cgroup parent. */
function processesInCgroups(): number[] {
  const pids: number[] = [];
  const walk = (cg: string): void => {
    for (const e of readdirSync(cg, { withFileTypes: true }))
      if (e.isDirectory()) walk(join(cg, e.name));
    try {
      const procs = readFileSync(join(cg, "cgroup.procs"), "utf8").split("\n");
      pids.push(...procs.filter((l) => l !== "").map(Number));
    } catch {
      // not a cgroup directory
    }
  };
  for (const top of cgroupDirs(cgroupTop)) walk(top);
  return pids;
}

/**
 * The last resort when the CRI could not remove everything: SIGKILL to what the test's
 * pods and containers left (their processes and monitors), then the mounts.
 */
function killLeftovers(d: DaemonDirs): void {
  const pids = new Set(processesInCgroups());
  for (const line of processesUnder(d.dir)) pids.add(Number(line.split(" ")[0]));
  for (const id of listDir(join(d.state, "containers"))) {
    try {
      pids.add(Number(readFileSync(join(d.state, "containers", id, "pid"), "utf8").trim()));
    } catch {
      // never started
    }
  }
  for (const pid of pids) {
    try {
      if (pid > 1) process.kill(pid, "SIGKILL");
    } catch {
      // gone
    }
  }
  forceCleanup(d);
}

/** Everything removed pods and containers could leave on the machine. */
function inventory(d: DaemonDirs) {
  const mounts = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4] ?? "")
    .filter((m) => m.startsWith(`${d.dir}/`));
  return {
    mounts,
    infra: listDir(join(d.state, "infra")),
    netns: listDir(join(d.state, "netns")),
    // .seccomp-cache holds compiled filters by profile, not any container's
    containerState: listDir(join(d.state, "containers")).filter((f) => !f.startsWith(".")),
    containerDirs: listDir(join(d.root, "containers")),
    podDirs: listDir(join(d.root, "sandboxes")),
    cgroupProcesses: processesInCgroups(),
    processes: processesUnder(d.dir),
  };
}

beforeAll(async () => {
  console.log(`fuzz seed ${seed} (replay: ${replay}), ${iterations} inputs per RPC`);
  definitions = loadSync(["runtime/v1/api.proto"], loaderOptions);
  registry = await startRegistry();
  image = `${registry.host}/fuzz/busybox:latest`;
  await pushImage(registry, "fuzz/busybox", "latest", busyboxImage("gzip"));
  dirs = tempDirs("skiff-e2e-fuzz-");
  logDir = join(dirs.dir, "logs");
  mkdirSync(logDir);
  mkdirSync(scratch());
  daemon = await startDaemon(dirs);
  client = new Client(`unix://${dirs.socket}`, credentials.createInsecure(), {
    "grpc.max_send_message_length": 64 << 20,
    "grpc.max_receive_message_length": 64 << 20,
  });
  await images("PullImage", { image: { image } });
  await ensureFixture();
}, 60_000);

afterAll(async () => {
  const keep = process.env["SKIFF_FUZZ_DAEMON_LOG"];
  try {
    client?.close();
    if (dirs) {
      // a daemon that died is started again: its recovery knows what to remove
      if (!alive(daemon)) {
        if (keep && daemon) writeFileSync(`${keep}.exited`, daemon.output());
        daemon = await startDaemon(dirs).catch((err: Error) => {
          console.warn(`cleanup: skiff-cri did not start again: ${err.message}`);
          return undefined;
        });
      }
      if (alive(daemon))
        await removeEverything(10_000).catch((err: Error) =>
          console.warn(`cleanup through the CRI failed: ${err.message}`),
        );
      if (keep && daemon) writeFileSync(keep, daemon.output());
      await daemon?.stop();
    }
  } finally {
    if (dirs) killLeftovers(dirs);
    removeCgroupTree(cgroupTop);
    if (dirs) removeDirs(dirs);
    await registry?.stop();
  }
}, 60_000);

describe("CRI fuzz", () => {
  test("every RPC, sent garbage and mutated requests, answers a clear status and skiff-cri stays up", async () => {
    const methods = services.flatMap((service) =>
      Object.entries(definitions[service] as Record<string, MethodDefinition<object, object>>).map(
        ([name, method]) => ({ service, name, method }),
      ),
    );
    expect(methods.length).toBeGreaterThan(40);
    const chosen = methods
      .filter((m) => onlyRpcs.length === 0 || onlyRpcs.includes(m.name))
      .sort((a, b) => Number(destructive.includes(a.name)) - Number(destructive.includes(b.name)));
    // one line per kind of problem (RPC, code, message with ids and numbers blanked)
    const problems = new Map<string, { count: number; first: string }>();
    const codes = new Map<string, number>();
    let sent = 0;
    let redrawn = 0;
    const started = Date.now();
    // the mutations of these start from requests that work
    await runtime("RunPodSandbox", validRequest("RunPodSandbox"));
    await runtime("CreateContainer", validRequest("CreateContainer"));
    const timeByRpc = new Map<string, number>();
    let slowestCall = { ms: 0, what: "" };
    for (const { name, method } of chosen) {
      const rpcStarted = Date.now();
      await ensureFixture();
      const prng = new Prng(seedFor(seed, name));
      const gen = new Generator(new Schema(definitions, "runtime.v1"), prng, {
        ids: () => [fixture.podId, fixture.containerId, image, "fixture-1", "fuzz"],
      });
      const plan: Strategy[] = Array.from(
        { length: iterations },
        (_, i) => strategies[i % strategies.length] as Strategy,
      );
      if (name === "Version" || name === "StreamImages") plan.push("oversized");
      for (const [iteration, strategy] of plan.entries()) {
        const body = makeInput(name, method, strategy, gen);
        // the stream's cancel time is drawn whether or not the input was sent
        const cancelAfter = prng.pick([0, 5, 50, 300]);
        if (!body) {
          redrawn++;
          continue;
        }
        const callStarted = Date.now();
        const outcome = method.responseStream
          ? await callStream(method.path, body, cancelAfter)
          : await callUnary(method.path, body);
        const s: Sent = { rpc: name, iteration, strategy, body, outcome };
        const ms = Date.now() - callStarted;
        if (ms > slowestCall.ms) slowestCall = { ms, what: describeSent(s) };
        sent++;
        const key = `${codeName(outcome.code)}${outcome.cancelled ? " (cancelled)" : ""}`;
        codes.set(key, (codes.get(key) ?? 0) + 1);
        const problem = problemOf(s);
        if (problem) {
          const kind = `${name} ${codeName(outcome.code)} ${outcome.details.replace(/[0-9a-f]{12,}|\d+/g, "#").slice(0, 160)}`;
          const seen = problems.get(kind);
          if (seen) seen.count++;
          else problems.set(kind, { count: 1, first: `${problem}: ${describeSent(s)}` });
        }
        if (!alive(daemon)) {
          throw new Error(
            `skiff-cri exited (${daemon?.process.exitCode ?? daemon?.process.signalCode}) after ` +
              `${describeSent(s)}\n--- skiff-cri output (tail) ---\n${daemon?.output().slice(-4000)}`,
          );
        }
      }
      timeByRpc.set(name, Date.now() - rpcStarted);
    }
    const slowest = [...timeByRpc].sort((a, b) => b[1] - a[1]).slice(0, 3);
    console.log(
      `fuzz seed ${seed}: ${sent} calls to ${chosen.length} RPCs in ${Date.now() - started} ms` +
        ` (${redrawn} unsafe inputs skipped; slowest: ` +
        slowest.map(([n, ms]) => `${n} ${ms} ms`).join(", ") +
        "); answers: " +
        [...codes].map(([k, n]) => `${k} ${n}`).join(", "),
    );
    console.log(`slowest call: ${slowestCall.ms} ms, ${slowestCall.what}`);
    const report = [...problems.values()].map((p) => `${p.count}× ${p.first}`);
    expect(report.join("\n")).toBe("");
  }, 180_000);

  test("afterwards Version, Status and a real pod → container → start → stop → remove cycle work", async () => {
    const version = await runtime<{ runtime_name: string }>("Version", {});
    expect(version.runtime_name).toBe("skiff");
    const status = await runtime<{ status: { conditions: { type: string; status: boolean }[] } }>(
      "Status",
      {},
    );
    expect(status.status.conditions.find((c) => c.type === "RuntimeReady")?.status).toBe(true);

    await images("PullImage", { image: { image } });
    const { pod_sandbox_id } = await runtime<{ pod_sandbox_id: string }>("RunPodSandbox", {
      config: podConfig("after"),
    });
    const { container_id } = await runtime<{ container_id: string }>("CreateContainer", {
      pod_sandbox_id,
      config: containerConfig("after"),
      sandbox_config: podConfig("after"),
    });
    await runtime("StartContainer", { container_id });
    const state = async () =>
      (await runtime<{ status: { state: string } }>("ContainerStatus", { container_id })).status
        .state;
    expect(await state()).toBe("CONTAINER_RUNNING");
    const exec = await runtime<{ stdout: Buffer; exit_code: number }>("ExecSync", {
      container_id,
      cmd: ["echo", "still here"],
      timeout: 5,
    });
    expect(exec.exit_code).toBe(0);
    expect(Buffer.from(exec.stdout).toString()).toBe("still here\n");
    await runtime("StopContainer", { container_id, timeout: 5 });
    expect(await state()).toBe("CONTAINER_EXITED");
    await runtime("RemoveContainer", { container_id });
    await runtime("StopPodSandbox", { pod_sandbox_id });
    await runtime("RemovePodSandbox", { pod_sandbox_id });
    expect(
      (await runtime<{ containers: { id: string }[] }>("ListContainers", {})).containers.map(
        (c) => c.id,
      ),
    ).not.toContain(container_id);
  }, 60_000);

  test("removing everything the fuzz made leaves nothing behind", async () => {
    const removed = await removeEverything();
    expect(removed.pods.length).toBeGreaterThan(0);
    expect((await runtime<{ items: unknown[] }>("ListPodSandbox", {})).items).toEqual([]);
    expect((await runtime<{ containers: unknown[] }>("ListContainers", {})).containers).toEqual([]);
    expect(inventory(live().dirs)).toEqual({
      mounts: [],
      infra: [],
      netns: [],
      containerState: [],
      containerDirs: [],
      podDirs: [],
      cgroupProcesses: [],
      processes: [],
    });
    for (const id of removed.pods) expect(cgroupDirs(`skiff/pods/${id}`)).toEqual([]);
  }, 60_000);
});
