/**
 * Builds the sandbox service and what it stands on for skiff-cri: the CNI manager
 * (conf dir watched, so NetworkReady flips without a restart), the netns manager, and
 * the infra containers' own ContainerRuntime. Layout:
 *   <state>/netns/<id>          pod network namespaces
 *   <state>/infra/<id>          infra container state (monitor, pid, exit files)
 *   <root>/cni/cache            CNI attachments (for DEL after a crash)
 *   <root>/sandboxes/<id>       hostname, hosts, resolv.conf, shm (tmpfs)
 *   <root>/infra/rootfs         the infra rootfs: skiff-infra and an empty /dev
 */
import { join } from "node:path";
import { ContainerRuntime } from "../../core/container/runtime.js";
import { CniManager } from "../../core/cni/cni-manager.js";
import type { Logger } from "../../core/log.js";
import { NetnsManager } from "../../core/netns/netns.js";
import type { Store } from "../../core/store/store.js";
import { SandboxService } from "./sandbox-service.js";

export interface SandboxWiringOptions {
  root: string;
  state: string;
  cniConfDir: string;
  cniBinDirs: string[];
  store: Store;
  log: Logger;
}

export function openSandboxService(o: SandboxWiringOptions): {
  sandboxes: SandboxService;
  cni: CniManager;
} {
  const cni = new CniManager({
    confDir: o.cniConfDir,
    binDirs: o.cniBinDirs,
    cacheDir: join(o.root, "cni", "cache"),
    log: o.log,
  });
  try {
    const sandboxes = new SandboxService({
      store: o.store,
      runtime: new ContainerRuntime({ root: join(o.state, "infra"), log: o.log }),
      netns: new NetnsManager({ dir: join(o.state, "netns") }),
      network: cni,
      dir: join(o.root, "sandboxes"),
      infraDir: join(o.root, "infra"),
      log: o.log,
    });
    return { sandboxes, cni };
  } catch (err) {
    cni.close();
    throw err;
  }
}
