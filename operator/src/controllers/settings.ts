/** The operator's settings (flags), shared by the controllers. */
export interface OperatorSettings {
  /** The operator's namespace: Registry credentials, the cache Deployments, the Lease. */
  namespace: string;
  /** The image the build Job's pod runs (until Skiff's builder image exists, a setting). */
  builderImage: string;
  /** The Distribution image for a Registry's in-cluster pull-through cache. */
  cacheImage: string;
  /** How soon to look again when a referenced Secret, ConfigMap or claim is missing. */
  missingRefRequeueMs: number;
  /** How long a deleted Registry waits for node agents to remove their files. */
  nodeCleanupTimeoutMs: number;
}

export const defaultSettings: OperatorSettings = {
  namespace: "skiff-system",
  builderImage: "ghcr.io/skiff-dev/skiff-builder:v0.1.0",
  cacheImage: "registry:2.8",
  missingRefRequeueMs: 5000,
  nodeCleanupTimeoutMs: 120_000,
};

export const managedBy = { "app.kubernetes.io/managed-by": "skiff-operator" };

/** Does `labels` carry every key=value of `selector`? (empty selector: yes) */
export function selects(
  selector: Record<string, string> | undefined,
  labels: Record<string, string> | undefined,
): boolean {
  for (const [k, v] of Object.entries(selector ?? {})) if (labels?.[k] !== v) return false;
  return true;
}

/** A name of at most 63 characters, derived from `base` and a suffix, stable per input. */
export function childName(base: string, suffix: string): string {
  const full = `${base}-${suffix}`;
  if (full.length <= 63) return full;
  let h = 0;
  for (const c of full) h = (Math.imul(h, 31) + c.charCodeAt(0)) >>> 0;
  const hash = h.toString(36).slice(0, 6);
  return `${base.slice(0, 63 - suffix.length - hash.length - 2)}-${hash}-${suffix}`;
}

export const timestamp = (ms: number): string =>
  new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

/** JSON with object keys sorted: the API server returns custom objects' keys sorted. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/** A copy of `o` without `key`. */
export function omit<T extends object, K extends keyof T>(o: T, key: K): Omit<T, K> {
  const copy = { ...o };
  delete copy[key];
  return copy;
}
