import type { PullRequest__Output } from "../../generated/skiff/v1/PullRequest.js";
import type { TransferProgress } from "../../generated/skiff/v1/TransferProgress.js";
import { invalidArgument } from "../../core/errors.js";
import type { PullOptions } from "../../services/image/image-service.js";
import type { Services } from "../context.js";
import type { ServerStreamHandler } from "../instrument.js";
import { progressSender } from "./image-progress.js";

/** Images/Pull: PullImage with per-layer progress; the last message carries the image id. */
export const imagesPull =
  (services: Services): ServerStreamHandler<PullRequest__Output, TransferProgress> =>
  async (request, ctx, send) => {
    if (request.image === "") throw invalidArgument("image: required");
    const progress = progressSender(send);
    const options: PullOptions = { signal: ctx.signal, onProgress: (p) => progress.push(p) };
    if (request.auth) options.auth = request.auth;
    const image = await services.images.pull(request.image, options);
    await progress.finish(image.id);
  };
