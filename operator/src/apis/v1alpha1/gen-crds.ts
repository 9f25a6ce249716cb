/**
 * Writes manifests/crds/*.yaml from crds.ts (`--write`, the default) or fails when the
 * committed files differ (`--check`). Run: node dist/operator/src/apis/v1alpha1/gen-crds.js
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { renderCrds } from "./render.js";

const repoRoot = resolve(import.meta.dirname, "../../../../..");
const dir = join(repoRoot, "manifests", "crds");
const check = process.argv.includes("--check");
let drift = 0;
for (const [file, text] of renderCrds()) {
  const path = join(dir, file);
  let current = "";
  try {
    current = readFileSync(path, "utf8");
  } catch {
    // missing
  }
  if (current === text) continue;
  if (check) {
    process.stderr.write(`${path} is out of date: run gen-crds.js\n`);
    drift++;
  } else {
    writeFileSync(path, text);
    process.stdout.write(`wrote ${path}\n`);
  }
}
process.exitCode = drift > 0 ? 1 : 0;
