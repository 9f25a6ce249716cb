/**
 * skiff-oci: runc's command-line interface over Skiff's container core
 * (core/container/runtime.ts), so `skiff-oci run -b BUNDLE ID` works where `runc run`
 * does. Verbs: create, start, state, kill, delete, run, exec, list, spec.
 * Global flags: --root DIR (default /run/skiff-oci), --log FILE, --log-format text|json,
 * --debug. Errors print one line on stderr and exit 1; `run` exits with the container's
 * exit code (128+signal when killed), as runc does.
 *
 * Terminals (runc's docs/terminals.md): a detached container (create, run -d) with
 * process.terminal needs --console-socket, a unix socket the pty master is sent to
 * (SCM_RIGHTS); the socket's owner then owns the console. A foreground `run` relays its
 * own terminal instead. `exec -t --console-socket` sends the exec's pty master the same
 * way; exec always waits for its process (the shim is its parent), even with -d.
 */
import { readFileSync, writeFileSync, existsSync, createWriteStream } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { pino } from "pino";
import { SkiffError } from "../core/errors.js";
import { skiffVersion } from "../core/version.js";
import { ContainerRuntime } from "../core/container/runtime.js";
import { defaultSpec } from "../core/oci/defaults.js";
import { ociVersion, type Process, type Spec } from "../core/oci/spec.js";
import { attach, type Attachment } from "../core/shim/attach-client.js";
import { silentLogger, type Logger } from "../core/log.js";

const usage = `usage: skiff-oci [global flags] COMMAND [flags] [args]

commands:
  create [-b BUNDLE] [--pid-file FILE] [--console-socket SOCK] ID
                                            create a container (process waits until start)
  start ID                                  start a created container
  run [-b BUNDLE] [--pid-file FILE] [-d] [--console-socket SOCK] ID
                                            create, start, wait and delete; exits with its code
  state ID                                  the container's state as JSON
  kill [-a] ID [SIGNAL]                     send a signal (default SIGTERM)
  delete [-f] ID                            delete a stopped (with -f: any) container
  exec [-t] [-d] [--pid-file FILE] [--console-socket SOCK] [-e K=V] [--cwd DIR] [-u UID[:GID]] [-p process.json]
       ID [ARGS...]                         run a process in a running container, wait for it (-d: not)
  list [-q] [-f table|json]                 list containers
  spec [-b BUNDLE] [--rootless]             write a default config.json

global flags:
  --root DIR          state directory (default /run/skiff-oci)
  --log FILE          write logs to FILE   --log-format text|json (default text)
  --debug             debug logging        -v, --version, -h, --help`;

const globalOptions = {
  root: { type: "string" },
  log: { type: "string" },
  "log-format": { type: "string" },
  debug: { type: "boolean" },
  version: { type: "boolean", short: "v" },
  help: { type: "boolean", short: "h" },
} as const satisfies ParseArgsConfig["options"];

class UsageError extends Error {}

function parse<T extends ParseArgsConfig["options"]>(args: string[], options: T) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function need(positionals: string[], count: number, what: string): string[] {
  if (positionals.length < count)
    throw new UsageError(`${what}: missing argument (${count} needed)`);
  return positionals;
}

function stateJson(s: Awaited<ReturnType<ContainerRuntime["state"]>>): object {
  return {
    ociVersion: s.ociVersion,
    id: s.id,
    pid: s.pid,
    status: s.status,
    bundle: s.bundle,
    rootfs: s.bundle ? join(s.bundle, "rootfs") : "",
    created: s.created,
    owner: "",
    annotations: s.annotations ?? {},
  };
}

function readSpec(bundle: string): unknown {
  const path = join(resolve(bundle), "config.json");
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new SkiffError("InvalidArgument", `${path}: ${(err as Error).message}`);
  }
}

/** runc's checkTerminal: a detached terminal needs a console socket; a socket needs both. */
function checkTerminal(
  detach: boolean,
  terminal: boolean,
  consoleSocket: string | undefined,
): void {
  if (detach && terminal && consoleSocket === undefined)
    throw new SkiffError(
      "InvalidArgument",
      "cannot allocate a tty when detaching without --console-socket (process.terminal is true)",
    );
  if ((!detach || !terminal) && consoleSocket !== undefined)
    throw new SkiffError(
      "InvalidArgument",
      "cannot use --console-socket without a tty (process.terminal) in a detached process",
    );
}

function exitCodeOf(exit: { exitCode: number; signal: number }): number {
  return exit.signal ? 128 + exit.signal : exit.exitCode;
}

