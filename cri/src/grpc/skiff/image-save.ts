import type { SaveRequest__Output } from "../../generated/skiff/v1/SaveRequest.js";
import type { ArchiveChunk } from "../../generated/skiff/v1/ArchiveChunk.js";
import { invalidArgument } from "../../core/errors.js";
import type { Services } from "../context.js";
import type { ServerStreamHandler } from "../instrument.js";

const chunkBytes = 1 << 20;

/** Images/Save: the images as an OCI layout or docker-archive tar, in chunks of up to 1 MiB. */
export const imagesSave =
  (services: Services): ServerStreamHandler<SaveRequest__Output, ArchiveChunk> =>
  async (request, ctx, send) => {
    if (request.images.length === 0) throw invalidArgument("images: name at least one image");
    const format = request.format === "DOCKER_ARCHIVE" ? "docker" : "oci";
    const tar = services.images.save(request.images, format);
    const abort = (): void => void tar.destroy();
    ctx.signal.addEventListener("abort", abort);
    try {
      let pending: Buffer[] = [];
      let size = 0;
      for await (const chunk of tar) {
        pending.push(chunk as Buffer);
        size += (chunk as Buffer).length;
        if (size >= chunkBytes) {
          await send({ data: Buffer.concat(pending) });
          pending = [];
          size = 0;
        }
      }
      if (size > 0) await send({ data: Buffer.concat(pending) });
    } finally {
      ctx.signal.removeEventListener("abort", abort);
    }
  };
