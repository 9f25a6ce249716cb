/**
 * The spec's execution of a network configuration list (section 3):
 *   ADD    each plugin in order, each given the previous plugin's result as prevResult;
 *          the last result is the attachment's result
 *   CHECK  (0.4.0+, unless disableCheck) each plugin in order with the cached result
 *   DEL    each plugin in reverse order with the cached result (0.4.0+) or none
 *   STATUS (1.1.0+) each plugin in order; the first error means not ready
 * Each plugin gets its own config object plus the list's `name` and `cniVersion`, and a
 * `runtimeConfig` holding only the capabilities it declares.
 */
import type { NetworkConfigList, PluginConf } from "./config.js";
import { CniPluginError, execPlugin, type CniCommand, type ExecOptions } from "./exec.js";
import { ResultError, parseResult, resultForVersion, type CniResult } from "./result.js";
import { runtimeConfigFor, type CapabilityArgs } from "./runtime-config.js";
import { hasCheck, hasPrevResultOnDel, hasStatus } from "./version.js";

export interface AttachmentParams {
  containerId: string;
  /** Path of the network namespace; "" when it is gone (DEL only). */
  netns: string;
  ifName: string;
  args: [string, string][];
  capabilityArgs: CapabilityArgs;
}

export function pluginConfig(
  list: NetworkConfigList,
  plugin: PluginConf,
  capabilityArgs: CapabilityArgs,
  prevResult?: CniResult,
): Record<string, unknown> {
  const conf: Record<string, unknown> = { ...plugin, name: list.name, cniVersion: list.cniVersion };
  delete conf.runtimeConfig;
  delete conf.prevResult;
  const runtimeConfig = runtimeConfigFor(plugin, capabilityArgs);
  if (runtimeConfig !== undefined) conf.runtimeConfig = runtimeConfig;
  if (prevResult !== undefined) conf.prevResult = resultForVersion(prevResult, list.cniVersion);
  return conf;
}

function call(
  command: CniCommand,
  list: NetworkConfigList,
  plugin: PluginConf,
  params: AttachmentParams,
  prevResult: CniResult | undefined,
) {
  return {
    command,
    type: plugin.type,
    network: list.name,
    containerId: params.containerId,
    netns: params.netns,
    ifName: params.ifName,
    args: params.args,
    stdin: pluginConfig(list, plugin, params.capabilityArgs, prevResult),
  };
}

export async function addList(
  list: NetworkConfigList,
  params: AttachmentParams,
  exec: ExecOptions,
): Promise<CniResult> {
  let prev: CniResult | undefined;
  for (const plugin of list.plugins) {
    const raw = await execPlugin(call("ADD", list, plugin, params, prev), exec);
    if (raw === undefined) {
      throw new CniPluginError(plugin.type, list.name, "ADD", undefined, "printed no result", "");
    }
    try {
      prev = parseResult(raw, list.cniVersion);
    } catch (err) {
      if (!(err instanceof ResultError)) throw err;
      throw new CniPluginError(
        plugin.type,
        list.name,
        "ADD",
        undefined,
        `printed an invalid result: ${err.message}`,
        "",
      );
    }
  }
  if (prev === undefined) throw new Error("a network list has at least one plugin");
  return prev;
}

export async function checkList(
  list: NetworkConfigList,
  params: AttachmentParams,
  result: CniResult,
  exec: ExecOptions,
): Promise<void> {
  if (!hasCheck(list.cniVersion) || list.disableCheck) return;
  for (const plugin of list.plugins) {
    await execPlugin(call("CHECK", list, plugin, params, result), exec);
  }
}

export async function delList(
  list: NetworkConfigList,
  params: AttachmentParams,
  result: CniResult | undefined,
  exec: ExecOptions,
): Promise<void> {
  const prev = hasPrevResultOnDel(list.cniVersion) ? result : undefined;
  for (const plugin of [...list.plugins].reverse()) {
    await execPlugin(call("DEL", list, plugin, params, prev), exec);
  }
}

/** Runs STATUS on each plugin; resolves when all are ready (or the version predates STATUS). */
export async function statusList(list: NetworkConfigList, exec: ExecOptions): Promise<void> {
  if (!hasStatus(list.cniVersion)) return;
  for (const plugin of list.plugins) {
    await execPlugin(
      {
        command: "STATUS",
        type: plugin.type,
        network: list.name,
        stdin: pluginConfig(list, plugin, {}),
      },
      exec,
    );
  }
}
