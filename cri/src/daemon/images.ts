/** Wiring of the image side: content store, snapshotter, registry client, layer applier. */
import { join } from "node:path";
import { LocalContentStore } from "../core/content/local-store.js";
import type { Logger } from "../core/log.js";
import { RegistryClient } from "../core/registry/client.js";
import { shimBinary } from "../core/shim/launch.js";
import { OverlaySnapshotter } from "../core/snapshots/overlay.js";
import type { Store } from "../core/store/store.js";
import { LayerApplier, removeStaleStaging } from "../core/unpack/layer-apply.js";
import type { ConfigService } from "../services/config/config-service.js";
import { ImageService } from "../services/image/image-service.js";

export async function openImageService(
  root: string,
  store: Store,
  config: ConfigService,
  log: Logger,
): Promise<{ images: ImageService; snapshotter: OverlaySnapshotter }> {
  const content = await LocalContentStore.open(root, store, log);
  const snapshotter = await OverlaySnapshotter.open(root, store);
  await removeStaleStaging(snapshotter);
  const registry = new RegistryClient({
    config: config.current().config,
    dockerConfigPath: process.env["SKIFF_DOCKER_CONFIG"] ?? "/root/.docker/config.json",
    logger: log,
  });
  config.onChange((c) => registry.setConfig(c));
  const unpack = process.env["SKIFF_UNPACK_COMMAND"]?.split(" ") ?? [shimBinary(), "unpack"];
  const applier = new LayerApplier({ snapshotter, command: unpack, log });
  const images = new ImageService({
    store,
    content,
    snapshotter,
    registry,
    applier,
    log,
    snapshotsDir: join(root, "snapshots"),
  });
  return { images, snapshotter };
}
