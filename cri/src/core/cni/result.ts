/**
 * CNI results: one current shape (spec 1.1) that every plugin output is converted to, and
 * the conversion back to the shape a given config version expects (for `prevResult`).
 *
 *   0.1.0 / 0.2.0   { ip4: {ip, gateway, routes}, ip6: {...}, dns }
 *   0.3.x / 0.4.0   { interfaces, ips: [{version, address, gateway, interface}], routes, dns }
 *   1.0.0 / 1.1.0   as 0.4.0 without `version`; 1.1 adds mtu, socketPath, pciID on
 *                   interfaces and mtu, advmss, priority, table, scope on routes
 *
 * Parsing checks types and addresses and keeps only known fields, so a cached or chained
 * result is always well formed.
 */
import { isIP } from "node:net";
import { hasIpVersionField, hasLegacyResult, isSupported } from "./version.js";

export interface CniInterface {
  name: string;
  mac?: string;
  mtu?: number;
  sandbox?: string;
  socketPath?: string;
  pciID?: string;
}

export interface CniIpConfig {
  /** CIDR notation: the address and its prefix length. */
  address: string;
  gateway?: string;
  /** Index into `interfaces`. */
  interface?: number;
}

export interface CniRoute {
  dst: string;
  gw?: string;
  mtu?: number;
  advmss?: number;
  priority?: number;
  table?: number;
  scope?: number;
}

