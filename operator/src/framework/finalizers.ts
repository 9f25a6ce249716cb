/**
 * Finalizer helpers, in one place: add and remove with a JSON patch guarded by a `test`
 * of the current list, so two writers cannot lose each other's finalizers.
 */
import type { KubeApi, KubeObject } from "./kube-api.js";
import type { ResourceType } from "./resource.js";

export const hasFinalizer = (o: KubeObject, finalizer: string): boolean =>
  (o.metadata.finalizers ?? []).includes(finalizer);

export const isDeleting = (o: KubeObject): boolean => o.metadata.deletionTimestamp != null;

/** Adds the finalizer if missing; returns the updated object (or the same one). */
export async function addFinalizer<T extends KubeObject>(
  api: KubeApi,
  type: ResourceType,
  o: T,
  finalizer: string,
): Promise<T> {
  if (hasFinalizer(o, finalizer)) return o;
  const current = o.metadata.finalizers;
  const patch =
    current === undefined || current.length === 0
      ? [
          { op: "test", path: "/metadata/resourceVersion", value: o.metadata.resourceVersion },
          { op: "add", path: "/metadata/finalizers", value: [finalizer] },
        ]
      : [
          { op: "test", path: "/metadata/finalizers", value: current },
          { op: "add", path: "/metadata/finalizers/-", value: finalizer },
        ];
  return api.patch<T>(type, o.metadata.name, o.metadata.namespace, patch, { type: "json" });
}

/** Removes the finalizer if present; returns the updated object (or the same one). */
export async function removeFinalizer<T extends KubeObject>(
  api: KubeApi,
  type: ResourceType,
  o: T,
  finalizer: string,
): Promise<T> {
  const current = o.metadata.finalizers ?? [];
  const index = current.indexOf(finalizer);
  if (index < 0) return o;
  const patch = [
    { op: "test", path: "/metadata/finalizers", value: current },
    { op: "remove", path: `/metadata/finalizers/${index}` },
  ];
  return api.patch<T>(type, o.metadata.name, o.metadata.namespace, patch, { type: "json" });
}
