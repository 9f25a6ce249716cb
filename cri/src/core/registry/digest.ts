/**
 * OCI content digests (`algorithm:encoded`). Skiff computes and verifies sha256 only;
 * sha512 is accepted syntactically so that references naming it are parsed, and then
 * refused where content must be verified.
 */
import { createHash, type Hash } from "node:crypto";
import { invalidArgument } from "../errors.js";

const digestPattern = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const encodedLength: Record<string, number> = { sha256: 64, sha512: 128 };

/** Validates a digest string and returns it; throws InvalidArgument otherwise. */
export function parseDigest(text: string): string {
  if (!digestPattern.test(text)) {
    throw invalidArgument(`digest "${text}" is not of the form algorithm:hex`);
  }
  const colon = text.indexOf(":");
  const algorithm = text.slice(0, colon);
  const encoded = text.slice(colon + 1);
  const length = encodedLength[algorithm];
  if (length === undefined) {
    throw invalidArgument(`digest "${text}" uses unsupported algorithm "${algorithm}"`);
  }
  if (encoded.length !== length || !/^[a-f0-9]+$/.test(encoded)) {
    throw invalidArgument(
      `digest "${text}" must have ${length} lower-case hexadecimal characters after "${algorithm}:"`,
    );
  }
  return text;
}

export function sha256Digest(data: Buffer | string): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

/** A running hash for `digest`'s algorithm. */
export function hasherFor(digest: string): Hash {
  const algorithm = digest.slice(0, digest.indexOf(":"));
  if (algorithm !== "sha256" && algorithm !== "sha512") {
    throw invalidArgument(`cannot verify digest ${digest}: unsupported algorithm`);
  }
  return createHash(algorithm);
}

export function digestOf(digest: string, data: Buffer): string {
  const hash = hasherFor(digest);
  hash.update(data);
  return `${digest.slice(0, digest.indexOf(":"))}:${hash.digest("hex")}`;
}
