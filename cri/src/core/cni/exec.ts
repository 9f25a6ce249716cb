/**
 * Running one CNI plugin binary, as the spec's protocol says: the plugin named by the
 * config's `type` is looked up in the bin dirs in order; parameters go in CNI_*
 * environment variables, the network configuration as JSON on stdin; success is exit 0
 * (with a result on stdout for ADD and VERSION), failure is non-zero with an error
 * object `{cniVersion, code, msg, details}` on stdout. Each call has a timeout after
 * which the plugin's process group is SIGKILLed.
 */
import { accessSync, constants, statSync } from "node:fs";
import { join } from "node:path";
import { SkiffError } from "../errors.js";
import { launch } from "../shim/launch.js";

export type CniCommand = "ADD" | "DEL" | "CHECK" | "STATUS" | "VERSION" | "GC";

export interface PluginCall {
  command: CniCommand;
  /** Plugin type: the binary's name. */
  type: string;
  /** Network name, for error messages. */
  network: string;
  containerId?: string;
  netns?: string;
  ifName?: string;
  /** CNI_ARGS pairs. */
  args?: [string, string][];
  stdin: Record<string, unknown>;
}

export interface ExecOptions {
  binDirs: readonly string[];
  timeoutMs: number;
}

/** A plugin's own error (its `code`, `msg` and `details`), or its failure to answer. */
export class CniPluginError extends SkiffError {
  constructor(
    readonly plugin: string,
    readonly network: string,
    readonly command: CniCommand,
    readonly code: number | undefined,
    readonly msg: string,
    readonly details: string,
    kind: SkiffError["kind"] = kindOf(code),
  ) {
    const codeText = code === undefined ? "" : ` (code ${code})`;
    const detailText = details === "" ? "" : `: ${details}`;
    super(
      kind,
      `CNI plugin ${plugin} ${command} on network ${network} failed${codeText}: ${msg}${detailText}`,
    );
    this.name = "CniPluginError";
  }
}

/** Well-known codes: 11 try again later, 50/51 plugin not available (STATUS). */
function kindOf(code: number | undefined): SkiffError["kind"] {
  if (code === 11 || code === 50 || code === 51) return "Unavailable";
  if (code === 1 || code === 2 || code === 7) return "FailedPrecondition";
  return "Internal";
}

/** The first executable regular file `type` in the bin dirs, or undefined. */
export function findPlugin(type: string, binDirs: readonly string[]): string | undefined {
  for (const dir of binDirs) {
    const path = join(dir, type);
    try {
      if (!statSync(path).isFile()) continue;
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not here: try the next directory
    }
  }
  return undefined;
}

const maxOutput = 4 << 20;

/** Runs the plugin; resolves to its parsed stdout (undefined when empty). */
export async function execPlugin(call: PluginCall, options: ExecOptions): Promise<unknown> {
  const binary = findPlugin(call.type, options.binDirs);
  if (binary === undefined) {
    throw new CniPluginError(
      call.type,
      call.network,
      call.command,
      undefined,
      `plugin binary not found in ${options.binDirs.join(", ")}`,
      "",
      "FailedPrecondition",
    );
  }
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith("CNI_")) env[k] = v;
  }
  env.CNI_COMMAND = call.command;
  env.CNI_PATH = options.binDirs.join(":");
  if (call.containerId !== undefined) env.CNI_CONTAINERID = call.containerId;
  if (call.netns !== undefined && call.netns !== "") env.CNI_NETNS = call.netns;
  if (call.ifName !== undefined) env.CNI_IFNAME = call.ifName;
  if (call.args !== undefined && call.args.length > 0) {
    env.CNI_ARGS = call.args.map(([k, v]) => `${k}=${v}`).join(";");
  }

  const fail = (msg: string, code?: number, details = "", kind?: SkiffError["kind"]) =>
    new CniPluginError(call.type, call.network, call.command, code, msg, details, kind);

  const { exitCode, signal, stdout, stderr, timedOut, spawnError } = await new Promise<{
    exitCode: number | null;
    signal: NodeJS.Signals | null;
    stdout: string;
    stderr: string;
    timedOut: boolean;
    spawnError?: Error;
  }>((resolve) => {
    // its own process group, so a timeout kills whatever the plugin started too
    const child = launch(binary, [], { env, detached: true });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    let timedOut = false;
    let spawnError: Error | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
    }, options.timeoutMs);
    child.stdout!.on("data", (b: Buffer) => {
      if (outBytes < maxOutput) out.push(b);
      outBytes += b.length;
    });
    child.stderr!.on("data", (b: Buffer) => {
      if (errBytes < 65536) err.push(b);
      errBytes += b.length;
    });
    child.on("error", (e) => {
      spawnError = e;
    });
    child.stdin!.on("error", () => undefined);
    child.on("close", (code, sig) => {
      clearTimeout(timer);
      resolve({
        exitCode: code,
        signal: sig,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
        timedOut,
        ...(spawnError ? { spawnError } : {}),
      });
    });
    child.stdin!.end(JSON.stringify(call.stdin));
  });

  if (spawnError !== undefined && exitCode === null) {
    throw fail(`cannot run ${binary}: ${spawnError.message}`);
  }
  if (timedOut) {
    throw fail(
      `no answer within ${options.timeoutMs} ms; killed`,
      undefined,
      "",
      "DeadlineExceeded",
    );
  }
  const text = stdout.trim();
  if (exitCode !== 0) {
    const parsed = tryJson(text);
    if (isErrorObject(parsed)) {
      throw fail(
        parsed.msg,
        typeof parsed.code === "number" ? parsed.code : undefined,
        stringOf(parsed.details),
      );
    }
    const why = signal !== null ? `killed by ${signal}` : `exited with status ${exitCode}`;
    const said = [text, stderr.trim()].filter((s) => s !== "").join("; ");
    throw fail(said === "" ? why : `${why}: ${said.slice(0, 2000)}`);
  }
  if (text === "") return undefined;
  const parsed = tryJson(text);
  if (parsed === undefined) throw fail(`printed output that is not JSON: ${text.slice(0, 500)}`);
  return parsed;
}

function tryJson(text: string): unknown {
  if (text === "") return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function isErrorObject(v: unknown): v is { code?: unknown; msg: string; details?: unknown } {
  return typeof v === "object" && v !== null && typeof (v as { msg?: unknown }).msg === "string";
}

function stringOf(v: unknown): string {
  if (v === undefined || v === null) return "";
  return typeof v === "string" ? v : JSON.stringify(v);
}
