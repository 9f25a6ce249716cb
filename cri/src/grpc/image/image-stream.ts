import type { StreamImagesRequest__Output } from "../../generated/runtime/v1/StreamImagesRequest.js";
import type { StreamImagesResponse } from "../../generated/runtime/v1/StreamImagesResponse.js";
import { criImage } from "../../services/image/cri-image.js";
import type { Services } from "../context.js";
import type { ServerStreamHandler } from "../instrument.js";

const perMessage = 500;

/** StreamImages: ListImages in bounded messages (KEP-5825). */
export const streamImages =
  (services: Services): ServerStreamHandler<StreamImagesRequest__Output, StreamImagesResponse> =>
  async (request, _ctx, send) => {
    const images = services.images.list(request.filter?.image?.image).map(criImage);
    for (let i = 0; i < images.length; i += perMessage) {
      await send({ images: images.slice(i, i + perMessage) });
    }
  };
