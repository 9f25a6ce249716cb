import type { TagRequest__Output } from "../../generated/skiff/v1/TagRequest.js";
import type { TagResponse } from "../../generated/skiff/v1/TagResponse.js";
import { invalidArgument } from "../../core/errors.js";
import type { Services } from "../context.js";
import type { UnaryHandler } from "../instrument.js";

/** Images/Tag: points a new name at an existing image (docker tag). */
export const imagesTag =
  (services: Services): UnaryHandler<TagRequest__Output, TagResponse> =>
  (request) => {
    if (request.source === "") throw invalidArgument("source: required");
    if (request.target === "") throw invalidArgument("target: required");
    services.images.tag(request.source, request.target);
    return {};
  };
