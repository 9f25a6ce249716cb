/**
 * NodeSetup (cluster-scoped): kubeadm's node prerequisites (kernel modules, sysctls, swap
 * check), Skiff's installation and kubelet's CRI settings, applied by the node agents on
 * the nodes its nodeSelector picks, each reporting every step's outcome.
 */
import { conditionsSchema, nodeSelectorSchema, type CustomObject } from "./common.js";
import { schema, type FromSchema } from "./schema.js";

export const nodeSetupSpecSchema = schema({
  type: "object",
  description: "What the node agents apply on the selected nodes.",
  properties: {
    nodeSelector: nodeSelectorSchema,
    modules: {
      type: "array",
      description: "Kernel modules to load (modprobe), now and at boot (modules-load.d).",
      items: { type: "string", pattern: "^[a-zA-Z0-9_-]+$", maxLength: 64 },
      default: ["overlay", "br_netfilter"],
      maxItems: 32,
      "x-kubernetes-list-type": "set",
    },
    sysctls: {
      type: "object",
      description: "Kernel parameters to set now and in /etc/sysctl.d/99-skiff.conf.",
      additionalProperties: { type: "string", maxLength: 256 },
      default: {
        "net.ipv4.ip_forward": "1",
        "net.bridge.bridge-nf-call-iptables": "1",
        "net.bridge.bridge-nf-call-ip6tables": "1",
      },
      maxProperties: 64,
      "x-kubernetes-validations": [
        {
          rule: "self.all(k, k.matches('^[a-z0-9_]+([./][a-z0-9_-]+)+$'))",
          message: "sysctl names are dotted lowercase words, e.g. net.ipv4.ip_forward",
        },
        {
          rule: "self.all(k, self[k].matches('^[-0-9a-zA-Z_. \\t:/]*$'))",
          message: "sysctl values may not contain =, +, newlines or other separators",
        },
      ],
    },
    swap: {
      type: "object",
      description: "What to do when the node has swap on.",
      properties: {
        policy: {
          type: "string",
          enum: ["Fail", "Warn", "Ignore"],
          default: "Fail",
          description: "Fail the swap step, report a warning, or not check.",
        },
      },
      default: { policy: "Fail" },
    },
    skiff: {
      type: "object",
      description:
        "Install Skiff on the host from the agent's image (binaries under /opt/skiff and " +
        "config under /etc/skiff; a systemd unit where the host runs systemd).",
      properties: {
        install: { type: "boolean", default: false, description: "Install or upgrade Skiff." },
        version: { type: "string", description: "The version to install.", maxLength: 64 },
      },
      "x-kubernetes-validations": [
        {
          rule: "!self.install || has(self.version)",
          message: "version is required when install is true",
          reason: "FieldValueRequired",
        },
      ],
    },
    kubelet: {
      type: "object",
      description: "A KubeletConfiguration drop-in (/etc/kubernetes/kubelet.conf.d/50-skiff.conf).",
      properties: {
        containerRuntimeEndpoint: {
          type: "string",
          default: "unix:///run/skiff/cri.sock",
          pattern: "^unix:///",
          description: "The CRI socket kubelet talks to.",
        },
        cgroupDriver: {
          type: "string",
          enum: ["cgroupfs", "systemd"],
          default: "cgroupfs",
          description: "Must match skiff-cri's (cgroupfs where the host has no systemd).",
        },
        failCgroupV1: {
          type: "boolean",
          default: false,
          description: "Kubelet 1.35+ refuses cgroup v1 unless this is false.",
        },
      },
    },
  },
});

export const stepOutcomes = ["Applied", "Failed", "Skipped", "Warning"] as const;

export const nodeSetupNodeStatusSchema = schema({
  type: "object",
  description: "What one node agent applied (each agent owns its own entry).",
  required: ["node", "observedGeneration", "ready"],
  properties: {
    node: { type: "string" },
    observedGeneration: { type: "integer" },
    ready: { type: "boolean", description: "Every step applied, skipped or warned." },
    lastApplyTime: { type: "string", format: "date-time" },
    steps: {
      type: "array",
      items: {
        type: "object",
        required: ["name", "outcome"],
        properties: {
          name: { type: "string", description: "e.g. module/overlay, sysctl/net.ipv4.ip_forward" },
          outcome: { type: "string", enum: stepOutcomes },
          message: { type: "string" },
        },
      },
      "x-kubernetes-list-type": "map",
      "x-kubernetes-list-map-keys": ["name"],
    },
  },
});

export const nodeSetupStatusSchema = schema({
  type: "object",
  properties: {
    observedGeneration: { type: "integer" },
    conditions: conditionsSchema,
    nodesTotal: { type: "integer", description: "Nodes the nodeSelector selects." },
    nodesReady: { type: "integer", description: "Nodes that applied this generation fully." },
    nodesFailed: { type: "integer", description: "Nodes with a failed step." },
    nodes: {
      type: "array",
      items: nodeSetupNodeStatusSchema,
      "x-kubernetes-list-type": "map",
      "x-kubernetes-list-map-keys": ["node"],
    },
  },
});

export type NodeSetupSpec = FromSchema<typeof nodeSetupSpecSchema>;
export type NodeSetupStatus = FromSchema<typeof nodeSetupStatusSchema>;
export type NodeSetupNodeStatus = FromSchema<typeof nodeSetupNodeStatusSchema>;
export type StepOutcome = (typeof stepOutcomes)[number];
export type NodeSetup = CustomObject<NodeSetupSpec, NodeSetupStatus>;
