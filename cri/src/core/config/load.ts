/**
 * Loads /etc/skiff/config.yaml and the drop-ins in registries.d/ (merged in name order;
 * a registry defined again in a later file replaces the earlier definition), validating
 * every field. A bad file is refused as a whole with `file:line:col: field: problem`,
 * so a reload never half-applies.
 */
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from "yaml";
import { SkiffError, errnoCode } from "../errors.js";
import {
  emptyConfig,
  type MirrorCapability,
  type MirrorConfig,
  type RegistryAuth,
  type RegistryConfig,
  type SkiffConfig,
} from "./schema.js";

export interface LoadOptions {
  /** The main file. */
  path: string;
  /** A missing main file is an error only when the user named it. */
  required: boolean;
  /** Defaults to `registries.d` beside the main file. */
  dropInDir?: string;
}

export function loadConfig(options: LoadOptions): SkiffConfig {
  const config = emptyConfig();
  const main = readOptional(options.path);
  if (main === undefined && options.required) {
    throw new SkiffError("InvalidArgument", `config file ${options.path} does not exist`);
  }
  if (main !== undefined) mergeFile(config, options.path, main);
  const dropInDir = options.dropInDir ?? join(dirname(options.path), "registries.d");
  for (const file of listDropIns(dropInDir)) {
    const text = readOptional(file);
    if (text !== undefined) mergeFile(config, file, text);
  }
  return config;
}

/** Parses one file's text; exported for tests and for the node agent's own checks. */
export function parseConfigFile(file: string, text: string): SkiffConfig {
  const config = emptyConfig();
  mergeFile(config, file, text);
  return config;
}

function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return undefined;
    throw new SkiffError("InvalidArgument", `cannot read config file ${path}: ${String(err)}`);
  }
}

function listDropIns(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((name) => name.endsWith(".yaml") || name.endsWith(".yml"))
      .sort()
      .map((name) => join(dir, name));
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return [];
    throw new SkiffError("InvalidArgument", `cannot list ${dir}: ${String(err)}`);
  }
}

class FileChecker {
  private readonly lines = new LineCounter();
  constructor(
    readonly file: string,
    readonly text: string,
  ) {}

  parse(): Node | null {
    const doc = parseDocument(this.text, { lineCounter: this.lines, uniqueKeys: true });
    const problem = doc.errors[0];
    if (problem) {
      const pos = problem.linePos?.[0];
      const at = pos ? `${pos.line}:${pos.col}` : "1:1";
      throw new SkiffError(
        "InvalidArgument",
        `${this.file}:${at}: ${(problem.message.split("\n")[0] ?? "").replace(/ at line \d+, column \d+:?$/, "")}`,
      );
    }
    return doc.contents as Node | null;
  }

  fail(node: Node | null | undefined, field: string, problem: string): never {
    const offset = node?.range?.[0] ?? 0;
    const pos = this.lines.linePos(offset);
    throw new SkiffError(
      "InvalidArgument",
      `${this.file}:${pos.line}:${pos.col}: ${field}: ${problem}`,
    );
  }

  /** The entries of a mapping, refusing keys not in `allowed`. */
  entries(node: Node, field: string, allowed?: readonly string[]): [string, Node | null, Node][] {
    if (!isMap(node)) this.fail(node, field, "must be a mapping");
    return node.items.map((pair) => {
      const keyNode = pair.key as Node;
      if (!isScalar(keyNode) || typeof keyNode.value !== "string") {
        this.fail(keyNode, field, "keys must be strings");
      }
      const key = keyNode.value as string;
      if (allowed && !allowed.includes(key)) {
        this.fail(
          keyNode,
          `${field}.${key}`,
          `unknown field (expected one of: ${allowed.join(", ")})`,
        );
      }
      return [key, (pair.value as Node | null) ?? null, keyNode];
    });
  }

  string(node: Node | null, field: string): string {
    if (!isScalar(node) || typeof node.value !== "string" || node.value === "") {
      this.fail(node, field, "must be a non-empty string");
    }
    return node.value as string;
  }

  boolean(node: Node | null, field: string): boolean {
    if (!isScalar(node) || typeof node.value !== "boolean")
      this.fail(node, field, "must be true or false");
    return node.value as boolean;
  }

  sequence(node: Node | null, field: string): Node[] {
    if (!isSeq(node)) this.fail(node, field, "must be a list");
    return node.items as Node[];
  }
}

