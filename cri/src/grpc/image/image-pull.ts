import type { PullImageRequest__Output } from "../../generated/runtime/v1/PullImageRequest.js";
import type { PullImageResponse } from "../../generated/runtime/v1/PullImageResponse.js";
import { invalidArgument } from "../../core/errors.js";
import type { Services } from "../context.js";
import type { UnaryHandler } from "../instrument.js";

/** PullImage: returns the image id as image_ref (as containerd does). */
export const pullImage =
  (services: Services): UnaryHandler<PullImageRequest__Output, PullImageResponse> =>
  async (request, ctx) => {
    const ref = request.image?.image ?? "";
    if (ref === "") throw invalidArgument("image.image: required");
    const options: Parameters<typeof services.images.pull>[1] = { signal: ctx.signal };
    if (request.auth) options.auth = request.auth;
    const image = await services.images.pull(ref, options);
    return { image_ref: image.id };
  };
