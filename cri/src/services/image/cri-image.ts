/** An image record as the CRI shows it (runtime.v1 Image). */
import type { Image } from "../../generated/runtime/v1/Image.js";
import type { ImageRecord } from "./image-store.js";

export function criImage(image: ImageRecord): Image {
  const tags = image.names.filter((n) => !n.includes("@"));
  const digests = image.names.filter((n) => n.includes("@"));
  const user = image.config.config?.User ?? "";
  const userPart = user.split(":")[0] ?? "";
  const cri: Image = {
    id: image.id,
    repo_tags: tags,
    repo_digests: digests,
    size: String(image.size),
    username: "",
    spec: { image: image.id, annotations: {} },
    pinned: image.pinned,
  };
  if (/^\d+$/.test(userPart)) cri.uid = { value: userPart };
  else cri.username = userPart;
  return cri;
}
