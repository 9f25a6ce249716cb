/**
 * skiff-cri's command line. Every path has a flag, so several daemons can run side by
 * side in temp dirs; the defaults are DESIGN.md's.
 */
import { parseArgs } from "node:util";
import { isAbsolute, resolve } from "node:path";
import type { Level } from "pino";
import { SkiffError } from "../core/errors.js";
import { logLevels } from "../core/log.js";

export interface DaemonOptions {
  socket: string;
  root: string;
  state: string;
  config: string;
  /** Whether --config was given (then the file must exist). */
  configGiven: boolean;
  cniConfDir: string;
  cniBinDirs: string[];
  logLevel: Level;
  /** host:port of the exec/attach/port-forward server ("127.0.0.1:0": loopback, a free port). */
  streamAddress: string;
  /** PEM files: serve the streaming URLs over https. */
  streamTlsCert?: string;
  streamTlsKey?: string;
  /** Turn the kernel's cgroup favordynmods on while running (core/cgroups/favor-dynmods.ts). */
  cgroupFavorDynmods: boolean;
}

export const defaults = {
  socket: "/run/skiff/cri.sock",
  root: "/var/lib/skiff",
  state: "/run/skiff",
  config: "/etc/skiff/config.yaml",
  cniConfDir: "/etc/cni/net.d",
  cniBinDir: "/usr/lib/cni,/opt/cni/bin",
  logLevel: "info",
  streamAddress: "127.0.0.1:0",
} as const;

export const usage = `usage: skiff-cri [flags]

The Skiff node daemon: CRI runtime.v1 RuntimeService and ImageService, and Skiff's own
skiff.v1 services, on a unix socket.

flags:
  --socket PATH         unix socket to serve on          (default ${defaults.socket})
  --root DIR            persistent state: store, images  (default ${defaults.root})
  --state DIR           runtime state: pid and exit files (default ${defaults.state})
  --config FILE         configuration file; drop-ins are read from registries.d/ beside it
                                                         (default ${defaults.config})
  --cni-conf-dir DIR    CNI network configurations       (default ${defaults.cniConfDir})
  --cni-bin-dir DIRS    CNI plugin directories, comma-separated; may be repeated
                                                         (default ${defaults.cniBinDir})
  --log-level LEVEL     ${logLevels.join(", ")} (default ${defaults.logLevel})
  --stream-address H:P  exec/attach/port-forward server     (default ${defaults.streamAddress}: a free port)
  --stream-tls-cert F, --stream-tls-key F   serve the streaming URLs over TLS
  --cgroup-favor-dynmods  remount cgroup2 with favordynmods while running: moving a
                        process into a cgroup skips an RCU grace period (~10 ms per
                        container create and exec); global to the node, off by default
  --version             print the version and exit
  -h, --help            print this help and exit

signals: SIGHUP reloads the configuration; SIGTERM and SIGINT stop gracefully.`;

export type ParsedCommand =
  { kind: "help" } | { kind: "version" } | { kind: "run"; options: DaemonOptions };

export function parseDaemonArgs(argv: string[]): ParsedCommand {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        socket: { type: "string" },
        root: { type: "string" },
        state: { type: "string" },
        config: { type: "string" },
        "cni-conf-dir": { type: "string" },
        "cni-bin-dir": { type: "string", multiple: true },
        "log-level": { type: "string" },
        "stream-address": { type: "string" },
        "stream-tls-cert": { type: "string" },
        "stream-tls-key": { type: "string" },
        "cgroup-favor-dynmods": { type: "boolean" },
        version: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (err) {
    throw new SkiffError("InvalidArgument", (err as Error).message);
  }
  const v = parsed.values;
  if (v.help) return { kind: "help" };
  if (v.version) return { kind: "version" };
  const level = v["log-level"] ?? defaults.logLevel;
  if (!(logLevels as readonly string[]).includes(level)) {
    throw new SkiffError(
      "InvalidArgument",
      `--log-level: "${level}" is not one of ${logLevels.join(", ")}`,
    );
  }
  const path = (flag: string, value: string | undefined, fallback: string): string => {
    const chosen = value ?? fallback;
    if (chosen === "") throw new SkiffError("InvalidArgument", `--${flag}: must not be empty`);
    return isAbsolute(chosen) ? chosen : resolve(chosen);
  };
  const binDirs = (v["cni-bin-dir"] ?? [defaults.cniBinDir])
    .flatMap((list) => list.split(","))
    .filter((dir) => dir !== "")
    .map((dir) => path("cni-bin-dir", dir, dir));
  if (binDirs.length === 0)
    throw new SkiffError("InvalidArgument", "--cni-bin-dir: no directory given");
  if ((v["stream-tls-cert"] === undefined) !== (v["stream-tls-key"] === undefined)) {
    throw new SkiffError("InvalidArgument", "--stream-tls-cert and --stream-tls-key go together");
  }
  const options: DaemonOptions = {
    socket: path("socket", v.socket, defaults.socket),
    root: path("root", v.root, defaults.root),
    state: path("state", v.state, defaults.state),
    config: path("config", v.config, defaults.config),
    configGiven: v.config !== undefined,
    cniConfDir: path("cni-conf-dir", v["cni-conf-dir"], defaults.cniConfDir),
    cniBinDirs: binDirs,
    logLevel: level as Level,
    streamAddress: v["stream-address"] ?? defaults.streamAddress,
    cgroupFavorDynmods: v["cgroup-favor-dynmods"] === true,
  };
  if (v["stream-tls-cert"])
    options.streamTlsCert = path("stream-tls-cert", v["stream-tls-cert"], "");
  if (v["stream-tls-key"]) options.streamTlsKey = path("stream-tls-key", v["stream-tls-key"], "");
  return { kind: "run", options };
}
