/** Owner references: every object a controller creates points at its owner (GC deletes it). */
import type { V1OwnerReference } from "@kubernetes/client-node";
import type { KubeObject } from "./kube-api.js";

export function controllerRef(owner: KubeObject): V1OwnerReference {
  if (!owner.apiVersion || !owner.kind || !owner.metadata.uid)
    throw new Error(`owner ${owner.metadata.name} lacks apiVersion, kind or uid`);
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name: owner.metadata.name,
    uid: owner.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** The controlling owner of `o` if it is of `kind`. */
export const controllerOf = (o: KubeObject, kind: string): V1OwnerReference | undefined =>
  o.metadata.ownerReferences?.find((r) => r.controller && r.kind === kind);
