/**
 * CNI network configurations from the conf dir (--cni-conf-dir): `*.conflist` files are
 * network configuration lists; `*.conf` and `*.json` files hold one plugin configuration
 * and are promoted to a list of one (as libcni does). Files are read in lexical order
 * and the first valid network is the default one, as containerd and CRI-O choose it.
 *
 * Validation follows the spec's required fields; an error names the file and the field.
 * Version negotiation (spec 1.1): from `cniVersions` the newest version Skiff speaks is
 * used, else `cniVersion`; every plugin is invoked with the list's version and name.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { errnoCode } from "../errors.js";
import { compareVersions, hasChaining, isSupported, supportedVersions } from "./version.js";

export type Json = Record<string, unknown>;

export interface PluginConf extends Json {
  type: string;
  capabilities?: Record<string, boolean>;
}

export interface NetworkConfigList {
  name: string;
  /** The negotiated version every plugin of the list is invoked with. */
  cniVersion: string;
  disableCheck: boolean;
  disableGC: boolean;
  plugins: PluginConf[];
  /** The file it was read from ("" when built in memory). */
  file: string;
}

export interface ConfigProblem {
  file: string;
  message: string;
}

export interface LoadedConfigs {
  dir: string;
  dirExists: boolean;
  /** Valid networks in file order: the first is the default. */
  networks: NetworkConfigList[];
  problems: ConfigProblem[];
}

export class ConfigError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = "ConfigError";
  }
}

export const configExtensions = [".conflist", ".conf", ".json"];
export const namePattern = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const maxConfigBytes = 1 << 20;

const isObject = (v: unknown): v is Json =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** Parses one file's text; `file` names it in errors and picks list or single form. */
export function parseConfig(file: string, text: string): NetworkConfigList {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(file, `not valid JSON: ${(err as Error).message}`);
  }
  if (!isObject(raw)) throw new ConfigError(file, "the configuration is not a JSON object");
  const isList = file.endsWith(".conflist") || Array.isArray(raw.plugins);
  return isList ? parseList(file, raw) : parseSingle(file, raw);
}

function parseList(file: string, raw: Json): NetworkConfigList {
  const name = networkName(file, raw.name);
  const cniVersion = negotiateVersion(file, raw);
  if (!Array.isArray(raw.plugins)) throw new ConfigError(file, `"plugins" must be an array`);
  if (raw.plugins.length === 0) throw new ConfigError(file, `"plugins" must not be empty`);
  if (raw.plugins.length > 1 && !hasChaining(cniVersion)) {
    throw new ConfigError(file, `cniVersion ${cniVersion} cannot chain plugins (0.3.0 or later)`);
  }
  const plugins = raw.plugins.map((p, i) => plugin(file, `plugins[${i}]`, p));
  return {
    name,
    cniVersion,
    disableCheck: flag(file, raw, "disableCheck"),
    disableGC: flag(file, raw, "disableGC"),
    plugins,
    file,
  };
}

function parseSingle(file: string, raw: Json): NetworkConfigList {
  const name = networkName(file, raw.name);
  const cniVersion = negotiateVersion(file, raw);
  const conf = plugin(file, "the configuration", raw);
  delete conf.cniVersions;
  return { name, cniVersion, disableCheck: false, disableGC: false, plugins: [conf], file };
}

function networkName(file: string, v: unknown): string {
  if (v === undefined) throw new ConfigError(file, `"name" is missing`);
  if (typeof v !== "string" || !namePattern.test(v)) {
    throw new ConfigError(
      file,
      `"name" must be a string of [A-Za-z0-9_.-], got ${JSON.stringify(v)}`,
    );
  }
  return v;
}

function negotiateVersion(file: string, raw: Json): string {
  if (raw.cniVersions !== undefined) {
    if (!Array.isArray(raw.cniVersions) || raw.cniVersions.some((v) => typeof v !== "string")) {
      throw new ConfigError(file, `"cniVersions" must be an array of strings`);
    }
    const usable = (raw.cniVersions as string[]).filter(isSupported).sort(compareVersions);
    const newest = usable[usable.length - 1];
    if (newest !== undefined) return newest;
    if (raw.cniVersion === undefined) {
      throw new ConfigError(
        file,
        `none of "cniVersions" ${JSON.stringify(raw.cniVersions)} is supported (${supportedVersions.join(", ")})`,
      );
    }
  }
  const v = raw.cniVersion;
  if (v === undefined) throw new ConfigError(file, `"cniVersion" is missing`);
  if (typeof v !== "string") throw new ConfigError(file, `"cniVersion" must be a string`);
  if (!isSupported(v)) {
    throw new ConfigError(
      file,
      `"cniVersion" "${v}" is not supported (${supportedVersions.join(", ")})`,
    );
  }
  return v;
}

