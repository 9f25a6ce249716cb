/**
 * The in-cluster pull-through cache of a Registry with `deploy`: a Distribution
 * Deployment (proxy.remoteurl = the upstream), a ClusterIP Service and, for
 * PersistentVolumeClaim storage, a claim. Pure: builds the objects; the reconciler
 * applies them (server-side apply) with the Registry as their controlling owner.
 */
import type { V1Deployment, V1PersistentVolumeClaim, V1Service } from "@kubernetes/client-node";
import type { Registry } from "../../apis/v1alpha1/registry.js";
import type { KubeObject } from "../../framework/kube-api.js";
import { controllerRef } from "../../framework/owner.js";
import { childName, managedBy, type OperatorSettings } from "../settings.js";

export const registryLabel = "skiff.dev/registry";

export const cacheName = (registry: Registry): string => childName(registry.metadata.name, "cache");

export interface CacheObjects {
  deployment: V1Deployment & KubeObject;
  service: V1Service & KubeObject;
  claim?: V1PersistentVolumeClaim & KubeObject;
}

export function cacheObjects(registry: Registry, settings: OperatorSettings): CacheObjects {
  const deploy = registry.spec.deploy;
  if (!deploy) throw new Error("the Registry has no deploy section");
  const name = cacheName(registry);
  const namespace = settings.namespace;
  const labels = {
    ...managedBy,
    [registryLabel]: registry.metadata.name,
    "app.kubernetes.io/name": "skiff-cache",
  };
  const selector = {
    [registryLabel]: registry.metadata.name,
    "app.kubernetes.io/name": "skiff-cache",
  };
  const ownerReferences = [controllerRef(registry)];
  const metadata = { name, namespace, labels, ownerReferences };
  const remote =
    deploy.remoteURL ??
    `https://${registry.spec.server === "docker.io" ? "registry-1.docker.io" : registry.spec.server}`;
  const pvc = deploy.storage.type === "PersistentVolumeClaim";
  const deployment: V1Deployment & KubeObject = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata,
    spec: {
      replicas: 1,
      selector: { matchLabels: selector },
      strategy: pvc ? { type: "Recreate" } : { type: "RollingUpdate" },
      template: {
        metadata: { labels },
        spec: {
          automountServiceAccountToken: false,
          securityContext: { runAsNonRoot: true, runAsUser: 1000, fsGroup: 1000 },
          containers: [
            {
              name: "registry",
              image: deploy.image ?? settings.cacheImage,
              env: [
                { name: "REGISTRY_HTTP_ADDR", value: ":5000" },
                { name: "REGISTRY_PROXY_REMOTEURL", value: remote },
                { name: "REGISTRY_STORAGE_DELETE_ENABLED", value: "true" },
              ],
              ports: [{ name: "registry", containerPort: 5000 }],
              readinessProbe: { httpGet: { path: "/v2/", port: 5000 }, periodSeconds: 5 },
              volumeMounts: [{ name: "storage", mountPath: "/var/lib/registry" }],
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ["ALL"] },
              },
            },
          ],
          volumes: [
            pvc
              ? { name: "storage", persistentVolumeClaim: { claimName: name } }
              : { name: "storage", emptyDir: {} },
          ],
        },
      },
    },
  };
  const service: V1Service & KubeObject = {
    apiVersion: "v1",
    kind: "Service",
    metadata,
    spec: {
      type: "ClusterIP",
      selector,
      ports: [{ name: "registry", port: deploy.port, targetPort: 5000 }],
    },
  };
  const claim: (V1PersistentVolumeClaim & KubeObject) | undefined = pvc
    ? {
        apiVersion: "v1",
        kind: "PersistentVolumeClaim",
        metadata,
        spec: {
          accessModes: ["ReadWriteOnce"],
          resources: { requests: { storage: deploy.storage.size ?? "10Gi" } },
          ...(deploy.storage.storageClassName
            ? { storageClassName: deploy.storage.storageClassName }
            : {}),
        },
      }
    : undefined;
  return { deployment, service, ...(claim ? { claim } : {}) };
}
