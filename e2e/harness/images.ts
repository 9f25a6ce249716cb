/**
 * Test images built offline: layers are tars written in Node (Skiff's tar writer) from
 * generated files and Debian's /bin/busybox (busybox-static), compressed with gzip or
 * zstd (node:zlib) or left plain, plus the config JSON, the manifest (OCI or Docker
 * schema2) and optionally an index of several platforms. pushImage() uploads them
 * with plain HTTP POST/PUT of its own, independent of Skiff's registry client.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import { gzipSync, zstdCompressSync } from "node:zlib";
import { tarBuffer, type TarEntry } from "../../cri/src/core/archive/tar-writer.js";
import type { TestRegistry } from "./registry.js";

export type Compression = "gzip" | "zstd" | "none";
export type ManifestFlavour = "oci" | "docker";

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os: string; architecture: string; variant?: string };
}

export interface Blob {
  descriptor: Descriptor;
  bytes: Buffer;
}

export interface Layer extends Blob {
  diffId: string;
}

export interface BuiltImage {
  manifest: Blob;
  config: Blob;
  layers: Layer[];
}

export interface BuiltIndex {
  index: Blob;
  images: BuiltImage[];
}

export const sha256 = (data: Buffer): string =>
  `sha256:${createHash("sha256").update(data).digest("hex")}`;

const layerTypes: Record<ManifestFlavour, Record<Compression, string>> = {
  oci: {
    gzip: "application/vnd.oci.image.layer.v1.tar+gzip",
    zstd: "application/vnd.oci.image.layer.v1.tar+zstd",
    none: "application/vnd.oci.image.layer.v1.tar",
  },
  docker: {
    gzip: "application/vnd.docker.image.rootfs.diff.tar.gzip",
    zstd: "application/vnd.oci.image.layer.v1.tar+zstd",
    none: "application/vnd.docker.image.rootfs.diff.tar",
  },
};

export function buildLayer(
  entries: TarEntry[],
  compression: Compression = "gzip",
  flavour: ManifestFlavour = "oci",
): Layer {
  const tar = tarBuffer(entries);
  const bytes =
    compression === "gzip" ? gzipSync(tar) : compression === "zstd" ? zstdCompressSync(tar) : tar;
  return {
    bytes,
    diffId: sha256(tar),
    descriptor: {
      mediaType: layerTypes[flavour][compression],
      digest: sha256(bytes),
      size: bytes.length,
    },
  };
}

/** /bin/busybox and a few applet links: a layer that runs. */
export function busyboxEntries(): TarEntry[] {
  const busybox = readFileSync("/bin/busybox");
  return [
    { name: "bin", type: "directory", mode: 0o755 },
    { name: "bin/busybox", type: "file", mode: 0o755, body: busybox },
    ...["sh", "ls", "cat", "echo", "sleep", "true", "id", "env"].map((applet): TarEntry => ({
      name: `bin/${applet}`,
      type: "symlink",
      linkname: "busybox",
    })),
    { name: "etc", type: "directory", mode: 0o755 },
    {
      name: "etc/passwd",
      type: "file",
      body: "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
    },
    { name: "tmp", type: "directory", mode: 0o1777 },
  ];
}

/** Deterministic pseudo-random bytes (incompressible enough for transfer tests). */
export function noise(size: number, seed = 1): Buffer {
  const out = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

export interface ImageOptions {
  layers: Layer[];
  platform?: { os: string; architecture: string; variant?: string };
  flavour?: ManifestFlavour;
  config?: Record<string, unknown>;
}

export function buildImage(options: ImageOptions): BuiltImage {
  const flavour = options.flavour ?? "oci";
  const platform = options.platform ?? { os: "linux", architecture: "amd64" };
  const config = Buffer.from(
    JSON.stringify({
      created: "2026-01-01T00:00:00Z",
      architecture: platform.architecture,
      ...(platform.variant ? { variant: platform.variant } : {}),
      os: platform.os,
      config: { Env: ["PATH=/bin"], Cmd: ["/bin/sh"], ...options.config },
      rootfs: { type: "layers", diff_ids: options.layers.map((l) => l.diffId) },
      history: options.layers.map(() => ({
        created: "2026-01-01T00:00:00Z",
        created_by: "skiff e2e harness",
      })),
    }),
  );
  const configType =
    flavour === "oci"
      ? "application/vnd.oci.image.config.v1+json"
      : "application/vnd.docker.container.image.v1+json";
  const manifestType =
    flavour === "oci"
      ? "application/vnd.oci.image.manifest.v1+json"
      : "application/vnd.docker.distribution.manifest.v2+json";
  const configBlob: Blob = {
    bytes: config,
    descriptor: { mediaType: configType, digest: sha256(config), size: config.length },
  };
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: manifestType,
      config: configBlob.descriptor,
      layers: options.layers.map((l) => l.descriptor),
    }),
  );
  return {
    config: configBlob,
    layers: options.layers,
    manifest: {
      bytes: manifest,
      descriptor: {
        mediaType: manifestType,
        digest: sha256(manifest),
        size: manifest.length,
        platform,
      },
    },
  };
}

