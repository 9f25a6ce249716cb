/**
 * OCI content digests ("<algorithm>:<hex>", image-spec descriptor.md): parsed strictly,
 * because a digest names a file under content/blobs and must never smuggle a path.
 * Supported algorithms: sha256 (the registered default) and sha512.
 */
import { createHash, type Hash } from "node:crypto";
import { invalidArgument } from "../errors.js";

export type Digest = string;

const hexLength: Record<string, number> = { sha256: 64, sha512: 128 };

export interface ParsedDigest {
  algorithm: "sha256" | "sha512";
  hex: string;
}

export function parseDigest(digest: string): ParsedDigest {
  const colon = digest.indexOf(":");
  const algorithm = digest.slice(0, colon);
  const hex = digest.slice(colon + 1);
  const length = hexLength[algorithm];
  if (colon < 0 || length === undefined || hex.length !== length || !/^[0-9a-f]+$/.test(hex)) {
    throw invalidArgument(`invalid digest ${JSON.stringify(digest)}`);
  }
  return { algorithm: algorithm as ParsedDigest["algorithm"], hex };
}

export function isDigest(digest: string): boolean {
  try {
    parseDigest(digest);
    return true;
  } catch {
    return false;
  }
}

/** A hash for the algorithm of `digest`. */
export function hasherFor(digest: string): Hash {
  return createHash(parseDigest(digest).algorithm);
}

export function sha256Digest(data: Buffer | string): Digest {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}
