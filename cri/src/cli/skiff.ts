/**
 * skiff: the docker-like CLI on a node, talking to skiff-cri over its socket.
 * Commands: version, info, config, the image commands (commands/images.ts,
 * commands/login.ts), and exec, attach, port-forward (commands/exec.ts,
 * commands/port-forward.ts) over skiff-cri's streaming server. Errors are one line on
 * stderr and exit status 1; usage errors 2; exec exits with the remote command's status.
 */
import { status } from "@grpc/grpc-js";
import { skiffVersion } from "../core/version.js";
import type { VersionResponse__Output } from "../generated/runtime/v1/VersionResponse.js";
import type { StatusResponse__Output } from "../generated/runtime/v1/StatusResponse.js";
import type { GetConfigResponse__Output } from "../generated/skiff/v1/GetConfigResponse.js";
import type { ReloadConfigResponse__Output } from "../generated/skiff/v1/ReloadConfigResponse.js";
import { connect, defaultSocket, rpc } from "./client.js";
import { attach, exec } from "./commands/exec.js";
import { ArgumentError, imageCommands, UsageError, type Command } from "./commands/images.js";
import { login, logout } from "./commands/login.js";
import { portForward } from "./commands/port-forward.js";

const usage = `usage: skiff [--socket PATH] COMMAND

commands:
  version         client and skiff-cri versions
  info            runtime status and conditions (CRI Status, verbose)
  config          the configuration skiff-cri has in force
  config reload   make skiff-cri read its configuration files again
  pull IMAGE      pull an image, showing per-layer progress (-q: only the name)
  images          list images (-q ids only, --digests) [REPOSITORY[:TAG]]
  inspect IMAGE.. an image's details as JSON
  rmi IMAGE...    remove names or images (-f: also images with several names)
  tag SRC TARGET  give an image another name
  push IMAGE      upload an image to its registry
  save [-o FILE] [--format oci|docker] IMAGE...   images as a tar archive (stdout without -o)
  load [-i FILE]  load images from a tar archive (stdin without -i)
  login [-u USER] [-p PASS | --password-stdin] SERVER   store registry credentials
  logout SERVER   remove them
  exec [-i] [-t] CONTAINER CMD [ARG...]   run a command in a running container (id or
                  unique id prefix); -i relays stdin, -t gives it a terminal; skiff exits
                  with its exit code
  attach [-i] [-t] CONTAINER   join a container's stdio (-i needs a container created
                  with stdin); Ctrl-P Ctrl-Q (with -it) or Ctrl-C leaves it running
  port-forward POD [LOCAL:]REMOTE...   forward 127.0.0.1:LOCAL to port REMOTE in a pod
                  (sandbox id or unique prefix); LOCAL 0 or empty picks a free port

--socket PATH     skiff-cri's socket (default $SKIFF_SOCKET or ${defaultSocket})`;

const commands: Record<string, Command> = {
  version: async (c) => {
    const v = await rpc<VersionResponse__Output>(c.runtime, "Version", {});
    out(
      `Client: skiff ${skiffVersion}\nServer: ${v.runtime_name} ${v.runtime_version} (CRI ${v.runtime_api_version})`,
    );
  },
  info: async (c) => {
    const s = await rpc<StatusResponse__Output>(c.runtime, "Status", { verbose: true });
    const conditions = s.status?.conditions ?? [];
    for (const cond of conditions) {
      out(`${cond.type}: ${cond.status}${cond.reason ? ` (${cond.reason}: ${cond.message})` : ""}`);
    }
    for (const [key, value] of Object.entries(s.info)) out(`${key}: ${value}`);
  },
  config: async (c, args) => {
    if (args[0] === "reload") {
      const r = await rpc<ReloadConfigResponse__Output>(c.config, "Reload", {});
      out(`reloaded: ${r.files.join(", ") || "(no files)"}`);
      return;
    }
    if (args.length > 0) throw new Error(`config: unknown argument "${args[0]}"`);
    const r = await rpc<GetConfigResponse__Output>(c.config, "Get", {});
    out(`# files: ${r.files.join(", ") || "(none)"}\n${r.yaml.trimEnd()}`);
  },
  ...imageCommands,
  login,
  logout,
  exec,
  attach,
  "port-forward": portForward,
};

function out(text: string): void {
  process.stdout.write(`${text}\n`);
}

/** Global options come before the command; everything after it is the command's. */
function globalOptions(argv: string[]): { socket?: string; help: boolean; rest: string[] } {
  const result: { socket?: string; help: boolean; rest: string[] } = { help: false, rest: [] };
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "-h" || arg === "--help") result.help = true;
    else if (arg === "--socket") {
      const value = argv[++i];
      if (value === undefined) throw new Error("option '--socket' needs a value");
      result.socket = value;
    } else if (arg.startsWith("--socket=")) result.socket = arg.slice("--socket=".length);
    else if (arg.startsWith("-")) throw new Error(`unknown option '${arg}'`);
    else break;
  }
  result.rest = argv.slice(i);
  return result;
}

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = globalOptions(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`skiff: ${(err as Error).message}\n${usage}\n`);
    return 2;
  }
  const [name, ...args] = parsed.rest;
  if (parsed.help || name === undefined) {
    process.stdout.write(`${usage}\n`);
    return name === undefined && !parsed.help ? 2 : 0;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`skiff: unknown command "${name}"\n${usage}\n`);
    return 2;
  }
  const socket = parsed.socket ?? process.env["SKIFF_SOCKET"] ?? defaultSocket;
  const clients = connect(socket);
  try {
    const code = await command(clients, args);
    return typeof code === "number" ? code : 0;
  } catch (err) {
    if (err instanceof ArgumentError) {
      process.stderr.write(`skiff: ${err.message}\n`);
      return 2;
    }
    const e = err as Error & { details?: string; code?: number };
    const unreachable = e.code === status.UNAVAILABLE && /connect/i.test(e.details ?? "");
    const text = unreachable
      ? `cannot reach skiff-cri on ${socket} (is it running?): ${e.details}`
      : err instanceof UsageError
        ? e.message
        : (e.details ?? e.message);
    process.stderr.write(`skiff: ${text.replace(/\s*\n\s*/g, " ")}\n`);
    return 1;
  } finally {
    clients.close();
  }
}

process.exitCode = await main();
