import type { PushRequest__Output } from "../../generated/skiff/v1/PushRequest.js";
import type { TransferProgress } from "../../generated/skiff/v1/TransferProgress.js";
import { invalidArgument } from "../../core/errors.js";
import type { PushOptions } from "../../services/image/image-push.js";
import type { Services } from "../context.js";
import type { ServerStreamHandler } from "../instrument.js";
import { progressSender } from "./image-progress.js";

/** Images/Push: uploads an image to the registry its name points at; the last message carries the manifest digest. */
export const imagesPush =
  (services: Services): ServerStreamHandler<PushRequest__Output, TransferProgress> =>
  async (request, ctx, send) => {
    if (request.image === "") throw invalidArgument("image: required");
    const progress = progressSender(send);
    const options: PushOptions = { signal: ctx.signal, onProgress: (p) => progress.push(p) };
    if (request.auth) options.auth = request.auth;
    const { digest } = await services.images.push(request.image, options);
    await progress.finish(digest);
  };
