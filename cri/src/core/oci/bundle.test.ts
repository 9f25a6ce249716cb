import { afterAll, beforeAll, expect, test } from "@jest/globals";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { SkiffError } from "../errors.js";
import { readBundleSpec } from "./bundle.js";
import { defaultSpec } from "./defaults.js";
import { fixedHostFacts } from "./host-facts.js";

let root = "";
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "skiff-oci-bundle-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function bundle(name: string, config: string | undefined): Promise<string> {
  const dir = join(root, name);
  await mkdir(join(dir, "rootfs"), { recursive: true });
  if (config !== undefined) await writeFile(join(dir, "config.json"), config);
  return dir;
}

test("a bundle with the default spec reads back as that spec", async () => {
  const dir = await bundle("ok", JSON.stringify(defaultSpec()));
  const facts = fixedHostFacts({ directories: [join(dir, "rootfs")] });
  expect(await readBundleSpec(dir, facts)).toEqual(defaultSpec());
});

test("a missing config.json is NotFound, naming the file", async () => {
  const dir = await bundle("none", undefined);
  const err = await readBundleSpec(dir, fixedHostFacts()).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(SkiffError);
  expect((err as SkiffError).kind).toBe("NotFound");
  expect((err as SkiffError).message).toContain(join(dir, "config.json"));
});

test("malformed JSON is InvalidArgument, naming the file", async () => {
  const dir = await bundle("bad", "{ not json");
  const err = await readBundleSpec(dir, fixedHostFacts()).catch((e: unknown) => e);
  expect((err as SkiffError).kind).toBe("InvalidArgument");
  expect((err as SkiffError).message).toMatch(/config\.json: not valid JSON/);
});

test("an invalid spec is refused with the field named", async () => {
  const spec = defaultSpec();
  spec.process!.cwd = "relative";
  const dir = await bundle("invalid", JSON.stringify(spec));
  const facts = fixedHostFacts({ directories: [join(dir, "rootfs")] });
  await expect(readBundleSpec(dir, facts)).rejects.toThrow(
    /process\.cwd: "relative" is not absolute/,
  );
});
