import type { RemoveImageRequest__Output } from "../../generated/runtime/v1/RemoveImageRequest.js";
import type { RemoveImageResponse } from "../../generated/runtime/v1/RemoveImageResponse.js";
import { invalidArgument } from "../../core/errors.js";
import type { Services } from "../context.js";
import type { UnaryHandler } from "../instrument.js";

/** RemoveImage: by id, tag or digest; every name goes; idempotent; refused while in use. */
export const removeImage =
  (services: Services): UnaryHandler<RemoveImageRequest__Output, RemoveImageResponse> =>
  async (request) => {
    const ref = request.image?.image ?? "";
    if (ref === "") throw invalidArgument("image.image: required");
    await services.images.remove(ref);
    return {};
  };
