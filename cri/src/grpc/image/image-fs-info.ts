import type { ImageFsInfoRequest__Output } from "../../generated/runtime/v1/ImageFsInfoRequest.js";
import type { ImageFsInfoResponse } from "../../generated/runtime/v1/ImageFsInfoResponse.js";
import type { Services } from "../context.js";
import type { UnaryHandler } from "../instrument.js";

/** ImageFsInfo: image layers and containers' writable layers, as kubelet's image GC reads them. */
export const imageFsInfo =
  (services: Services): UnaryHandler<ImageFsInfoRequest__Output, ImageFsInfoResponse> =>
  async () => {
    const { mountpoint, images, containers } = await services.images.fsInfo();
    const timestamp = String(BigInt(Date.now()) * 1_000_000n);
    const usage = (u: { size: number; inodes: number }) => ({
      timestamp,
      fs_id: { mountpoint },
      used_bytes: { value: String(u.size) },
      inodes_used: { value: String(u.inodes) },
    });
    return { image_filesystems: [usage(images)], container_filesystems: [usage(containers)] };
  };