function plugin(file: string, at: string, v: unknown): PluginConf {
  if (!isObject(v)) throw new ConfigError(file, `${at} must be an object`);
  const type = v.type;
  if (type === undefined) throw new ConfigError(file, `${at}.type is missing`);
  if (typeof type !== "string" || !namePattern.test(type)) {
    throw new ConfigError(
      file,
      `${at}.type must name a plugin binary ([A-Za-z0-9_.-], no path), got ${JSON.stringify(type)}`,
    );
  }
  if (v.capabilities !== undefined) {
    if (
      !isObject(v.capabilities) ||
      Object.values(v.capabilities).some((c) => typeof c !== "boolean")
    ) {
      throw new ConfigError(file, `${at}.capabilities must map names to true or false`);
    }
  }
  if (v.ipam !== undefined && !isObject(v.ipam)) {
    throw new ConfigError(file, `${at}.ipam must be an object`);
  }
  if (isObject(v.ipam) && v.ipam.type !== undefined && typeof v.ipam.type !== "string") {
    throw new ConfigError(file, `${at}.ipam.type must be a string`);
  }
  return structuredClone(v) as PluginConf;
}

function flag(file: string, raw: Json, key: string): boolean {
  const v = raw[key];
  if (v === undefined) return false;
  if (typeof v === "boolean") return v;
  if (v === "true" || v === "false") return v === "true";
  throw new ConfigError(file, `"${key}" must be true or false`);
}

/** Reads every configuration file of `dir`; unreadable or invalid files become problems. */
export function loadConfigDir(dir: string): LoadedConfigs {
  const loaded: LoadedConfigs = { dir, dirExists: true, networks: [], problems: [] };
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    if (errnoCode(err) === "ENOENT" || errnoCode(err) === "ENOTDIR") {
      loaded.dirExists = false;
      return loaded;
    }
    loaded.problems.push({ file: dir, message: `cannot read the directory: ${String(err)}` });
    return loaded;
  }
  const seen = new Set<string>();
  for (const name of names.filter((n) => configExtensions.some((e) => n.endsWith(e))).sort()) {
    const file = join(dir, name);
    try {
      const st = statSync(file);
      if (!st.isFile()) continue;
      if (st.size > maxConfigBytes)
        throw new ConfigError(file, `larger than ${maxConfigBytes} bytes`);
      const network = parseConfig(file, readFileSync(file, "utf8"));
      if (seen.has(network.name)) {
        throw new ConfigError(
          file,
          `network "${network.name}" is already defined by an earlier file`,
        );
      }
      seen.add(network.name);
      loaded.networks.push(network);
    } catch (err) {
      if (errnoCode(err) === "ENOENT") continue;
      loaded.problems.push({
        file,
        message: err instanceof ConfigError ? err.message : `${file}: ${(err as Error).message}`,
      });
    }
  }
  return loaded;
}

/** The placeholder an ipam `subnet` may hold to be replaced by the node's pod CIDR. */
export const podCidrPlaceholder = "usePodCidr";

/** Whether some plugin's IPAM takes its subnet from the pod CIDR. */
export function usesPodCidr(network: NetworkConfigList): boolean {
  return network.plugins.some((p) =>
    JSON.stringify(p.ipam ?? {}).includes(`"${podCidrPlaceholder}"`),
  );
}

/**
 * The list with every `"subnet": "usePodCidr"` in IPAM replaced by the pod CIDRs: a
 * plain `subnet` takes the first CIDR; in `ranges`, a range set holding the placeholder
 * becomes one range set per CIDR (dual stack).
 */
export function withPodCidr(
  network: NetworkConfigList,
  cidrs: readonly string[],
): NetworkConfigList {
  if (!usesPodCidr(network) || cidrs.length === 0) return network;
  const plugins = network.plugins.map((p) => {
    if (!isObject(p.ipam)) return p;
    const ipam: Json = structuredClone(p.ipam);
    if (ipam.subnet === podCidrPlaceholder) ipam.subnet = cidrs[0];
    if (Array.isArray(ipam.ranges)) {
      ipam.ranges = ipam.ranges.flatMap((set: unknown) => {
        const uses =
          Array.isArray(set) && set.some((r) => isObject(r) && r.subnet === podCidrPlaceholder);
        if (!uses) return [set];
        return cidrs.map((cidr) =>
          (set as unknown[]).map((r) =>
            isObject(r) && r.subnet === podCidrPlaceholder ? { ...r, subnet: cidr } : r,
          ),
        );
      });
    }
    return { ...p, ipam };
  });
  return { ...network, plugins };
}
