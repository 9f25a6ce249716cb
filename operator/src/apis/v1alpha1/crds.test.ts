import { describe, expect, test } from "@jest/globals";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { BuildJobSpec } from "./build-job.js";
import type { NodeSetupSpec } from "./node-setup.js";
import type { RegistrySpec } from "./registry.js";
import { renderCrds } from "./render.js";

const repoRoot = resolve(import.meta.dirname, "../../../../..");

describe("CRDs", () => {
  test.each(renderCrds())(
    "manifests/crds/%s matches the TS schema (run gen-crds.js if not)",
    (file, text) => {
      expect(readFileSync(join(repoRoot, "manifests/crds", file), "utf8")).toBe(text);
    },
  );

  test("the derived TS types follow the schema: defaults are present, optional fields are not", () => {
    const registry: RegistrySpec = { server: "docker.io", mirrors: [], insecure: false };
    const build: BuildJobSpec = {
      source: { git: { url: "https://example.com/x.git", revision: "HEAD" } },
      output: { image: "registry.local/app:1" },
      dockerfile: "Dockerfile",
      platforms: ["linux/amd64"],
      timeoutSeconds: 3600,
    };
    const setup: NodeSetupSpec = { modules: [], sysctls: {}, swap: { policy: "Warn" } };
    // @ts-expect-error server is required
    const bad: RegistrySpec = { mirrors: [], insecure: false };
    expect([registry, build, setup, bad]).toHaveLength(4);
  });
});
