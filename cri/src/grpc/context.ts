/** What the RPC handlers reach: the services skiff-cri wires together in daemon/. */
import type { ConfigService } from "../services/config/config-service.js";
import type { AttachRequest, ExecRequest, PortForwardRequest } from "../streaming/backend.js";
import type { ContainerService } from "../services/container/container-service.js";
import type { ImageService } from "../services/image/image-service.js";
import type { RuntimeStatusSources } from "../services/runtime/runtime-status.js";
import type { SandboxService } from "../services/sandbox/sandbox-service.js";

export interface StreamUrls {
  getExec(req: ExecRequest): string;
  getAttach(req: AttachRequest): string;
  getPortForward(req: PortForwardRequest): string;
}

/** The node's pod network settings kubelet may change (UpdateRuntimeConfig). */
export interface PodNetworkSettings {
  /** "10.244.1.0/24" or a comma-separated dual-stack pair. */
  setPodCidr(cidrs: string): void;
}

export interface Services {
  config: ConfigService;
  images: ImageService;
  status: RuntimeStatusSources;
  sandboxes: SandboxService;
  containers: ContainerService;
  /** Hands out the single-use URLs of Exec, Attach and PortForward. */
  streaming: StreamUrls;
  network: PodNetworkSettings;
}
