/**
 * BuildJob (namespaced): a Dockerfile build run in-cluster by Skiff's builder. The
 * controller creates and owns a Job whose Pod runs the builder image; the Pod reports
 * the pushed image's digest in its termination message.
 */
import { conditionsSchema, nodeSelectorSchema, type CustomObject } from "./common.js";
import { schema, type FromSchema } from "./schema.js";

const nameSchema = {
  type: "string",
  minLength: 1,
  maxLength: 253,
  pattern: "^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$",
} as const;

export const buildJobSpecSchema = schema({
  type: "object",
  description: "A build: where the context comes from, how to build it, where to push.",
  required: ["source", "output"],
  properties: {
    source: {
      type: "object",
      description: "The build context: exactly one of configMap, persistentVolumeClaim, git.",
      properties: {
        configMap: {
          type: "object",
          description: "A ConfigMap in the BuildJob's namespace; each key is a file.",
          required: ["name"],
          properties: { name: { ...nameSchema, description: "The ConfigMap's name." } },
        },
        persistentVolumeClaim: {
          type: "object",
          description: "A directory in a PersistentVolumeClaim in the BuildJob's namespace.",
          required: ["claimName"],
          properties: {
            claimName: { ...nameSchema, description: "The claim's name." },
            path: {
              type: "string",
              description: "The context directory inside the volume.",
              default: ".",
              pattern: "^[^/]",
            },
          },
        },
        git: {
          type: "object",
          description: "A git repository at a revision.",
          required: ["url"],
          properties: {
            url: { type: "string", description: "The repository URL.", minLength: 1 },
            revision: {
              type: "string",
              description: "A branch, tag or commit.",
              default: "HEAD",
            },
          },
        },
      },
      "x-kubernetes-validations": [
        {
          rule: "[has(self.configMap), has(self.persistentVolumeClaim), has(self.git)].filter(x, x).size() == 1",
          message: "source needs exactly one of configMap, persistentVolumeClaim, git",
        },
      ],
    },
    dockerfile: {
      type: "string",
      description: "The Dockerfile's path inside the context.",
      default: "Dockerfile",
      minLength: 1,
    },
    buildArgs: {
      type: "object",
      description: "ARG values.",
      additionalProperties: { type: "string" },
    },
    target: { type: "string", description: "The stage to build (default: the last)." },
    platforms: {
      type: "array",
      description: "os/arch[/variant] to build for.",
      items: { type: "string", pattern: "^[a-z0-9]+/[a-z0-9_]+(/[a-z0-9]+)?$" },
      default: ["linux/amd64"],
      minItems: 1,
      maxItems: 8,
      "x-kubernetes-list-type": "set",
    },
    output: {
      type: "object",
      description: "Where the image goes.",
      required: ["image"],
      properties: {
        image: {
          type: "string",
          description: "The image reference to push, e.g. registry.example.com/app:1.0.",
          minLength: 1,
          maxLength: 1024,
        },
        pushSecretRef: {
          type: "object",
          description:
            "A kubernetes.io/dockerconfigjson Secret in the BuildJob's namespace used to push.",
          required: ["name"],
          properties: { name: { ...nameSchema, description: "The Secret's name." } },
        },
      },
    },
    cache: {
      type: "object",
      description: "The layer cache.",
      properties: {
        type: {
          type: "string",
          enum: ["None", "Registry", "Volume"],
          default: "None",
          description: "None, a cache image in a registry, or a PersistentVolumeClaim.",
        },
        ref: {
          type: "string",
          description: "The cache image reference (Registry) or claim name (Volume).",
        },
      },
      "x-kubernetes-validations": [
        {
          rule: "self.type == 'None' || has(self.ref)",
          message: "ref is required unless cache type is None",
          reason: "FieldValueRequired",
        },
      ],
    },
    nodeSelector: nodeSelectorSchema,
    timeoutSeconds: {
      type: "integer",
      description: "The build's deadline (the Job's activeDeadlineSeconds).",
      minimum: 1,
      maximum: 86400,
      default: 3600,
    },
    ttlSecondsAfterFinished: {
      type: "integer",
      description: "Delete the BuildJob (and its Job and Pod) this long after it finished.",
      minimum: 0,
    },
  },
  "x-kubernetes-validations": [
    {
      rule: "self == oldSelf",
      message: "spec is immutable: create a new BuildJob to build again",
    },
  ],
});

export const buildPhases = ["Pending", "Running", "Succeeded", "Failed"] as const;

export const buildJobStatusSchema = schema({
  type: "object",
  properties: {
    observedGeneration: { type: "integer" },
    phase: {
      type: "string",
      description: "Pending, Running, Succeeded or Failed.",
      enum: buildPhases,
    },
    conditions: conditionsSchema,
    startTime: { type: "string", format: "date-time", description: "When the build pod ran." },
    completionTime: { type: "string", format: "date-time", description: "When it finished." },
    digest: {
      type: "string",
      description: "The pushed image's digest, from the build pod's termination message.",
      pattern: "^sha256:[a-f0-9]{64}$",
    },
    jobName: { type: "string", description: "The Job running the build." },
    podName: { type: "string", description: "The build pod, for `kubectl logs`." },
    message: { type: "string", description: "What happened last." },
  },
});

export type BuildJobSpec = FromSchema<typeof buildJobSpecSchema>;
export type BuildJobStatus = FromSchema<typeof buildJobStatusSchema>;
export type BuildPhase = (typeof buildPhases)[number];
export type BuildJob = CustomObject<BuildJobSpec, BuildJobStatus>;
