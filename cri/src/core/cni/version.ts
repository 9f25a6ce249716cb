/**
 * CNI spec versions: the ones Skiff speaks (0.1.0 to 1.1.0), comparison, and the feature
 * each introduced (chaining and prevResult in 0.3.0, CHECK and prevResult on DEL in
 * 0.4.0, no `version` in ips from 1.0.0, STATUS and GC and `cniVersions` in 1.1.0).
 */

export const supportedVersions = ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"];
export const currentVersion = "1.1.0";

export function parseVersion(v: string): [number, number, number] | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(v);
  if (m === null) return undefined;
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

/** Negative, zero or positive as a is older than, equal to or newer than b. */
export function compareVersions(a: string, b: string): number {
  const pa = parseVersion(a) ?? [0, 0, 0];
  const pb = parseVersion(b) ?? [0, 0, 0];
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

export const atLeast = (v: string, min: string): boolean => compareVersions(v, min) >= 0;
export const isSupported = (v: string): boolean => supportedVersions.includes(v);

export const hasChaining = (v: string): boolean => atLeast(v, "0.3.0");
export const hasCheck = (v: string): boolean => atLeast(v, "0.4.0");
export const hasPrevResultOnDel = (v: string): boolean => atLeast(v, "0.4.0");
export const hasStatus = (v: string): boolean => atLeast(v, "1.1.0");
/** Results of 0.3.x and 0.4.0 carry `version: "4"|"6"` in each ips entry. */
export const hasIpVersionField = (v: string): boolean =>
  atLeast(v, "0.3.0") && !atLeast(v, "1.0.0");
/** Results before 0.3.0 have the `ip4` / `ip6` shape. */
export const hasLegacyResult = (v: string): boolean => !atLeast(v, "0.3.0");
