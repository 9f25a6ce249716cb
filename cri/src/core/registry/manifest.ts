/**
 * Image manifests as the OCI image spec and Docker's schema2 define them: a manifest
 * (config + layers) or an index / manifest list (manifests per platform). Parsing
 * checks the shape Skiff relies on; Docker schema1 is refused (FailedPrecondition
 * naming schema1), as containerd and Docker 25+ do. Platform selection follows the
 * OCI rules: os and architecture must match; the variant must match when the node has
 * one, where an entry without variant counts as the default (arm64 → v8).
 */
import { arch } from "node:os";
import { SkiffError, failedPrecondition, notFound } from "../errors.js";
import { parseDigest } from "./digest.js";

export const mediaTypes = {
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  ociLayer: "application/vnd.oci.image.layer.v1.tar",
  ociLayerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  ociLayerZstd: "application/vnd.oci.image.layer.v1.tar+zstd",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerManifestList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  dockerLayerGzip: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  dockerForeignLayerGzip: "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
  dockerSchema1: "application/vnd.docker.distribution.manifest.v1+json",
  dockerSchema1Signed: "application/vnd.docker.distribution.manifest.v1+prettyjws",
} as const;

/** The Accept header of a manifest request: every kind Skiff handles, index kinds included. */
export const manifestAccept = [
  mediaTypes.ociIndex,
  mediaTypes.dockerManifestList,
  mediaTypes.ociManifest,
  mediaTypes.dockerManifest,
].join(", ");

export const indexMediaTypes: readonly string[] = [
  mediaTypes.ociIndex,
  mediaTypes.dockerManifestList,
];
export const imageManifestMediaTypes: readonly string[] = [
  mediaTypes.ociManifest,
  mediaTypes.dockerManifest,
];

/** The largest manifest Skiff reads (containerd uses the same bound). */
export const maxManifestBytes = 4 << 20;

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
  "os.version"?: string;
  "os.features"?: string[];
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  platform?: Platform;
  artifactType?: string;
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
  subject?: Descriptor;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

export type ParsedManifest =
  | { kind: "manifest"; mediaType: string; manifest: ImageManifest }
  | { kind: "index"; mediaType: string; index: ImageIndex };

function bad(what: string, problem: string): SkiffError {
  return new SkiffError("DataLoss", `${what}: invalid manifest: ${problem}`);
}

function checkDescriptor(value: unknown, what: string, field: string): Descriptor {
  if (typeof value !== "object" || value === null) throw bad(what, `${field} is not an object`);
  const d = value as Record<string, unknown>;
  if (typeof d.mediaType !== "string" || d.mediaType === "") {
    throw bad(what, `${field}.mediaType is missing`);
  }
  if (typeof d.digest !== "string") throw bad(what, `${field}.digest is missing`);
  try {
    parseDigest(d.digest);
  } catch (err) {
    throw bad(what, `${field}.digest: ${(err as Error).message}`);
  }
  if (typeof d.size !== "number" || !Number.isSafeInteger(d.size) || d.size < 0) {
    throw bad(what, `${field}.size is not a non-negative integer`);
  }
  return d as unknown as Descriptor;
}

/**
 * Parses manifest bytes. `headerType` is the Content-Type the registry sent (used when
 * the document has no mediaType field, as older Docker manifests lack it). `what` names
 * the reference in errors.
 */