export function buildIndex(images: BuiltImage[], flavour: ManifestFlavour = "oci"): BuiltIndex {
  const mediaType =
    flavour === "oci"
      ? "application/vnd.oci.image.index.v1+json"
      : "application/vnd.docker.distribution.manifest.list.v2+json";
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType,
      manifests: images.map((i) => i.manifest.descriptor),
    }),
  );
  return {
    images,
    index: { bytes, descriptor: { mediaType, digest: sha256(bytes), size: bytes.length } },
  };
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** One plain HTTP(S) request to a test registry, with the harness's own admin credentials. */
export function rawRequest(
  registry: Pick<TestRegistry, "url" | "caFile" | "clientCert" | "adminAuthorization">,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: Buffer; repositories?: string[] } = {},
): Promise<RawResponse> {
  const url = new URL(path, registry.url);
  const module = url.protocol === "https:" ? https : http;
  const headers: Record<string, string> = { ...options.headers };
  const authorization = registry.adminAuthorization(options.repositories ?? []);
  if (authorization !== undefined) headers.Authorization = authorization;
  if (options.body !== undefined) headers["Content-Length"] = String(options.body.length);
  return new Promise((resolve, reject) => {
    const req = module.request(
      url,
      {
        method,
        headers,
        agent: false,
        ...(registry.caFile ? { ca: readFileSync(registry.caFile) } : {}),
        ...(registry.clientCert
          ? {
              cert: readFileSync(registry.clientCert.certFile),
              key: readFileSync(registry.clientCert.keyFile),
            }
          : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
          }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

/** Monolithic upload of one blob: POST, then PUT ?digest=. */
export async function pushBlobRaw(
  registry: TestRegistry,
  repository: string,
  blob: Blob,
): Promise<void> {
  const repositories = [repository];
  const start = await rawRequest(registry, "POST", `/v2/${repository}/blobs/uploads/`, {
    repositories,
  });
  if (start.status !== 202)
    throw new Error(`POST upload ${repository}: HTTP ${start.status} ${start.body.toString()}`);
  const location = new URL(String(start.headers.location), registry.url);
  location.searchParams.set("digest", blob.descriptor.digest);
  const put = await rawRequest(registry, "PUT", location.toString(), {
    repositories,
    body: blob.bytes,
    headers: { "Content-Type": "application/octet-stream" },
  });
  if (put.status !== 201)
    throw new Error(
      `PUT blob ${blob.descriptor.digest}: HTTP ${put.status} ${put.body.toString()}`,
    );
}

export async function putManifestRaw(
  registry: TestRegistry,
  repository: string,
  reference: string,
  blob: Blob,
): Promise<void> {
  const put = await rawRequest(registry, "PUT", `/v2/${repository}/manifests/${reference}`, {
    repositories: [repository],
    body: blob.bytes,
    headers: { "Content-Type": blob.descriptor.mediaType },
  });
  if (put.status !== 201)
    throw new Error(
      `PUT manifest ${repository}:${reference}: HTTP ${put.status} ${put.body.toString()}`,
    );
}

/** Pushes an image (or an index with its images) under `tag`. */
export async function pushImage(
  registry: TestRegistry,
  repository: string,
  tag: string,
  image: BuiltImage | BuiltIndex,
): Promise<void> {
  const images = "index" in image ? image.images : [image];
  for (const one of images) {
    for (const blob of [...one.layers, one.config]) await pushBlobRaw(registry, repository, blob);
    await putManifestRaw(
      registry,
      repository,
      "index" in image ? one.manifest.descriptor.digest : tag,
      one.manifest,
    );
  }
  if ("index" in image) await putManifestRaw(registry, repository, tag, image.index);
}

/** A small runnable image: busybox plus one generated file layer. */
export function busyboxImage(
  compression: Compression = "gzip",
  flavour: ManifestFlavour = "oci",
): BuiltImage {
  return buildImage({
    flavour,
    layers: [
      buildLayer(busyboxEntries(), compression, flavour),
      buildLayer(
        [{ name: "hello.txt", type: "file", body: "hello from skiff\n" }],
        compression,
        flavour,
      ),
    ],
  });
}
