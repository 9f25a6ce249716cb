import type { ImageStatusRequest__Output } from "../../generated/runtime/v1/ImageStatusRequest.js";
import type { ImageStatusResponse } from "../../generated/runtime/v1/ImageStatusResponse.js";
import { invalidArgument } from "../../core/errors.js";
import { criImage } from "../../services/image/cri-image.js";
import type { Services } from "../context.js";
import type { UnaryHandler } from "../instrument.js";

/** ImageStatus: a missing image is an empty answer, not an error (kubelet then pulls). */
export const imageStatus =
  (services: Services): UnaryHandler<ImageStatusRequest__Output, ImageStatusResponse> =>
  (request) => {
    const ref = request.image?.image ?? "";
    if (ref === "") throw invalidArgument("image.image: required");
    const image = services.images.resolve(ref);
    if (!image) return { info: {} };
    const info: Record<string, string> = {};
    if (request.verbose) {
      info["info"] = JSON.stringify({
        id: image.id,
        names: image.names,
        manifestDigest: image.manifestDigest,
        chainId: image.topChainId,
        imageSpec: image.config,
      });
    }
    return { image: criImage(image), info };
  };