export function parseManifest(
  bytes: Buffer,
  headerType: string | undefined,
  what: string,
): ParsedManifest {
  const contentType = headerType?.split(";")[0]?.trim();
  if (contentType === mediaTypes.dockerSchema1 || contentType === mediaTypes.dockerSchema1Signed) {
    throw schema1(what);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString("utf8"));
  } catch (err) {
    throw bad(what, `not JSON (${(err as Error).message})`);
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc))
    throw bad(what, "not a JSON object");
  const m = doc as Record<string, unknown>;
  if (m.schemaVersion === 1) throw schema1(what);
  if (m.schemaVersion !== 2) throw bad(what, `schemaVersion ${String(m.schemaVersion)} is not 2`);
  const declared = typeof m.mediaType === "string" ? m.mediaType : undefined;
  let mediaType = declared ?? contentType;
  if (mediaType === undefined || mediaType === "application/json" || mediaType === "") {
    mediaType = Array.isArray(m.manifests) ? mediaTypes.ociIndex : mediaTypes.ociManifest;
  }
  if (mediaType === mediaTypes.dockerSchema1 || mediaType === mediaTypes.dockerSchema1Signed) {
    throw schema1(what);
  }
  if (indexMediaTypes.includes(mediaType)) {
    if (!Array.isArray(m.manifests)) throw bad(what, "index without a manifests list");
    m.manifests.forEach((d, i) => checkDescriptor(d, what, `manifests[${i}]`));
    return { kind: "index", mediaType, index: m as unknown as ImageIndex };
  }
  if (imageManifestMediaTypes.includes(mediaType)) {
    checkDescriptor(m.config, what, "config");
    if (!Array.isArray(m.layers)) throw bad(what, "manifest without a layers list");
    m.layers.forEach((d, i) => checkDescriptor(d, what, `layers[${i}]`));
    return { kind: "manifest", mediaType, manifest: m as unknown as ImageManifest };
  }
  throw new SkiffError(
    "FailedPrecondition",
    `${what}: unsupported manifest media type "${mediaType}"`,
  );
}

function schema1(what: string): SkiffError {
  return failedPrecondition(
    `${what}: the registry serves a Docker image manifest schema1, which Skiff does not support (deprecated since 2017); push the image again with a current client to get schema2 or OCI`,
  );
}

const archNames: Record<string, string> = {
  x64: "amd64",
  arm64: "arm64",
  arm: "arm",
  ia32: "386",
  ppc64: "ppc64le",
  s390x: "s390x",
  riscv64: "riscv64",
  loong64: "loong64",
  mips: "mips",
  mipsel: "mipsle",
};

/** This node's platform in OCI terms (linux/amd64 here; linux/arm64/v8 on arm64). */
export function nodePlatform(): Platform {
  const architecture = archNames[arch()] ?? arch();
  if (architecture === "arm64") return { os: "linux", architecture, variant: "v8" };
  if (architecture === "arm") {
    const version = (process.config.variables as Record<string, unknown>).arm_version;
    return { os: "linux", architecture, variant: `v${String(version ?? "7")}` };
  }
  return { os: "linux", architecture };
}

/** Whether an index entry may run on `want`; higher is better, 0 means no. */
export function platformScore(entry: Platform | undefined, want: Platform): number {
  if (entry === undefined) return 0;
  if (entry.os !== want.os || entry.architecture !== want.architecture) return 0;
  const defaultVariant = want.architecture === "arm64" ? "v8" : undefined;
  const entryVariant = entry.variant ?? defaultVariant;
  const wantVariant = want.variant ?? defaultVariant;
  if (entryVariant === wantVariant) return 3;
  if (want.architecture === "arm" && entryVariant !== undefined && wantVariant !== undefined) {
    // An arm v7 node runs v6 and v5 images, preferring the closest.
    const e = Number(entryVariant.slice(1));
    const w = Number(wantVariant.slice(1));
    if (e < w) return 2 - (w - e) / 10;
  }
  if (entry.variant === undefined) return 1;
  return 0;
}

/** The best manifest of an index for `want`; NotFound naming the platforms there are. */
export function selectPlatform(index: ImageIndex, want: Platform, what: string): Descriptor {
  let best: Descriptor | undefined;
  let bestScore = 0;
  for (const entry of index.manifests) {
    if (!imageManifestMediaTypes.includes(entry.mediaType)) continue;
    const score = platformScore(entry.platform, want);
    if (score > bestScore) {
      best = entry;
      bestScore = score;
    }
  }
  if (best === undefined) {
    const have = index.manifests
      .map((d) => (d.platform ? formatPlatform(d.platform) : "(no platform)"))
      .join(", ");
    throw notFound(
      `${what}: no manifest for platform ${formatPlatform(want)} in the index (it has: ${have || "nothing"})`,
    );
  }
  return best;
}

export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter((x) => x !== undefined && x !== "").join("/");
}
