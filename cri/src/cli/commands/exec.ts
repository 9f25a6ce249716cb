/**
 * skiff exec and skiff attach: the CRI Exec or Attach RPC gives a single-use URL on
 * skiff-cri's streaming server, and the session runs over it as remotecommand on
 * WebSocket (v5.channel.k8s.io, or v4): our stdout and stderr get the process's, -i
 * relays our stdin (its end reaches the process as EOF), -t asks for a terminal, puts
 * ours in raw mode and sends its size and each change. skiff exits with the remote
 * process's exit code (from the status on the error channel).
 *
 * Leaving: Ctrl-P Ctrl-Q in a raw terminal, or SIGINT/SIGTERM otherwise, closes the
 * connection. The server ends an exec whose client left (skiff exits 130); an attach
 * leaves the container running (skiff exits 0).
 */
import type { Readable } from "node:stream";
import type { AttachResponse__Output } from "../../generated/runtime/v1/AttachResponse.js";
import type { ExecResponse__Output } from "../../generated/runtime/v1/ExecResponse.js";
import type { ListContainersResponse__Output } from "../../generated/runtime/v1/ListContainersResponse.js";
import {
  wsRemoteCommand,
  type RemoteCommandIO,
  type RemoteCommandOutcome,
  type RemoteCommandSession,
} from "../../streaming/client/ws-remotecommand.js";
import { statusExitCode } from "../../streaming/status.js";
import { rpc, type SkiffClients } from "../client.js";
import { ArgumentError, UsageError, type Command } from "./images.js";
import { detachKeys, rawStdin, terminalSize, watchTerminalSize } from "./terminal.js";

interface StreamFlags {
  interactive: boolean;
  tty: boolean;
}

/** Leading -i, -t (or -it, --interactive, --tty); the first other word ends them. */
function parseFlags(command: string, args: string[]): { flags: StreamFlags; rest: string[] } {
  const flags: StreamFlags = { interactive: false, tty: false };
  let i = 0;
  for (; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === "--") {
      i++;
      break;
    }
    if (arg === "--interactive") flags.interactive = true;
    else if (arg === "--tty") flags.tty = true;
    else if (/^-[it]+$/.test(arg)) {
      flags.interactive ||= arg.includes("i");
      flags.tty ||= arg.includes("t");
    } else if (arg.startsWith("-")) throw new ArgumentError(`${command}: unknown option '${arg}'`);
    else break;
  }
  return { flags, rest: args.slice(i) };
}

/**
 * The id of the one container whose id starts with `text`; `text` itself when none does
 * (the RPC then answers NotFound).
 */
async function resolveContainer(c: SkiffClients, text: string): Promise<string> {
  if (text === "") return text;
  const { containers } = await rpc<ListContainersResponse__Output>(c.runtime, "ListContainers", {
    filter: { id: text },
  });
  const ids = containers.map((x) => x.id);
  if (ids.includes(text)) return text;
  if (ids.length > 1) throw new UsageError(`container id prefix ${text} is ambiguous`);
  return ids[0] ?? text;
}

export const exec: Command = async (c, args) => {
  const { flags, rest } = parseFlags("exec", args);
  const [container, ...cmd] = rest;
  if (container === undefined || cmd.length === 0) {
    throw new ArgumentError("exec: usage: skiff exec [-i] [-t] CONTAINER CMD [ARG...]");
  }
  const { url } = await rpc<ExecResponse__Output>(c.runtime, "Exec", {
    container_id: await resolveContainer(c, container),
    cmd,
    tty: flags.tty,
    stdin: flags.interactive,
    stdout: true,
    stderr: !flags.tty,
  });
  return session(url, flags, "exec");
};

export const attach: Command = async (c, args) => {
  const { flags, rest } = parseFlags("attach", args);
  if (rest.length !== 1) throw new ArgumentError("attach: usage: skiff attach [-i] [-t] CONTAINER");
  const { url } = await rpc<AttachResponse__Output>(c.runtime, "Attach", {
    container_id: await resolveContainer(c, rest[0] as string),
    tty: flags.tty,
    stdin: flags.interactive,
    stdout: true,
    stderr: !flags.tty,
  });
  return session(url, flags, "attach");
};

/** Runs the remotecommand session on `url`; resolves to skiff's exit status. */
async function session(url: string, flags: StreamFlags, kind: "exec" | "attach"): Promise<number> {
  const raw = flags.tty && flags.interactive && process.stdin.isTTY === true;
  let left: "detach" | "signal" | undefined;
  let current: RemoteCommandSession | undefined;
  const leave = (how: "detach" | "signal"): void => {
    left ??= how;
    current?.close();
  };
  let input: Readable | undefined;
  if (flags.interactive) {
    input = raw ? process.stdin.pipe(detachKeys(() => leave("detach"))) : process.stdin;
  }
  const io: RemoteCommandIO = { stdout: process.stdout };
  if (!flags.tty) io.stderr = process.stderr;
  if (input) io.stdin = input;
  const onSignal = (): void => leave("signal");
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const restore = raw ? rawStdin() : () => undefined;
  let unwatch = (): void => undefined;
  let outcome: RemoteCommandOutcome;
  try {
    current = await wsRemoteCommand(url, io);
    if (left) current.close();
    if (flags.tty) {
      const size = terminalSize();
      if (size) current.resize(size);
      unwatch = watchTerminalSize(current.resize);
    }
    outcome = await current.done;
  } finally {
    unwatch();
    restore();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    if (flags.interactive) {
      process.stdin.unpipe();
      process.stdin.destroy();
    }
  }
  if (left === "detach") return 0;
  if (left === "signal") return kind === "attach" ? 0 : 130;
  return exitStatus(outcome);
}

function exitStatus(outcome: RemoteCommandOutcome): number {
  const { status } = outcome;
  if (status) {
    const code = statusExitCode(status);
    if (code >= 0) return code;
    throw new Error(status.message ?? "the remote command failed");
  }
  if (outcome.error.trim() !== "") throw new Error(outcome.error.trim());
  if (outcome.closeCode === 1000) return 0;
  throw new Error(`the streaming connection was lost (WebSocket close code ${outcome.closeCode})`);
}
