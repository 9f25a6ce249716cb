/**
 * Image references as Docker normalises them (distribution's reference grammar):
 *
 *   [domain[:port]/]path[:tag][@algorithm:hex]
 *
 * - The first path component is a domain when it contains "." or ":", is "localhost",
 *   or has an upper-case letter; otherwise the domain is docker.io.
 * - On docker.io a one-component path gets "library/" (busybox → library/busybox);
 *   index.docker.io is written docker.io.
 * - With neither tag nor digest the tag is "latest"; with a digest and no tag there is
 *   no tag (the digest alone names the content).
 * - Path components are lower case: [a-z0-9]+ joined by ".", "_", "__" or dashes;
 *   tags are [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}; the whole name is at most 255 bytes.
 * Every refusal is an InvalidArgument error naming the input and what is wrong.
 */
import { invalidArgument } from "../errors.js";
import { parseDigest } from "./digest.js";

export const dockerHub = "docker.io";

export interface Reference {
  /** host[:port] as written (docker.io for Docker Hub). */
  domain: string;
  /** Repository path inside the registry, e.g. library/busybox. */
  path: string;
  tag?: string;
  digest?: string;
}

const domainComponent = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const domainPattern = new RegExp(
  `^(?:${domainComponent}(?:\\.${domainComponent})*|\\[[0-9a-fA-F:.]+\\])(?::[0-9]{1,5})?$`,
);
const pathComponentPattern = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const tagPattern = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const anchoredHex64 = /^[a-f0-9]{64}$/;
const maxNameLength = 255;

function fail(input: string, problem: string): never {
  throw invalidArgument(`invalid image reference "${input}": ${problem}`);
}

/** Parses and normalises `input`; throws InvalidArgument naming the problem. */
export function parseReference(input: string): Reference {
  if (input === "") fail(input, "it is empty");
  if (input !== input.trim() || /\s/.test(input)) fail(input, "it contains white space");

  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    const digestText = rest.slice(at + 1);
    rest = rest.slice(0, at);
    try {
      digest = parseDigest(digestText);
    } catch (err) {
      fail(input, (err as Error).message);
    }
  }

  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf("/");
  const lastColon = rest.lastIndexOf(":");
  if (lastColon > lastSlash) {
    tag = rest.slice(lastColon + 1);
    rest = rest.slice(0, lastColon);
    if (!tagPattern.test(tag)) {
      fail(
        input,
        tag === ""
          ? "the tag after ':' is empty"
          : `tag "${tag}" must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`,
      );
    }
  }
  if (rest === "") fail(input, "the repository name is empty");

  let domain = dockerHub;
  let path = rest;
  const firstSlash = rest.indexOf("/");
  if (firstSlash >= 0) {
    const first = rest.slice(0, firstSlash);
    if (
      first.includes(".") ||
      first.includes(":") ||
      first === "localhost" ||
      first !== first.toLowerCase()
    ) {
      domain = first;
      path = rest.slice(firstSlash + 1);
    }
  }
  if (!domainPattern.test(domain))
    fail(input, `registry host "${domain}" is not a valid host[:port]`);
  const port = /:([0-9]+)$/.exec(domain)?.[1];
  if (port !== undefined && Number(port) > 65535) fail(input, `port ${port} is out of range`);
  if (domain === "index.docker.io") domain = dockerHub;

  if (path === "") fail(input, "the repository path is empty");
  for (const component of path.split("/")) {
    if (component === "") fail(input, "the repository path has an empty component");
    if (component !== component.toLowerCase()) fail(input, "repository name must be lowercase");
    if (!pathComponentPattern.test(component)) {
      fail(
        input,
        `path component "${component}" must be lower-case letters and digits separated by '.', '_', '__' or '-'`,
      );
    }
  }
  if (domain === dockerHub && !path.includes("/")) {
    if (anchoredHex64.test(path) && firstSlash < 0) {
      fail(input, "a 64-character hexadecimal string is an image id, not a repository name");
    }
    path = `library/${path}`;
  }
  if (domain.length + 1 + path.length > maxNameLength) {
    fail(input, `the repository name is longer than ${maxNameLength} characters`);
  }
  if (tag === undefined && digest === undefined) tag = "latest";
  const ref: Reference = { domain, path };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

/** domain/path[:tag][@digest], fully qualified. */
export function formatReference(ref: Reference): string {
  let out = `${ref.domain}/${ref.path}`;
  if (ref.tag !== undefined) out += `:${ref.tag}`;
  if (ref.digest !== undefined) out += `@${ref.digest}`;
  return out;
}

/** domain/path: the repository, without tag or digest. */
export function repositoryName(ref: Reference): string {
  return `${ref.domain}/${ref.path}`;
}

/** The short form Docker prints: busybox:latest, user/app:1, quay.io/x/y:z. */
export function familiarReference(ref: Reference): string {
  let name = `${ref.domain}/${ref.path}`;
  if (ref.domain === dockerHub) {
    name = ref.path.startsWith("library/") ? ref.path.slice("library/".length) : ref.path;
  }
  if (ref.tag !== undefined) name += `:${ref.tag}`;
  if (ref.digest !== undefined) name += `@${ref.digest}`;
  return name;
}

/** The tag or digest the registry is asked for: digest first, as Docker does. */
export function referenceObject(ref: Reference): string {
  return ref.digest ?? ref.tag ?? "latest";
}

/** The same repository with another tag or digest. */
export function withObject(ref: Reference, object: { tag?: string; digest?: string }): Reference {
  const out: Reference = { domain: ref.domain, path: ref.path };
  if (object.tag !== undefined) out.tag = object.tag;
  if (object.digest !== undefined) out.digest = object.digest;
  return out;
}
