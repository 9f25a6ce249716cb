/**
 * Registry (cluster-scoped): one upstream registry, its ordered mirrors, credentials and
 * TLS settings, as DESIGN.md's registry configuration, applied by node agents to the
 * nodes its nodeSelector picks (registries.d/<name>.yaml). An optional `deploy` section
 * runs an in-cluster Distribution registry as a pull-through cache and puts it first
 * among the mirrors.
 */
import {
  conditionsSchema,
  nodeSelectorSchema,
  secretRefSchema,
  type CustomObject,
} from "./common.js";
import { schema, type FromSchema } from "./schema.js";

export const hostPortPattern =
  "^([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)(\\.[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)*(:[0-9]{1,5})?$";

const caBundle = {
  type: "string",
  description: "PEM certificates to trust for this endpoint, in addition to the system's.",
  maxLength: 65536,
} as const;

export const mirrorSchema = schema({
  type: "object",
  description: "A mirror tried before the upstream, in list order.",
  required: ["url"],
  properties: {
    url: {
      type: "string",
      description: "Base URL, http:// or https:// (http:// only when written so).",
      pattern: "^https?://[^\\s/]+(/[^\\s]*)?$",
      maxLength: 2048,
    },
    caBundle,
    insecureSkipVerify: {
      type: "boolean",
      description: "Do not verify the mirror's TLS certificate.",
      default: false,
    },
    capabilities: {
      type: "array",
      description: "What the mirror may be used for.",
      items: { type: "string", enum: ["pull", "resolve", "push"] },
      "x-kubernetes-list-type": "set",
      default: ["pull", "resolve"],
      maxItems: 3,
    },
  },
  "x-kubernetes-validations": [
    {
      rule: "!has(self.caBundle) || self.url.startsWith('https://')",
      message: "caBundle applies only to an https:// mirror",
      fieldPath: ".caBundle",
    },
    {
      rule: "!self.insecureSkipVerify || self.url.startsWith('https://')",
      message: "insecureSkipVerify applies only to an https:// mirror",
      fieldPath: ".insecureSkipVerify",
    },
  ],
});

export const registrySpecSchema = schema({
  type: "object",
  description: "The desired configuration of one upstream registry on the selected nodes.",
  required: ["server"],
  properties: {
    server: {
      type: "string",
      description: "host[:port] as written in image references, e.g. registry.k8s.io.",
      pattern: hostPortPattern,
      maxLength: 253,
    },
    mirrors: {
      type: "array",
      description: "Mirrors tried in order, then the upstream itself.",
      items: mirrorSchema,
      maxItems: 16,
      default: [],
    },
    credentials: {
      type: "object",
      description:
        "Credentials for the upstream, from a Secret in the operator's namespace of type " +
        "kubernetes.io/dockerconfigjson (the entry for server) or kubernetes.io/basic-auth.",
      required: ["secretRef"],
      properties: { secretRef: secretRefSchema },
    },
    clientCertificate: {
      type: "object",
      description:
        "A TLS client certificate for the upstream (mutual TLS), from a Secret of type " +
        "kubernetes.io/tls in the operator's namespace.",
      required: ["secretRef"],
      properties: { secretRef: secretRefSchema },
    },
    caBundle,
    insecure: {
      type: "boolean",
      description: "Plain HTTP or unverified TLS for the upstream.",
      default: false,
    },
    nodeSelector: nodeSelectorSchema,
    deploy: {
      type: "object",
      description:
        "Run an in-cluster Distribution registry as a pull-through cache of this upstream " +
        "(Deployment, Service and storage in the operator's namespace) and use it as the " +
        "first mirror.",
      properties: {
        image: {
          type: "string",
          description: "The Distribution image; the operator's --cache-image when absent.",
          maxLength: 512,
        },
        remoteURL: {
          type: "string",
          description: "proxy.remoteurl; https://<server> when absent.",
          pattern: "^https?://",
          maxLength: 2048,
        },
        storage: {
          type: "object",
          description: "Where the cache keeps blobs.",
          properties: {
            type: {
              type: "string",
              description: "EmptyDir (lost with the pod) or PersistentVolumeClaim.",
              enum: ["EmptyDir", "PersistentVolumeClaim"],
              default: "EmptyDir",
            },
            size: {
              type: "string",
              description: "The claim's size (a quantity, e.g. 20Gi).",
              pattern: "^[0-9]+(\\.[0-9]+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$",
            },
            storageClassName: { type: "string", description: "The claim's storage class." },
          },
          default: { type: "EmptyDir" },
          "x-kubernetes-validations": [
            {
              rule: "self.type != 'PersistentVolumeClaim' || has(self.size)",
              message: "size is required when storage type is PersistentVolumeClaim",
              reason: "FieldValueRequired",
            },
            {
              rule: "self.type == 'PersistentVolumeClaim' || (!has(self.size) && !has(self.storageClassName))",
              message: "size and storageClassName apply only to PersistentVolumeClaim storage",
            },
          ],
        },
        port: {
          type: "integer",
          description: "The Service port.",
          minimum: 1,
          maximum: 65535,
          default: 5000,
        },
      },
    },
  },
  "x-kubernetes-validations": [
    {
      rule: "self.mirrors.all(m, self.mirrors.exists_one(n, n.url == m.url))",
      message: "mirror URLs must be unique",
      fieldPath: ".mirrors",
      reason: "FieldValueDuplicate",
    },
    {
      rule: "!(has(self.insecure) && self.insecure && has(self.caBundle))",
      message: "caBundle and insecure exclude each other",
    },
  ],
});

