/**
 * skiff: the docker-like CLI on a node, talking to skiff-cri over its socket.
 * Commands arrive with the issues that build them; today: version, info, config.
 */
import { parseArgs } from "node:util";
import { status } from "@grpc/grpc-js";
import { skiffVersion } from "../core/version.js";
import type { VersionResponse__Output } from "../generated/runtime/v1/VersionResponse.js";
import type { StatusResponse__Output } from "../generated/runtime/v1/StatusResponse.js";
import type { GetConfigResponse__Output } from "../generated/skiff/v1/GetConfigResponse.js";
import type { ReloadConfigResponse__Output } from "../generated/skiff/v1/ReloadConfigResponse.js";
import { connect, defaultSocket, rpc, type SkiffClients } from "./client.js";

const usage = `usage: skiff [--socket PATH] COMMAND

commands:
  version         client and skiff-cri versions
  info            runtime status and conditions (CRI Status, verbose)
  config          the configuration skiff-cri has in force
  config reload   make skiff-cri read its configuration files again

--socket PATH     skiff-cri's socket (default $SKIFF_SOCKET or ${defaultSocket})`;

type Command = (clients: SkiffClients, args: string[]) => Promise<void>;

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
};

function out(text: string): void {
  process.stdout.write(`${text}\n`);
}

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: process.argv.slice(2),
      strict: true,
      allowPositionals: true,
      options: { socket: { type: "string" }, help: { type: "boolean", short: "h" } },
    });
  } catch (err) {
    process.stderr.write(`skiff: ${(err as Error).message}\n${usage}\n`);
    return 2;
  }
  const [name, ...args] = parsed.positionals;
  if (parsed.values.help || name === undefined) {
    process.stdout.write(`${usage}\n`);
    return name === undefined && !parsed.values.help ? 2 : 0;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`skiff: unknown command "${name}"\n${usage}\n`);
    return 2;
  }
  const socket = parsed.values.socket ?? process.env["SKIFF_SOCKET"] ?? defaultSocket;
  const clients = connect(socket);
  try {
    await command(clients, args);
    return 0;
  } catch (err) {
    const e = err as Error & { details?: string; code?: number };
    const unreachable = e.code === status.UNAVAILABLE && /connect/i.test(e.details ?? "");
    process.stderr.write(
      unreachable
        ? `skiff: cannot reach skiff-cri on ${socket} (is it running?): ${e.details}\n`
        : `skiff: ${e.details ?? e.message}\n`,
    );
    return 1;
  } finally {
    clients.close();
  }
}

process.exitCode = await main();
