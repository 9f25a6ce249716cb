/**
 * The Registry controller. Level-based, for one Registry at a time:
 *   deleted?  → remove the cache, wait for node agents to drop their files, unfinalize
 *   finalizer → credentials Secret → cache (Deployment/Service/claim, owned) →
 *   aggregate the node agents' entries → status and conditions (patched only on change)
 * A missing or invalid Secret is a condition and a requeue, never a crash loop; it
 * recovers when the Secret appears.
 */
import type { V1Deployment, V1Node, V1Secret, V1Service } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { registries } from "../../apis/v1alpha1/crds.js";
import type { Registry } from "../../apis/v1alpha1/registry.js";
import type { Clock } from "../../framework/clock.js";
import { conditionsChanged, findCondition, setConditions } from "../../framework/conditions.js";
import type { ReconcileResult, Reconciler } from "../../framework/controller.js";
import type { EventRecorder } from "../../framework/events.js";
import { addFinalizer, isDeleting, removeFinalizer } from "../../framework/finalizers.js";
import type { Informer } from "../../framework/informer.js";
import type { KubeApi, KubeObject, ParsedKey } from "../../framework/kube-api.js";
import { core } from "../../framework/resource.js";
import { canonical, omit, selects, type OperatorSettings } from "../settings.js";
import { cacheName, cacheObjects } from "./cache.js";
import {
  readClientCertificate,
  readCredentials,
  type ClientCertificate,
  type Credentials,
} from "./credentials.js";
import { computeRegistryStatus, type CacheState } from "./status.js";

export const registryFinalizer = "skiff.dev/registry-cleanup";
const fieldManager = "skiff-operator";

export interface RegistryDeps {
  api: KubeApi;
  registries: Informer<Registry>;
  nodes: Informer<V1Node & KubeObject>;
  deployments: Informer<V1Deployment & KubeObject>;
  services: Informer<V1Service & KubeObject>;
  events: EventRecorder;
  settings: OperatorSettings;
  clock: Clock;
}

export class RegistryReconciler implements Reconciler {
  constructor(private readonly d: RegistryDeps) {}

  async reconcile(key: ParsedKey, log: Logger): Promise<ReconcileResult | void> {
    let r = this.d.registries.get(key.name);
    if (!r) return;
    if (isDeleting(r)) return this.finalize(r, log);
    r = await addFinalizer(this.d.api, registries, r, registryFinalizer);

    let credentials: Credentials | ClientCertificate | undefined;
    if (r.spec.credentials) {
      const name = r.spec.credentials.secretRef.name;
      const secret = await this.d.api.get<V1Secret & KubeObject>(
        core.secrets,
        name,
        this.d.settings.namespace,
      );
      credentials = readCredentials(secret, this.d.settings.namespace, name, r.spec.server);
    }
    if (r.spec.clientCertificate && (!credentials || credentials.ok)) {
      const name = r.spec.clientCertificate.secretRef.name;
      const secret = await this.d.api.get<V1Secret & KubeObject>(
        core.secrets,
        name,
        this.d.settings.namespace,
      );
      const client = readClientCertificate(secret, this.d.settings.namespace, name);
      if (!client.ok) credentials = client;
    }
    const cache = r.spec.deploy ? await this.ensureCache(r, log) : await this.removeCache(r, log);

    const selectedNodes = this.d.nodes
      .list()
      .filter((n) => selects(r.spec.nodeSelector, n.metadata.labels))
      .map((n) => n.metadata.name);
    const computed = computeRegistryStatus(r, { credentials, cache, selectedNodes });
    const generation = r.metadata.generation ?? 0;
    const now = new Date(this.d.clock.now());
    const conditions = setConditions(r.status?.conditions, computed.conditions, generation, now);
    const rest = omit(computed, "conditions");
    const changed =
      conditionsChanged(r.status?.conditions, conditions) ||
      canonical(pick(r.status, rest)) !== canonical(rest);
    if (changed) {
      await this.d.api.patch(
        registries,
        r.metadata.name,
        undefined,
        { status: { ...rest, cacheURL: rest.cacheURL ?? null, conditions } },
        { type: "merge", subresource: "status" },
      );
      await this.recordTransitions(r, conditions);
      log.info({ ready: findCondition(conditions, "Ready")?.reason }, "status updated");
    }
    if (credentials && !credentials.ok)
      return { requeueAfterMs: this.d.settings.missingRefRequeueMs };
    if (r.spec.deploy && !cache?.available)
      return { requeueAfterMs: this.d.settings.missingRefRequeueMs };
  }

