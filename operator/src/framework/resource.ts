/**
 * A resource type the framework can list, watch and change: its API group, version,
 * plural and kind, and whether it is namespaced. `path()` builds the REST path.
 */

export interface ResourceType {
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
}

export const resource = (
  apiVersion: string,
  kind: string,
  plural: string,
  namespaced: boolean,
): ResourceType => {
  const slash = apiVersion.indexOf("/");
  return {
    group: slash < 0 ? "" : apiVersion.slice(0, slash),
    version: slash < 0 ? apiVersion : apiVersion.slice(slash + 1),
    plural,
    kind,
    namespaced,
  };
};

export const apiVersionOf = (type: ResourceType): string =>
  type.group === "" ? type.version : `${type.group}/${type.version}`;

/** /api/v1/namespaces/ns/pods/name/status, /apis/skiff.dev/v1alpha1/registries, ... */
export function resourcePath(
  type: ResourceType,
  namespace?: string,
  name?: string,
  subresource?: string,
): string {
  let path = type.group === "" ? `/api/${type.version}` : `/apis/${type.group}/${type.version}`;
  if (type.namespaced && namespace !== undefined && namespace !== "")
    path += `/namespaces/${encodeURIComponent(namespace)}`;
  path += `/${type.plural}`;
  if (name !== undefined) path += `/${encodeURIComponent(name)}`;
  if (subresource !== undefined) path += `/${subresource}`;
  return path;
}

export const core = {
  pods: resource("v1", "Pod", "pods", true),
  nodes: resource("v1", "Node", "nodes", false),
  secrets: resource("v1", "Secret", "secrets", true),
  configMaps: resource("v1", "ConfigMap", "configmaps", true),
  services: resource("v1", "Service", "services", true),
  persistentVolumeClaims: resource("v1", "PersistentVolumeClaim", "persistentvolumeclaims", true),
  events: resource("v1", "Event", "events", true),
  jobs: resource("batch/v1", "Job", "jobs", true),
  deployments: resource("apps/v1", "Deployment", "deployments", true),
  leases: resource("coordination.k8s.io/v1", "Lease", "leases", true),
};
