/**
 * The CustomResourceDefinitions of skiff.dev/v1alpha1, built from the schema objects the
 * controllers' types come from. gen-crds.ts writes them to manifests/crds/; a unit test
 * fails when the committed YAML differs from what this module builds.
 */
import { resource, type ResourceType } from "../../framework/resource.js";
import { buildJobSpecSchema, buildJobStatusSchema } from "./build-job.js";
import { apiVersion, group, version } from "./common.js";
import { nodeSetupSpecSchema, nodeSetupStatusSchema } from "./node-setup.js";
import { registrySpecSchema, registryStatusSchema } from "./registry.js";
import type { Schema } from "./schema.js";

export const registries = resource(apiVersion, "Registry", "registries", false);
export const buildJobs = resource(apiVersion, "BuildJob", "buildjobs", true);
export const nodeSetups = resource(apiVersion, "NodeSetup", "nodesetups", false);

interface PrinterColumn {
  name: string;
  type: "string" | "integer" | "date" | "boolean";
  jsonPath: string;
  description?: string;
  priority?: number;
}

interface CrdInput {
  type: ResourceType;
  singular: string;
  shortNames: string[];
  description: string;
  spec: Schema;
  status: Schema;
  columns: PrinterColumn[];
}

const readyColumn: PrinterColumn = {
  name: "Ready",
  type: "string",
  jsonPath: '.status.conditions[?(@.type=="Ready")].status',
};
const ageColumn: PrinterColumn = {
  name: "Age",
  type: "date",
  jsonPath: ".metadata.creationTimestamp",
};

const inputs: CrdInput[] = [
  {
    type: registries,
    singular: "registry",
    shortNames: ["reg"],
    description:
      "An upstream image registry with its mirrors, credentials and TLS settings, written " +
      "by Skiff's node agents into /etc/skiff/registries.d on the selected nodes.",
    spec: registrySpecSchema,
    status: registryStatusSchema,
    columns: [
      { name: "Server", type: "string", jsonPath: ".spec.server" },
      readyColumn,
      { name: "Applied", type: "integer", jsonPath: ".status.nodesApplied" },
      { name: "Nodes", type: "integer", jsonPath: ".status.nodesTotal" },
      { name: "Cache", type: "string", jsonPath: ".status.cacheURL", priority: 1 },
      ageColumn,
    ],
  },
  {
    type: buildJobs,
    singular: "buildjob",
    shortNames: ["bj"],
    description:
      "A Dockerfile build run in-cluster by Skiff's builder; its status carries the phase, " +
      "the pushed image's digest and the pod for logs.",
    spec: buildJobSpecSchema,
    status: buildJobStatusSchema,
    columns: [
      { name: "Phase", type: "string", jsonPath: ".status.phase" },
      { name: "Image", type: "string", jsonPath: ".spec.output.image" },
      { name: "Digest", type: "string", jsonPath: ".status.digest", priority: 1 },
      { name: "Pod", type: "string", jsonPath: ".status.podName", priority: 1 },
      ageColumn,
    ],
  },
  {
    type: nodeSetups,
    singular: "nodesetup",
    shortNames: ["nsu"],
    description:
      "Node prerequisites (kernel modules, sysctls, swap), Skiff's installation and " +
      "kubelet's CRI settings, applied by Skiff's node agents with per-node status.",
    spec: nodeSetupSpecSchema,
    status: nodeSetupStatusSchema,
    columns: [
      readyColumn,
      { name: "Nodes-Ready", type: "integer", jsonPath: ".status.nodesReady" },
      { name: "Nodes-Failed", type: "integer", jsonPath: ".status.nodesFailed" },
      { name: "Nodes", type: "integer", jsonPath: ".status.nodesTotal" },
      ageColumn,
    ],
  },
];

export interface CustomResourceDefinition {
  apiVersion: "apiextensions.k8s.io/v1";
  kind: "CustomResourceDefinition";
  metadata: { name: string; labels: Record<string, string> };
  spec: unknown;
}

function crd(input: CrdInput): CustomResourceDefinition {
  const { type } = input;
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: {
      name: `${type.plural}.${group}`,
      labels: { "app.kubernetes.io/part-of": "skiff" },
    },
    spec: {
      group,
      names: {
        kind: type.kind,
        listKind: `${type.kind}List`,
        plural: type.plural,
        singular: input.singular,
        shortNames: input.shortNames,
        categories: ["skiff"],
      },
      scope: type.namespaced ? "Namespaced" : "Cluster",
      versions: [
        {
          name: version,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: input.columns,
          schema: {
            openAPIV3Schema: {
              type: "object",
              description: input.description,
              required: ["spec"],
              properties: {
                apiVersion: { type: "string" },
                kind: { type: "string" },
                metadata: { type: "object" },
                spec: input.spec,
                status: input.status,
              },
            },
          },
        },
      ],
    },
  };
}

export const customResourceDefinitions = (): CustomResourceDefinition[] => inputs.map(crd);

/** manifests/crds/<file> for each CRD. */
export const crdFileName = (c: CustomResourceDefinition): string =>
  `${c.metadata.name.split(".")[0]}.yaml`;