  private async recordTransitions(
    r: Registry,
    conditions: ReturnType<typeof setConditions>,
  ): Promise<void> {
    const before = findCondition(r.status?.conditions, "Ready");
    const after = findCondition(conditions, "Ready");
    if (!after || (before?.status === after.status && before.reason === after.reason)) return;
    if (after.status === "True") await this.d.events.record(r, "Normal", "Ready", after.message);
    else if (after.reason === "SecretNotFound" || after.reason === "SecretInvalid")
      await this.d.events.record(r, "Warning", after.reason, after.message);
  }

  private async ensureCache(r: Registry, log: Logger): Promise<CacheState> {
    const { api, settings } = this.d;
    const objects = cacheObjects(r, settings);
    const name = cacheName(r);
    const apply = async (type: typeof core.deployments, o: KubeObject) => {
      await api.patch(type, name, settings.namespace, o, {
        type: "apply",
        fieldManager,
        force: true,
      });
    };
    const hash = JSON.stringify([
      objects.deployment.spec,
      objects.service.spec,
      objects.claim?.spec,
    ]);
    const current = this.d.deployments.get(name, settings.namespace);
    if (current?.metadata.annotations?.["skiff.dev/applied"] !== digest(hash)) {
      const annotate = (o: KubeObject) => ({
        ...o,
        metadata: { ...o.metadata, annotations: { "skiff.dev/applied": digest(hash) } },
      });
      if (objects.claim) await apply(core.persistentVolumeClaims, objects.claim);
      await apply(core.services, objects.service);
      await apply(core.deployments, annotate(objects.deployment));
      log.info({ cache: name }, "cache applied");
    }
    const service = this.d.services.get(name, settings.namespace);
    const ip = service?.spec?.clusterIP;
    const url = ip && ip !== "None" ? `http://${ip}:${r.spec.deploy?.port ?? 5000}` : undefined;
    const available = (current?.status?.availableReplicas ?? 0) >= 1;
    return {
      ...(url ? { url } : {}),
      available: available && url !== undefined,
      message: available
        ? `cache serving at ${url}`
        : `Deployment ${settings.namespace}/${name} has no available replica yet`,
    };
  }

  private async removeCache(r: Registry, log: Logger): Promise<undefined> {
    const { api, settings } = this.d;
    const name = cacheName(r);
    if (
      !this.d.deployments.get(name, settings.namespace) &&
      !this.d.services.get(name, settings.namespace)
    )
      return;
    await api.delete(core.deployments, name, settings.namespace);
    await api.delete(core.services, name, settings.namespace);
    await api.delete(core.persistentVolumeClaims, name, settings.namespace);
    log.info({ cache: name }, "cache removed");
    return undefined;
  }

  private async finalize(r: Registry, log: Logger): Promise<ReconcileResult | void> {
    if (!(r.metadata.finalizers ?? []).includes(registryFinalizer)) return;
    await this.removeCache(r, log);
    const live = new Set(this.d.nodes.list().map((n) => n.metadata.name));
    const waiting = (r.status?.nodes ?? []).filter((e) => live.has(e.node)).map((e) => e.node);
    const deletedAt = new Date(String(r.metadata.deletionTimestamp)).getTime();
    const overdue = this.d.clock.now() - deletedAt > this.d.settings.nodeCleanupTimeoutMs;
    if (waiting.length > 0 && !overdue) {
      log.info({ nodes: waiting }, "waiting for node agents to remove the registry");
      return { requeueAfterMs: 2000 };
    }
    if (waiting.length > 0)
      await this.d.events.record(
        r,
        "Warning",
        "CleanupTimedOut",
        `node agents on ${waiting.join(", ")} did not clean up`,
      );
    await removeFinalizer(this.d.api, registries, r, registryFinalizer);
    log.info("finalized");
  }
}

function pick(status: object | undefined, like: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(like)) out[k] = (status as Record<string, unknown> | undefined)?.[k];
  return out;
}

function digest(text: string): string {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619) >>> 0;
  return h.toString(16);
}
