import { describe, expect, test } from "@jest/globals";
import { SkiffError } from "../errors.js";
import {
  formatPlatform,
  mediaTypes,
  nodePlatform,
  parseManifest,
  platformScore,
  selectPlatform,
  type Descriptor,
  type ImageIndex,
} from "./manifest.js";

const digest = (c: string): string => `sha256:${c.repeat(64)}`;
const desc = (
  c: string,
  platform?: Descriptor["platform"],
  mediaType: string = mediaTypes.ociManifest,
): Descriptor => ({
  mediaType,
  digest: digest(c),
  size: 100,
  ...(platform ? { platform } : {}),
});

function kindOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return `${(err as SkiffError).kind}: ${(err as Error).message}`;
  }
  return "no error";
}

describe("parseManifest", () => {
  const manifest = {
    schemaVersion: 2,
    mediaType: mediaTypes.ociManifest,
    config: desc("a", undefined, mediaTypes.ociConfig),
    layers: [desc("b", undefined, mediaTypes.ociLayerGzip)],
  };

  test("OCI and Docker manifests and indexes, by mediaType field or Content-Type", () => {
    expect(parseManifest(Buffer.from(JSON.stringify(manifest)), undefined, "x").kind).toBe(
      "manifest",
    );
    const bare: Record<string, unknown> = { ...manifest };
    delete bare.mediaType;
    const docker = parseManifest(
      Buffer.from(JSON.stringify(bare)),
      `${mediaTypes.dockerManifest}; charset=utf-8`,
      "x",
    );
    expect(docker.mediaType).toBe(mediaTypes.dockerManifest);
    const list = {
      schemaVersion: 2,
      manifests: [desc("c", { os: "linux", architecture: "amd64" })],
    };
    expect(
      parseManifest(Buffer.from(JSON.stringify(list)), mediaTypes.dockerManifestList, "x"),
    ).toMatchObject({
      kind: "index",
      mediaType: mediaTypes.dockerManifestList,
    });
    expect(
      parseManifest(Buffer.from(JSON.stringify(list)), "application/json", "x").mediaType,
    ).toBe(mediaTypes.ociIndex);
  });

  test("schema1 is refused with FailedPrecondition naming schema1", () => {
    const v1 = Buffer.from(JSON.stringify({ schemaVersion: 1, name: "x", tag: "1", fsLayers: [] }));
    expect(kindOf(() => parseManifest(v1, undefined, "pull r:1"))).toMatch(
      /^FailedPrecondition: pull r:1: .*schema1/,
    );
    expect(kindOf(() => parseManifest(v1, mediaTypes.dockerSchema1Signed, "pull r:1"))).toMatch(
      /^FailedPrecondition: .*schema1/,
    );
  });

  test("broken documents", () => {
    expect(kindOf(() => parseManifest(Buffer.from("{"), undefined, "m"))).toMatch(
      /^DataLoss: m: invalid manifest: not JSON/,
    );
    expect(kindOf(() => parseManifest(Buffer.from("[]"), undefined, "m"))).toMatch(
      /not a JSON object/,
    );
    expect(kindOf(() => parseManifest(Buffer.from('{"schemaVersion":3}'), undefined, "m"))).toMatch(
      /schemaVersion 3/,
    );
    const badDigest = { ...manifest, layers: [{ ...manifest.layers[0], digest: "sha256:xyz" }] };
    expect(
      kindOf(() => parseManifest(Buffer.from(JSON.stringify(badDigest)), undefined, "m")),
    ).toMatch(/layers\[0\]\.digest/);
    const noSize = { ...manifest, config: { ...manifest.config, size: -1 } };
    expect(
      kindOf(() => parseManifest(Buffer.from(JSON.stringify(noSize)), undefined, "m")),
    ).toMatch(/config\.size/);
    const other = { ...manifest, mediaType: "application/vnd.example+json" };
    expect(kindOf(() => parseManifest(Buffer.from(JSON.stringify(other)), undefined, "m"))).toMatch(
      /^FailedPrecondition: .*unsupported manifest media type/,
    );
  });
});

describe("platform selection", () => {
  const index: ImageIndex = {
    schemaVersion: 2,
    manifests: [
      desc("1", { os: "linux", architecture: "arm", variant: "v6" }),
      desc("2", { os: "linux", architecture: "arm64" }),
      desc("3", { os: "windows", architecture: "amd64" }),
      desc("4", { os: "linux", architecture: "amd64" }),
      desc("5", { os: "unknown", architecture: "unknown" }),
      desc("6", { os: "linux", architecture: "arm", variant: "v7" }),
    ],
  };

  test("this node is linux/amd64", () => {
    expect(nodePlatform()).toEqual({ os: "linux", architecture: "amd64" });
    expect(selectPlatform(index, nodePlatform(), "x").digest).toBe(digest("4"));
  });

  test("arm64 takes an entry without variant as v8; arm prefers its own variant, then older ones", () => {
    expect(
      selectPlatform(index, { os: "linux", architecture: "arm64", variant: "v8" }, "x").digest,
    ).toBe(digest("2"));
    expect(
      selectPlatform(index, { os: "linux", architecture: "arm", variant: "v7" }, "x").digest,
    ).toBe(digest("6"));
    expect(
      selectPlatform(index, { os: "linux", architecture: "arm", variant: "v8" }, "x").digest,
    ).toBe(digest("6"));
    expect(
      selectPlatform(index, { os: "linux", architecture: "arm", variant: "v6" }, "x").digest,
    ).toBe(digest("1"));
    expect(
      platformScore(
        { os: "linux", architecture: "arm", variant: "v7" },
        { os: "linux", architecture: "arm", variant: "v6" },
      ),
    ).toBe(0);
  });

  test("no match is NotFound listing the platforms", () => {
    expect(
      kindOf(() => selectPlatform(index, { os: "linux", architecture: "riscv64" }, "pull r:1")),
    ).toBe(
      "NotFound: pull r:1: no manifest for platform linux/riscv64 in the index (it has: linux/arm/v6, linux/arm64, windows/amd64, linux/amd64, unknown/unknown, linux/arm/v7)",
    );
    expect(formatPlatform({ os: "linux", architecture: "arm", variant: "v7" })).toBe(
      "linux/arm/v7",
    );
  });

  test("entries that are not image manifests are ignored", () => {
    const nested: ImageIndex = {
      schemaVersion: 2,
      manifests: [
        desc("7", { os: "linux", architecture: "amd64" }, "application/vnd.in-toto+json"),
      ],
    };
    expect(kindOf(() => selectPlatform(nested, nodePlatform(), "x"))).toMatch(/^NotFound/);
  });
});
