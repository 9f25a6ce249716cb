import type { UntagRequest__Output } from "../../generated/skiff/v1/UntagRequest.js";
import type { UntagResponse } from "../../generated/skiff/v1/UntagResponse.js";
import { SkiffError, invalidArgument } from "../../core/errors.js";
import type { Services } from "../context.js";
import type { UnaryHandler } from "../instrument.js";

/**
 * Images/Untag: removes one name (docker rmi of a tag). As in Docker, when the last tag
 * goes, the image goes too with its repo digests, unless a container uses it (it then
 * stays, untagged). An id removes the image with all its names. NotFound when nothing
 * matches.
 */
export const imagesUntag =
  (services: Services): UnaryHandler<UntagRequest__Output, UntagResponse> =>
  async (request, ctx) => {
    if (request.name === "") throw invalidArgument("name: required");
    const { imageId, removed } = await services.images.untag(request.name);
    if (removed) return { image_removed: true };
    const image = services.images.images.get(imageId);
    if (!image || image.names.some((n) => !n.includes("@"))) return { image_removed: false };
    try {
      await services.images.remove(imageId);
    } catch (err) {
      if (err instanceof SkiffError && err.kind === "FailedPrecondition") {
        ctx.log.info({ image_id: imageId }, "untagged image kept: a container uses it");
        return { image_removed: false };
      }
      throw err;
    }
    return { image_removed: true };
  };