export interface CniDns {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

export interface CniResult {
  cniVersion: string;
  interfaces?: CniInterface[];
  ips?: CniIpConfig[];
  routes?: CniRoute[];
  dns?: CniDns;
}

export class ResultError extends Error {}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Parses a plugin's output into the current shape. `expectedVersion` is the config's
 * version, used when the output does not say its own.
 */
export function parseResult(raw: unknown, expectedVersion: string): CniResult {
  if (!isObject(raw)) throw new ResultError("the result is not a JSON object");
  const version = typeof raw.cniVersion === "string" ? raw.cniVersion : expectedVersion;
  if (!isSupported(version))
    throw new ResultError(`result cniVersion "${version}" is not supported`);
  return hasLegacyResult(version) ? fromLegacy(raw, version) : fromCurrent(raw, version);
}

function fromCurrent(raw: Json, version: string): CniResult {
  const result: CniResult = { cniVersion: version };
  if (raw.interfaces !== undefined) {
    result.interfaces = array(raw.interfaces, "interfaces").map((v, i) =>
      iface(v, `interfaces[${i}]`),
    );
  }
  if (raw.ips !== undefined) {
    result.ips = array(raw.ips, "ips").map((v, i) => {
      const at = `ips[${i}]`;
      if (!isObject(v)) throw new ResultError(`${at} is not an object`);
      const ip: CniIpConfig = { address: cidr(v.address, `${at}.address`) };
      if (v.gateway !== undefined && v.gateway !== "")
        ip.gateway = address(v.gateway, `${at}.gateway`);
      if (v.interface !== undefined && v.interface !== null) {
        const index = integer(v.interface, `${at}.interface`);
        if (index < 0 || index >= (result.interfaces?.length ?? 0)) {
          throw new ResultError(`${at}.interface ${index} names no interface of the result`);
        }
        ip.interface = index;
      }
      return ip;
    });
  }
  if (raw.routes !== undefined) {
    result.routes = array(raw.routes, "routes").map((v, i) => route(v, `routes[${i}]`));
  }
  if (raw.dns !== undefined) result.dns = dns(raw.dns);
  return result;
}

function fromLegacy(raw: Json, version: string): CniResult {
  const result: CniResult = { cniVersion: version };
  const ips: CniIpConfig[] = [];
  const routes: CniRoute[] = [];
  for (const key of ["ip4", "ip6"] as const) {
    const v = raw[key];
    if (v === undefined || v === null) continue;
    if (!isObject(v)) throw new ResultError(`${key} is not an object`);
    const ip: CniIpConfig = { address: cidr(v.ip, `${key}.ip`) };
    if (v.gateway !== undefined && v.gateway !== "")
      ip.gateway = address(v.gateway, `${key}.gateway`);
    ips.push(ip);
    if (v.routes !== undefined) {
      routes.push(
        ...array(v.routes, `${key}.routes`).map((r, i) => route(r, `${key}.routes[${i}]`)),
      );
    }
  }
  if (ips.length > 0) result.ips = ips;
  if (routes.length > 0) result.routes = routes;
  if (raw.dns !== undefined) result.dns = dns(raw.dns);
  return result;
}

/**
 * The result in the JSON shape of `version` (0.3.0 and later), as a plugin configured
 * for that version expects its `prevResult`.
 */
export function resultForVersion(result: CniResult, version: string): Json {
  const out: Json = { cniVersion: version };
  if (result.interfaces !== undefined) out.interfaces = result.interfaces;
  if (result.ips !== undefined) {
    out.ips = result.ips.map((ip) =>
      hasIpVersionField(version) ? { version: ipFamily(ip.address), ...ip } : { ...ip },
    );
  }
  if (result.routes !== undefined) out.routes = result.routes;
  if (result.dns !== undefined) out.dns = result.dns;
  return out;
}

export function ipFamily(cidrOrIp: string): "4" | "6" {
  return cidrOrIp.includes(":") ? "6" : "4";
}

/**
 * The pod's addresses (no prefix length), IPv4 first: the ips on the container interface
 * `ifName` (one with a sandbox), or every ip when the result names no interfaces.
 */
export function podIps(result: CniResult, ifName: string): string[] {
  const ips = result.ips ?? [];
  const inPod = ips.filter((ip) => {
    if (ip.interface === undefined) return true;
    const i = result.interfaces?.[ip.interface];
    return i !== undefined && i.name === ifName && (i.sandbox ?? "") !== "";
  });
  const chosen = inPod.length > 0 ? inPod : ips;
  const addresses = chosen.map((ip) => ip.address.split("/")[0] ?? ip.address);
  return [...addresses.filter((a) => isIP(a) === 4), ...addresses.filter((a) => isIP(a) === 6)];
}

function array(v: unknown, at: string): unknown[] {
  if (!Array.isArray(v)) throw new ResultError(`${at} is not an array`);
  return v;
}

function string(v: unknown, at: string): string {
  if (typeof v !== "string") throw new ResultError(`${at} is not a string`);
  return v;
}

function integer(v: unknown, at: string): number {
  if (typeof v !== "number" || !Number.isInteger(v))
    throw new ResultError(`${at} is not an integer`);
  return v;
}

function strings(v: unknown, at: string): string[] {
  return array(v, at).map((s, i) => string(s, `${at}[${i}]`));
}

function address(v: unknown, at: string): string {
  const s = string(v, at);
  if (isIP(s) === 0) throw new ResultError(`${at} "${s}" is not an IP address`);
  return s;
}

function cidr(v: unknown, at: string): string {
  const s = string(v, at);
  const [ip, prefix, extra] = s.split("/");
  const family = isIP(ip ?? "");
  const bits = Number(prefix);
  if (
    family === 0 ||
    extra !== undefined ||
    prefix === undefined ||
    !/^\d+$/.test(prefix) ||
    bits > (family === 4 ? 32 : 128)
  ) {
    throw new ResultError(`${at} "${s}" is not an address in CIDR notation`);
  }
  return s;
}

function iface(v: unknown, at: string): CniInterface {
  if (!isObject(v)) throw new ResultError(`${at} is not an object`);
  const out: CniInterface = { name: string(v.name, `${at}.name`) };
  for (const key of ["mac", "sandbox", "socketPath", "pciID"] as const) {
    if (v[key] !== undefined && v[key] !== "") out[key] = string(v[key], `${at}.${key}`);
  }
  if (v.mtu !== undefined && v.mtu !== 0) out.mtu = integer(v.mtu, `${at}.mtu`);
  return out;
}

function route(v: unknown, at: string): CniRoute {
  if (!isObject(v)) throw new ResultError(`${at} is not an object`);
  const out: CniRoute = { dst: cidr(v.dst, `${at}.dst`) };
  if (v.gw !== undefined && v.gw !== "") out.gw = address(v.gw, `${at}.gw`);
  for (const key of ["mtu", "advmss", "priority", "table", "scope"] as const) {
    if (v[key] !== undefined && v[key] !== null) out[key] = integer(v[key], `${at}.${key}`);
  }
  return out;
}

function dns(v: unknown): CniDns {
  if (!isObject(v)) throw new ResultError("dns is not an object");
  const out: CniDns = {};
  for (const key of ["nameservers", "search", "options"] as const) {
    if (v[key] !== undefined && v[key] !== null) out[key] = strings(v[key], `dns.${key}`);
  }
  if (v.domain !== undefined && v.domain !== "") out.domain = string(v.domain, "dns.domain");
  return out;
}
