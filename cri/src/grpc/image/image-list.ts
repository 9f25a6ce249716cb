import type { ListImagesRequest__Output } from "../../generated/runtime/v1/ListImagesRequest.js";
import type { ListImagesResponse } from "../../generated/runtime/v1/ListImagesResponse.js";
import { criImage } from "../../services/image/cri-image.js";
import type { Services } from "../context.js";
import type { UnaryHandler } from "../instrument.js";

/** ListImages: every image, or those the filter's image reference names. */
export const listImages =
  (services: Services): UnaryHandler<ListImagesRequest__Output, ListImagesResponse> =>
  (request) => ({
    images: services.images.list(request.filter?.image?.image).map(criImage),
  });
