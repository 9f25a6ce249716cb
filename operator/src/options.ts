/** skiff-operator's flags: parsed and checked here, used by main.ts. */
import { hostname } from "node:os";
import type { Level } from "pino";
import { defaultSettings, type OperatorSettings } from "./controllers/settings.js";

export const usage = `usage: skiff-operator [flags]            run the controllers (leader-elected)
       skiff-operator --node-agent [flags] run the node agent (DaemonSet)
flags:
  --kubeconfig=PATH          default: in-cluster, then $KUBECONFIG / ~/.kube/config
  --namespace=NS             the operator's namespace (default $POD_NAMESPACE or skiff-system)
  --metrics-addr=HOST:PORT   /metrics, /healthz, /readyz (default 0.0.0.0:8080; port 0 picks one)
  --log-level=LEVEL          fatal|error|warn|info|debug|trace (default info)
  --resync=SECONDS           informer resync period (default 300; agent default 60)
controllers:
  --leader-elect=BOOL        default true
  --identity=NAME            lease holder identity (default $POD_NAME or hostname-pid)
  --lease-duration=SECONDS   default 15
  --renew-deadline=SECONDS   default 10
  --retry-period=SECONDS     default 2
  --workers=N                reconciles in flight per controller (default 8)
  --builder-image=IMAGE      the build Job's image (default ${defaultSettings.builderImage})
  --cache-image=IMAGE        the pull-through cache's image (default ${defaultSettings.cacheImage})
  --missing-ref-requeue=SECONDS  look again for a missing Secret/ConfigMap (default 5)
node agent:
  --node-name=NAME           default $NODE_NAME
  --host-root=PATH           the host's / (default /host)
  --proc-root=PATH           the host's /proc (default <host-root>/proc)
  --sys-root=PATH            the host's /sys (default <host-root>/sys)
  --cri-socket=PATH          default <host-root>/run/skiff/cri.sock
  --install-source=PATH      the Skiff release in the agent image (default /opt/skiff-release)`;

export interface Options {
  mode: "controllers" | "agent" | "help";
  kubeconfig?: string;
  namespace: string;
  metricsHost: string;
  metricsPort: number;
  logLevel: Level;
  resyncMs: number;
  leaderElect: boolean;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  workers: number;
  settings: OperatorSettings;
  nodeName: string;
  hostRoot: string;
  procRoot: string;
  sysRoot: string;
  criSocket?: string;
  installSource: string;
}

const levels = ["fatal", "error", "warn", "info", "debug", "trace"];

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): Options {
  const flags = new Map<string, string>();
  for (const arg of argv) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!m) throw new Error(`unexpected argument ${JSON.stringify(arg)}`);
    flags.set(m[1]!, m[2] ?? "true");
  }
  const known = new Set(
    usage
      .match(/--[a-z-]+/g)!
      .map((f) => f.slice(2))
      .concat(["help"]),
  );
  for (const k of flags.keys()) if (!known.has(k)) throw new Error(`unknown flag --${k}`);
  const num = (name: string, def: number, min = 0): number => {
    const v = flags.get(name);
    if (v === undefined) return def;
    const n = Number(v);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number ≥ ${min}`);
    return n;
  };
  const bool = (name: string, def: boolean): boolean => {
    const v = flags.get(name);
    if (v === undefined) return def;
    if (v !== "true" && v !== "false") throw new Error(`--${name} must be true or false`);
    return v === "true";
  };
  const agent = bool("node-agent", false);
  const [host, port] = (flags.get("metrics-addr") ?? "0.0.0.0:8080").split(/:(?=[0-9]+$)/);
  const level = flags.get("log-level") ?? "info";
  if (!levels.includes(level)) throw new Error(`--log-level must be one of ${levels.join(", ")}`);
  const hostRoot = flags.get("host-root") ?? "/host";
  const nodeName = flags.get("node-name") ?? env["NODE_NAME"] ?? "";
  if (agent && nodeName === "") throw new Error("--node-agent needs --node-name or $NODE_NAME");
  const leaseDurationMs = num("lease-duration", 15, 1) * 1000;
  const renewDeadlineMs = num("renew-deadline", 10, 1) * 1000;
  const retryPeriodMs = num("retry-period", 2, 0.05) * 1000;
  if (renewDeadlineMs >= leaseDurationMs)
    throw new Error("--renew-deadline must be shorter than --lease-duration");
  return {
    mode: flags.has("help") ? "help" : agent ? "agent" : "controllers",
    kubeconfig: flags.get("kubeconfig"),
    namespace: flags.get("namespace") ?? env["POD_NAMESPACE"] ?? defaultSettings.namespace,
    metricsHost: host ?? "0.0.0.0",
    metricsPort: Number(port ?? 8080),
    logLevel: level as Level,
    resyncMs: num("resync", agent ? 60 : 300) * 1000,
    leaderElect: bool("leader-elect", true),
    identity: flags.get("identity") ?? env["POD_NAME"] ?? `${hostname()}-${process.pid}`,
    leaseDurationMs,
    renewDeadlineMs,
    retryPeriodMs,
    workers: num("workers", 8, 1),
    settings: {
      ...defaultSettings,
      namespace: flags.get("namespace") ?? env["POD_NAMESPACE"] ?? defaultSettings.namespace,
      builderImage: flags.get("builder-image") ?? defaultSettings.builderImage,
      cacheImage: flags.get("cache-image") ?? defaultSettings.cacheImage,
      missingRefRequeueMs: num("missing-ref-requeue", 5, 0.05) * 1000,
    },
    nodeName,
    hostRoot,
    procRoot: flags.get("proc-root") ?? `${hostRoot}/proc`,
    sysRoot: flags.get("sys-root") ?? `${hostRoot}/sys`,
    criSocket: flags.get("cri-socket"),
    installSource: flags.get("install-source") ?? "/opt/skiff-release",
  };
}
