/**
 * A Registry's status as the controller computes it from the node agents' per-node
 * entries: nodes applied/total, the effective mirror list with health and worst latency,
 * and the Ready / Deployed / MirrorsHealthy conditions. Pure.
 */
import type { Registry, RegistryNodeStatus, RegistryStatus } from "../../apis/v1alpha1/registry.js";
import type { ConditionInput } from "../../framework/conditions.js";
import type { ClientCertificate, Credentials } from "./credentials.js";

export interface CacheState {
  url?: string;
  available: boolean;
  message: string;
}

export interface RegistryFacts {
  /** The first problem with the referenced Secrets, or ok. */
  credentials?: Credentials | ClientCertificate;
  cache?: CacheState;
  /** Names of the nodes the selector picks. */
  selectedNodes: string[];
}

export type MirrorSummary = NonNullable<RegistryStatus["mirrors"]>[number];

/** The mirrors node agents write, in order: the deployed cache first, then spec.mirrors. */
export const effectiveMirrors = (r: Registry): string[] => [
  ...(r.status?.cacheURL && r.spec.deploy ? [r.status.cacheURL] : []),
  ...r.spec.mirrors.map((m) => m.url),
];

export function computeRegistryStatus(
  r: Registry,
  facts: RegistryFacts,
): Omit<RegistryStatus, "conditions" | "nodes"> & { conditions: ConditionInput[] } {
  const generation = r.metadata.generation ?? 0;
  const selected = new Set(facts.selectedNodes);
  const entries: RegistryNodeStatus[] = (r.status?.nodes ?? []).filter((e) => selected.has(e.node));
  const applied = entries.filter((e) => e.applied && e.observedGeneration === generation).length;
  const total = selected.size;

  const cacheURL = r.spec.deploy ? facts.cache?.url : undefined;
  const urls = [...(cacheURL ? [cacheURL] : []), ...r.spec.mirrors.map((m) => m.url)];
  const mirrors: MirrorSummary[] = urls.map((url) => {
    let healthy = 0;
    let unhealthy = 0;
    let latency: number | undefined;
    let message: string | undefined;
    for (const e of entries) {
      const m = e.mirrors?.find((x) => x.url === url);
      if (!m) continue;
      if (m.healthy) healthy++;
      else {
        unhealthy++;
        message ??= `${e.node}: ${m.message ?? "unhealthy"}`;
      }
      if (m.latencyMs !== undefined) latency = Math.max(latency ?? 0, m.latencyMs);
    }
    return {
      url,
      healthyNodes: healthy,
      unhealthyNodes: unhealthy,
      ...(latency !== undefined ? { latencyMs: latency } : {}),
      ...(message ? { message } : {}),
    };
  });

  const conditions: ConditionInput[] = [];
  const creds = facts.credentials;
  const cache = facts.cache;
  conditions.push(
    !r.spec.deploy
      ? {
          type: "Deployed",
          status: "False",
          reason: "NotRequested",
          message: "spec.deploy is not set",
        }
      : cache?.available
        ? {
            type: "Deployed",
            status: "True",
            reason: "Available",
            message: `cache serving at ${cache.url}`,
          }
        : {
            type: "Deployed",
            status: "False",
            reason: "Progressing",
            message: cache?.message ?? "creating the cache",
          },
  );
  const probed = mirrors.filter((m) => (m.healthyNodes ?? 0) + (m.unhealthyNodes ?? 0) > 0);
  const sick = mirrors.filter((m) => (m.unhealthyNodes ?? 0) > 0);
  conditions.push(
    urls.length === 0
      ? {
          type: "MirrorsHealthy",
          status: "True",
          reason: "NoMirrors",
          message: "no mirrors configured",
        }
      : probed.length === 0
        ? {
            type: "MirrorsHealthy",
            status: "Unknown",
            reason: "NotProbed",
            message: "no node agent has probed the mirrors yet",
          }
        : sick.length > 0
          ? {
              type: "MirrorsHealthy",
              status: "False",
              reason: "MirrorUnhealthy",
              message: sick.map((m) => `${m.url} (${m.message ?? "unhealthy"})`).join("; "),
            }
          : {
              type: "MirrorsHealthy",
              status: "True",
              reason: "Healthy",
              message: `${probed.length} mirror(s) healthy`,
            },
  );
  if (creds && !creds.ok) {
    conditions.push({
      type: "Ready",
      status: "False",
      reason: creds.reason,
      message: creds.message,
    });
  } else if (r.spec.deploy && !cache?.available) {
    conditions.push({
      type: "Ready",
      status: "False",
      reason: "CacheNotAvailable",
      message: cache?.message ?? "creating the cache",
    });
  } else if (applied < total) {
    conditions.push({
      type: "Ready",
      status: "False",
      reason: "NodesPending",
      message: `applied on ${applied} of ${total} nodes`,
    });
  } else {
    conditions.push({
      type: "Ready",
      status: "True",
      reason: "Applied",
      message: `applied on ${applied} of ${total} nodes`,
    });
  }
  return {
    observedGeneration: generation,
    conditions,
    mirrors,
    ...(cacheURL ? { cacheURL } : {}),
    nodesApplied: applied,
    nodesTotal: total,
  };
}