/** Relays this process's stdio to an attached container until it exits. */
async function relay(attachment: Attachment, terminal: boolean): Promise<void> {
  attachment.stdout.pipe(process.stdout, { end: false });
  attachment.stderr.pipe(process.stderr, { end: false });
  const stdin = process.stdin;
  if (terminal && stdin.isTTY) {
    stdin.setRawMode(true);
    const resize = () => attachment.resize(process.stdout.rows ?? 24, process.stdout.columns ?? 80);
    resize();
    process.stdout.on("resize", resize);
  }
  if (!stdin.isTTY || terminal) {
    stdin.on("data", (d: Buffer) => void attachment.writeStdin(d));
    stdin.on("end", () => attachment.closeStdin());
  }
  await attachment.closed;
  if (stdin.isTTY) stdin.setRawMode(false);
  stdin.pause();
  stdin.unref?.();
}

async function main(argv: string[]): Promise<number> {
  const commandAt = argv.findIndex((a) => !a.startsWith("-") && !isValueOfGlobal(argv, a));
  const globals = parse(commandAt < 0 ? argv : argv.slice(0, commandAt), globalOptions).values;
  if (globals.version) {
    process.stdout.write(`skiff-oci version ${skiffVersion}\nspec: ${ociVersion}\n`);
    return 0;
  }
  if (globals.help || commandAt < 0) {
    process.stdout.write(`${usage}\n`);
    return globals.help ? 0 : 2;
  }
  const command = argv[commandAt] as string;
  const rest = argv.slice(commandAt + 1);
  const log = makeLogger(globals.log, globals["log-format"], globals.debug === true);
  const runtime = () => new ContainerRuntime({ root: globals.root ?? "/run/skiff-oci", log });

  switch (command) {
    case "spec": {
      const { values } = parse(rest, {
        bundle: { type: "string", short: "b" },
        rootless: { type: "boolean" },
      });
      if (values.rootless)
        throw new SkiffError(
          "Unimplemented",
          "spec --rootless: rootless containers are not supported",
        );
      const path = join(resolve(values.bundle ?? "."), "config.json");
      if (existsSync(path))
        throw new SkiffError("AlreadyExists", `${path} already exists; remove it first`);
      writeFileSync(path, `${JSON.stringify(defaultSpec(), null, 2)}\n`);
      return 0;
    }
    case "create":
    case "run": {
      const { values, positionals } = parse(rest, {
        bundle: { type: "string", short: "b" },
        "pid-file": { type: "string" },
        "console-socket": { type: "string" },
        detach: { type: "boolean", short: "d" },
        "no-pivot": { type: "boolean" },
        "no-new-keyring": { type: "boolean" },
      });
      const [id] = need(positionals, 1, command) as [string];
      const bundle = resolve(values.bundle ?? ".");
      const rt = runtime();
      const spec = readSpec(bundle);
      const terminal = (spec as Spec | null)?.process?.terminal === true;
      const consoleSocket = values["console-socket"];
      checkTerminal(command === "create" || values.detach === true, terminal, consoleSocket);
      const state = await rt.create(id, bundle, spec, {
        stdin: command === "run" && !values.detach,
        ...(consoleSocket !== undefined && { consoleSocket }),
      });
      if (values["pid-file"]) writeFileSync(values["pid-file"], String(state.pid));
      if (command === "create") return 0;
      const attachment = values.detach
        ? undefined
        : await attach(join(rt.statePaths(id).attach, ".."));
      await rt.start(id);
      if (!attachment) return 0;
      await relay(attachment, terminal);
      const exit = await rt.wait(id);
      await rt.delete(id, { force: true });
      return exitCodeOf(exit);
    }
    case "start": {
      const [id] = need(parse(rest, {}).positionals, 1, command) as [string];
      await runtime().start(id);
      return 0;
    }
    case "state": {
      const [id] = need(parse(rest, {}).positionals, 1, command) as [string];
      process.stdout.write(`${JSON.stringify(stateJson(await runtime().state(id)), null, 2)}\n`);
      return 0;
    }
    case "kill": {
      const { values, positionals } = parse(rest, { all: { type: "boolean", short: "a" } });
      const [id, signal = "SIGTERM"] = need(positionals, 1, command) as [string, string?];
      await runtime().kill(id, parseSignal(signal), { all: values.all === true });
      return 0;
    }
    case "delete": {
      const { values, positionals } = parse(rest, { force: { type: "boolean", short: "f" } });
      const [id] = need(positionals, 1, command) as [string];
      await runtime().delete(id, { force: values.force === true });
      return 0;
    }
    case "list":
    case "ps": {
      const { values } = parse(rest, {
        quiet: { type: "boolean", short: "q" },
        format: { type: "string", short: "f" },
      });
      const states = await runtime().list();
      if (values.quiet) {
        for (const s of states) process.stdout.write(`${s.id}\n`);
      } else if (values.format === "json") {
        process.stdout.write(`${JSON.stringify(states.map(stateJson))}\n`);
      } else {
        const rows = [["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]];
        for (const s of states)
          rows.push([s.id, String(s.pid), s.status, s.bundle, s.created, "root"]);
        const widths = rows[0]!.map((_, i) =>
          Math.max(...rows.map((r) => (r[i] as string).length)),
        );
        for (const r of rows)
          process.stdout.write(
            `${r
              .map((c, i) => c.padEnd(widths[i]! + 2))
              .join("")
              .trimEnd()}\n`,
          );
      }
      return 0;
    }
    case "exec": {
      // flags stop at the container id: what follows is the command and its own flags
      const idAt = firstPositional(rest, [
        "-e",
        "--env",
        "--cwd",
        "-u",
        "--user",
        "-p",
        "--process",
        "--console-socket",
        "--pid-file",
      ]);
      const { values, positionals: idOnly } = parse(idAt < 0 ? rest : rest.slice(0, idAt + 1), {
        tty: { type: "boolean", short: "t" },
        env: { type: "string", short: "e", multiple: true },
        cwd: { type: "string" },
        user: { type: "string", short: "u" },
        process: { type: "string", short: "p" },
        detach: { type: "boolean", short: "d" },
        "console-socket": { type: "string" },
        "pid-file": { type: "string" },
      });
      const [id] = need(idOnly, 1, command) as [string];
      const args = idAt < 0 ? [] : rest.slice(idAt + 1);
      const rt = runtime();
      let proc: Partial<Process>;
      if (values.process) {
        proc = JSON.parse(readFileSync(values.process, "utf8")) as Process;
      } else {
        if (args.length === 0) throw new UsageError("exec: no command given");
        proc = { args, terminal: values.tty === true };
        if (values.env) proc.env = values.env;
        if (values.cwd) proc.cwd = values.cwd;
        if (values.user) {
          const [uid, gid] = values.user.split(":");
          proc.user = { uid: Number(uid), gid: Number(gid ?? 0) };
        }
      }
      const consoleSocket = values["console-socket"];
      if (consoleSocket !== undefined || values.detach)
        checkTerminal(true, proc.terminal === true, consoleSocket);
      const { child, result, pid } = await rt.exec(id, proc as Process, {
        stdio: "inherit",
        ...(consoleSocket !== undefined && { consoleSocket }),
        detached: values.detach === true,
      });
      if (values["pid-file"]) writeFileSync(values["pid-file"], String(await pid));
      if (!values.detach) return exitCodeOf(await result);
      // as runc exec -d: back once the process runs; its shim stays with it
      await pid;
      child.stdio[4]?.destroy();
      child.unref();
      return 0;
    }
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

/** Index of the first argument that is neither a flag nor the value of one. */
function firstPositional(args: string[], valueFlags: string[]): number {
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === "--") return i + 1 < args.length ? i + 1 : -1;
    if (!a.startsWith("-")) return i;
    if (valueFlags.includes(a)) i++;
  }
  return -1;
}

function isValueOfGlobal(argv: string[], arg: string): boolean {
  const i = argv.indexOf(arg);
  const prev = argv[i - 1];
  return prev === "--root" || prev === "--log" || prev === "--log-format";
}

function parseSignal(text: string): NodeJS.Signals | number {
  if (/^\d+$/.test(text)) return Number(text);
  const name = (text.startsWith("SIG") ? text : `SIG${text}`).toUpperCase();
  return name as NodeJS.Signals;
}

function makeLogger(file: string | undefined, format: string | undefined, debug: boolean): Logger {
  if (!file && !debug) return silentLogger;
  if (format !== undefined && format !== "text" && format !== "json") {
    throw new UsageError(`--log-format: "${format}" is not text or json`);
  }
  const destination = file ? createWriteStream(file, { flags: "a" }) : process.stderr;
  return pino({ level: debug ? "debug" : "info", base: undefined }, destination);
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  if (err instanceof UsageError) {
    process.stderr.write(`skiff-oci: ${err.message}\n`);
    process.exitCode = 2;
  } else {
    process.stderr.write(
      `skiff-oci: ${err instanceof SkiffError ? err.message : String((err as Error).stack ?? err)}\n`,
    );
    process.exitCode = 1;
  }
}
