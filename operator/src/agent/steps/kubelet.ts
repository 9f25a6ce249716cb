/**
 * kubelet's drop-in (KubeletConfiguration in /etc/kubernetes/kubelet.conf.d/, read with
 * kubelet's --config-dir): the CRI endpoint, the cgroup driver and failCgroupV1.
 */
import { stringify } from "yaml";
import type { NodeSetupSpec } from "../../apis/v1alpha1/node-setup.js";
import { hostPath, writeIfChanged, type Host } from "../host.js";
import { applied, guard, skipped, type StepResult } from "./step.js";

export const kubeletDropIn = "/etc/kubernetes/kubelet.conf.d/50-skiff.conf";

export function kubeletConfig(k: NonNullable<NodeSetupSpec["kubelet"]>): string {
  return (
    "# Written by skiff node agent (NodeSetup).\n" +
    stringify({
      apiVersion: "kubelet.config.k8s.io/v1beta1",
      kind: "KubeletConfiguration",
      containerRuntimeEndpoint: k.containerRuntimeEndpoint,
      cgroupDriver: k.cgroupDriver,
      failCgroupV1: k.failCgroupV1,
    })
  );
}

export async function applyKubelet(host: Host, spec: NodeSetupSpec): Promise<StepResult> {
  if (!spec.kubelet) return skipped("kubelet-config", "spec.kubelet is not set");
  const k = spec.kubelet;
  return guard("kubelet-config", () => {
    const changed = writeIfChanged(hostPath(host, kubeletDropIn), kubeletConfig(k));
    return applied(
      "kubelet-config",
      `${changed ? "wrote" : "up to date:"} ${kubeletDropIn} (restart kubelet to apply)`,
    );
  });
}
