import type { ArchiveChunk__Output } from "../../generated/skiff/v1/ArchiveChunk.js";
import type { LoadResponse } from "../../generated/skiff/v1/LoadResponse.js";
import type { Services } from "../context.js";
import type { ClientStreamHandler } from "../instrument.js";

/** Images/Load: reads an OCI layout or docker-archive tar; answers the names loaded. */
export const imagesLoad =
  (services: Services): ClientStreamHandler<ArchiveChunk__Output, LoadResponse> =>
  async (requests, ctx) => {
    async function* data(): AsyncGenerator<Buffer> {
      for await (const chunk of requests) yield chunk.data;
    }
    const images = await services.images.load(data(), ctx.signal);
    return { images };
  };