export const mirrorStatusSchema = schema({
  type: "object",
  required: ["url", "healthy"],
  properties: {
    url: { type: "string", description: "The mirror's URL." },
    healthy: { type: "boolean", description: "GET /v2/ answered (200 or 401) in time." },
    latencyMs: { type: "integer", description: "How long GET /v2/ took, in milliseconds." },
    message: { type: "string", description: "Why the mirror is unhealthy." },
  },
});

export const registryNodeStatusSchema = schema({
  type: "object",
  description: "What one node agent applied and measured (each agent owns its own entry).",
  required: ["node", "observedGeneration", "applied"],
  properties: {
    node: { type: "string", description: "The Node's name." },
    observedGeneration: { type: "integer", description: "The generation the agent applied." },
    applied: { type: "boolean", description: "The drop-in is written and skiff-cri reloaded." },
    message: { type: "string", description: "Why it is not applied." },
    mirrors: {
      type: "array",
      items: mirrorStatusSchema,
      "x-kubernetes-list-type": "map",
      "x-kubernetes-list-map-keys": ["url"],
    },
    lastProbeTime: { type: "string", format: "date-time" },
  },
});

export const registryStatusSchema = schema({
  type: "object",
  properties: {
    observedGeneration: {
      type: "integer",
      description: "The generation the controller last reconciled.",
    },
    conditions: conditionsSchema,
    mirrors: {
      type: "array",
      description:
        "The effective mirror list (the in-cluster cache first) with each mirror's health " +
        "and worst latency as the node agents last measured it.",
      items: {
        type: "object",
        required: ["url"],
        properties: {
          url: { type: "string" },
          healthyNodes: { type: "integer" },
          unhealthyNodes: { type: "integer" },
          latencyMs: { type: "integer" },
          message: { type: "string" },
        },
      },
    },
    cacheURL: { type: "string", description: "The deployed cache's URL, when deployed." },
    nodesApplied: { type: "integer", description: "Selected nodes that applied this generation." },
    nodesTotal: { type: "integer", description: "Nodes the nodeSelector selects." },
    nodes: {
      type: "array",
      items: registryNodeStatusSchema,
      "x-kubernetes-list-type": "map",
      "x-kubernetes-list-map-keys": ["node"],
    },
  },
});

export type RegistrySpec = FromSchema<typeof registrySpecSchema>;
export type RegistryStatus = FromSchema<typeof registryStatusSchema>;
export type RegistryNodeStatus = FromSchema<typeof registryNodeStatusSchema>;
export type MirrorSpec = FromSchema<typeof mirrorSchema>;
export type Registry = CustomObject<RegistrySpec, RegistryStatus>;
