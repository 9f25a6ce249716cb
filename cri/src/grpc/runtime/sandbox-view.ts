/** Sandbox views → CRI messages, shared by the sandbox handlers. */
import type { PodSandbox } from "../../generated/runtime/v1/PodSandbox.js";
import type { PodSandboxStatus } from "../../generated/runtime/v1/PodSandboxStatus.js";
import type { SandboxView } from "../../services/sandbox/sandbox-service.js";

export function podSandboxState(view: SandboxView): "SANDBOX_READY" | "SANDBOX_NOTREADY" {
  return view.ready ? "SANDBOX_READY" : "SANDBOX_NOTREADY";
}

export function podSandboxOf(view: SandboxView): PodSandbox {
  const { record } = view;
  return {
    id: record.id,
    metadata: record.config.metadata ?? {},
    state: podSandboxState(view),
    created_at: record.createdNs.toString(),
    labels: record.config.labels,
    annotations: record.config.annotations,
    runtime_handler: record.runtimeHandler,
  };
}

export function podSandboxStatusOf(view: SandboxView): PodSandboxStatus {
  const { record, namespaces } = view;
  const [ip = "", ...rest] = record.ips;
  return {
    ...podSandboxOf(view),
    network: { ip, additional_ips: rest.map((a) => ({ ip: a })) },
    linux: {
      namespaces: {
        options: {
          network: namespaces.network,
          pid: namespaces.pid,
          ipc: namespaces.ipc,
          target_id: "",
        },
      },
    },
  };
}