const topFields = ["registries"] as const;
const registryFields = ["mirrors", "ca", "clientCert", "clientKey", "insecure", "auth"] as const;
const mirrorFields = ["url", "ca", "insecureSkipVerify", "capabilities"] as const;
const authFields = ["username", "password", "identityToken"] as const;
const capabilities: readonly MirrorCapability[] = ["pull", "resolve", "push"];
const hostPattern =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]{1,5})?$|^\[[0-9a-fA-F:]+\](?::[0-9]{1,5})?$/;

function mergeFile(config: SkiffConfig, file: string, text: string): void {
  const check = new FileChecker(file, text);
  const root = check.parse();
  const registries: Record<string, RegistryConfig> = {};
  if (root !== null && !(isScalar(root) && root.value === null)) {
    for (const [key, value] of check.entries(root, "(top level)", topFields)) {
      if (key === "registries" && value !== null) {
        for (const [host, body, keyNode] of check.entries(value, "registries")) {
          const field = `registries."${host}"`;
          if (!hostPattern.test(host))
            check.fail(keyNode, field, "must be host[:port] as written in image references");
          registries[host] = parseRegistry(check, body, field);
        }
      }
    }
  }
  Object.assign(config.registries, registries);
  config.files.push(file);
}

function parseRegistry(check: FileChecker, node: Node | null, field: string): RegistryConfig {
  const registry: RegistryConfig = { mirrors: [], insecure: false, source: check.file };
  if (node === null) return registry;
  for (const [key, value] of check.entries(node, field, registryFields)) {
    const at = `${field}.${key}`;
    switch (key) {
      case "mirrors":
        registry.mirrors = check
          .sequence(value, at)
          .map((m, i) => parseMirror(check, m, `${at}[${i}]`));
        break;
      case "ca":
      case "clientCert":
      case "clientKey":
        registry[key] = absolutePath(check, value, at);
        break;
      case "insecure":
        registry.insecure = check.boolean(value, at);
        break;
      case "auth":
        registry.auth = parseAuth(check, value, at);
        break;
    }
  }
  if ((registry.clientCert === undefined) !== (registry.clientKey === undefined)) {
    check.fail(node, field, "clientCert and clientKey go together");
  }
  return registry;
}

function parseMirror(check: FileChecker, node: Node, field: string): MirrorConfig {
  const mirror: MirrorConfig = {
    url: "",
    insecureSkipVerify: false,
    capabilities: ["pull", "resolve"],
  };
  for (const [key, value] of check.entries(node, field, mirrorFields)) {
    const at = `${field}.${key}`;
    switch (key) {
      case "url": {
        const url = check.string(value, at);
        let parsed: URL;
        try {
          parsed = new URL(url);
        } catch {
          check.fail(value, at, `"${url}" is not a URL`);
        }
        if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
          check.fail(value, at, "must start with http:// or https://");
        }
        mirror.url = url.replace(/\/+$/, "");
        break;
      }
      case "ca":
        mirror.ca = absolutePath(check, value, at);
        break;
      case "insecureSkipVerify":
        mirror.insecureSkipVerify = check.boolean(value, at);
        break;
      case "capabilities":
        mirror.capabilities = check.sequence(value, at).map((c, i) => {
          const name = check.string(c, `${at}[${i}]`);
          if (!capabilities.includes(name as MirrorCapability)) {
            check.fail(
              c,
              `${at}[${i}]`,
              `unknown capability "${name}" (expected one of: ${capabilities.join(", ")})`,
            );
          }
          return name as MirrorCapability;
        });
        break;
    }
  }
  if (mirror.url === "") check.fail(node, `${field}.url`, "is required");
  return mirror;
}

function parseAuth(check: FileChecker, node: Node | null, field: string): RegistryAuth {
  const auth: RegistryAuth = {};
  if (node === null) return auth;
  for (const [key, value] of check.entries(node, field, authFields)) {
    auth[key as keyof RegistryAuth] = check.string(value, `${field}.${key}`);
  }
  if (
    auth.identityToken === undefined &&
    (auth.username === undefined || auth.password === undefined)
  ) {
    check.fail(node, field, "needs username and password, or identityToken");
  }
  return auth;
}

function absolutePath(check: FileChecker, node: Node | null, field: string): string {
  const path = check.string(node, field);
  if (!path.startsWith("/")) check.fail(node, field, `"${path}" must be an absolute path`);
  return path;
}
