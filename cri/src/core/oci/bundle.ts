/**
 * An OCI bundle on disk: a directory holding config.json and (usually) the root
 * filesystem. Reading a bundle parses and validates its config, so a caller either gets
 * a spec that can be run or an error naming the file or field at fault.
 */

import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";

import { SkiffError, SystemError, errnoCode } from "../errors.js";
import { type HostFacts, realHostFacts } from "./host-facts.js";
import type { Spec } from "./spec.js";
import { validateSpec } from "./validate.js";

export const configFileName = "config.json";

/** Reads, parses and validates `<bundleDir>/config.json`. */
export async function readBundleSpec(
  bundleDir: string,
  facts: HostFacts = realHostFacts(),
): Promise<Spec> {
  const dir = resolve(bundleDir);
  const path = join(dir, configFileName);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    const kind = errnoCode(err) === "ENOENT" ? "NotFound" : "Internal";
    throw new SystemError("read", path, err, kind);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    throw new SkiffError("InvalidArgument", `${path}: not valid JSON: ${detail}`);
  }
  return validateSpec(parsed, dir, facts);
}
