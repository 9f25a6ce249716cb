/**
 * Schema pieces shared by Skiff's CRDs: conditions (metav1.Condition), node selectors,
 * Secret references, and the object envelope every custom resource has.
 */
import type { V1ObjectMeta } from "@kubernetes/client-node";
import { schema, type FromSchema } from "./schema.js";

export const group = "skiff.dev";
export const version = "v1alpha1";
export const apiVersion = `${group}/${version}`;

export const conditionSchema = schema({
  type: "object",
  description:
    "One aspect of the object's state (metav1.Condition): its type, status, the reason " +
    "in CamelCase, a human message, and the generation it was computed from.",
  required: ["type", "status", "lastTransitionTime", "reason", "message"],
  properties: {
    type: { type: "string", description: "The condition's type, e.g. Ready.", maxLength: 316 },
    status: {
      type: "string",
      description: "True, False or Unknown.",
      enum: ["True", "False", "Unknown"],
    },
    observedGeneration: {
      type: "integer",
      description: "The metadata.generation the condition was set from.",
      minimum: 0,
    },
    lastTransitionTime: {
      type: "string",
      format: "date-time",
      description: "When the status last changed.",
    },
    reason: {
      type: "string",
      description: "Why, in CamelCase (a machine-readable token).",
      maxLength: 1024,
      pattern: "^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$",
    },
    message: { type: "string", description: "Why, for humans.", maxLength: 32768 },
  },
});

export const conditionsSchema = schema({
  type: "array",
  description: "The object's conditions, one per type.",
  items: conditionSchema,
  "x-kubernetes-list-type": "map",
  "x-kubernetes-list-map-keys": ["type"],
  maxItems: 16,
});

export type Condition = FromSchema<typeof conditionSchema>;

export const nodeSelectorSchema = schema({
  type: "object",
  description:
    "Labels a Node must carry for this object to apply to it (as a Pod's nodeSelector). " +
    "Empty or absent selects every node.",
  additionalProperties: { type: "string" },
  maxProperties: 32,
});

export const secretRefSchema = schema({
  type: "object",
  description: "A Secret in the operator's namespace.",
  required: ["name"],
  properties: {
    name: {
      type: "string",
      description: "The Secret's name.",
      minLength: 1,
      maxLength: 253,
      pattern: "^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$",
    },
  },
});

/** The envelope of a custom resource, with its spec and status types. */
export interface CustomObject<Spec, Status> {
  apiVersion: string;
  kind: string;
  metadata: V1ObjectMeta & { name: string };
  spec: Spec;
  status?: Status;
}
