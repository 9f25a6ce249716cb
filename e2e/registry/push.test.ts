/**
 * Pushing with Skiff's registry client to real registries: blob existence checks,
 * monolithic and chunked uploads, cross-repository mounts, manifest and index PUTs,
 * then pulling the result back; over plain HTTP and with bearer tokens (where a mount
 * needs a token for two repositories).
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { Readable } from "node:stream";
import type { RegistryClient } from "../../cri/src/core/registry/client.js";
import { parseReference } from "../../cri/src/core/registry/reference.js";
import {
  buildImage,
  buildIndex,
  buildLayer,
  busyboxImage,
  noise,
  pushImage,
  rawRequest,
  type BuiltImage,
} from "../harness/images.js";
import { startBlobProxy, type BlobProxy } from "../harness/proxies.js";
import { startRegistry, type TestRegistry } from "../harness/registry.js";
import { clientFor, drain, registryConfig, rejection } from "./helpers.js";

async function pullBack(
  client: RegistryClient,
  reference: string,
  image: BuiltImage,
): Promise<void> {
  const ref = parseReference(reference);
  const resolved = await client.resolveImage(ref);
  expect(resolved.manifest.digest).toBe(image.manifest.descriptor.digest);
  for (const blob of [image.config, ...image.layers]) {
    const got = await drain(await client.fetchBlob(ref, blob.descriptor));
    expect(got.data.equals(blob.bytes)).toBe(true);
  }
}

const modes: [string, Parameters<typeof startRegistry>[0], Record<string, string> | undefined][] = [
  ["plain HTTP", {}, undefined],
  [
    "bearer tokens",
    { token: { users: { bob: { password: "hunter2" } } } },
    { username: "bob", password: "hunter2" },
  ],
];

describe.each(modes)("push over %s", (_name, options, creds) => {
  let registry: TestRegistry;
  let client: RegistryClient;
  const image = buildImage({
    layers: [
      buildLayer([{ name: "a", type: "file", body: noise(50_000, 3) }]),
      buildLayer([{ name: "b", type: "file", body: noise(300_000, 4) }], "none"),
    ],
  });
  const source = busyboxImage();

  beforeAll(async () => {
    registry = await startRegistry(options);
    client = clientFor(
      creds
        ? {
            [registry.host]: registryConfig({
              auth: { username: creds.username!, password: creds.password! },
            }),
          }
        : {},
    );
    await pushImage(registry, "src/busybox", "1", source);
  });
  afterAll(async () => {
    client?.close();
    await registry?.stop();
  });

  test("monolithic and chunked uploads, a manifest PUT, then the image pulls back", async () => {
    const ref = parseReference(`${registry.host}/dst/app:v1`);
    const [small, large] = image.layers;
    expect(await client.blobExists(ref, small!.descriptor.digest)).toBe(false);
    expect(await client.pushBlob(ref, small!.descriptor, small!.bytes)).toBe("uploaded");
    expect(await client.blobExists(ref, small!.descriptor.digest)).toBe(true);
    expect(await client.pushBlob(ref, small!.descriptor, small!.bytes)).toBe("exists");
    expect(
      await client.pushBlob(
        ref,
        large!.descriptor,
        () => Readable.from([large!.bytes.subarray(0, 1000), large!.bytes.subarray(1000)]),
        {
          chunkSize: 64 * 1024,
        },
      ),
    ).toBe("uploaded");
    expect(
      await client.pushBlob(ref, image.config.descriptor, () =>
        Readable.from([image.config.bytes]),
      ),
    ).toBe("uploaded");
    const digest = await client.pushManifest(
      ref,
      image.manifest.bytes,
      image.manifest.descriptor.mediaType,
    );
    expect(digest).toBe(image.manifest.descriptor.digest);
    await pullBack(client, `${registry.host}/dst/app:v1`, image);
    const head = await rawRequest(
      registry,
      "HEAD",
      `/v2/dst/app/blobs/${large!.descriptor.digest}`,
      {
        repositories: ["dst/app"],
      },
    );
    expect(head.status).toBe(200);
    expect(head.headers["content-length"]).toBe(String(large!.descriptor.size));
  });

  test("cross-repository mount, then an index PUT by tag", async () => {
    const ref = parseReference(`${registry.host}/mounted/busybox:1`);
    for (const blob of [source.config, ...source.layers]) {
      expect(await client.mountBlob(ref, "src/busybox", blob.descriptor)).toBe(true);
    }
    const missing = {
      mediaType: "application/octet-stream",
      digest: `sha256:${"1".repeat(64)}`,
      size: 1,
    };
    expect(await client.mountBlob(ref, "src/busybox", missing)).toBe(false);
    // pushBlob with mountFrom: mounted when the source has it, uploaded otherwise.
    const other = parseReference(`${registry.host}/mounted/other:1`);
    expect(
      await client.pushBlob(other, source.config.descriptor, source.config.bytes, {
        mountFrom: "src/busybox",
      }),
    ).toBe("mounted");
    const fresh = buildLayer([{ name: "fresh", type: "file", body: noise(10_000, 9) }]);
    expect(
      await client.pushBlob(other, fresh.descriptor, fresh.bytes, { mountFrom: "src/busybox" }),
    ).toBe("uploaded");
    expect(await client.blobExists(other, fresh.descriptor.digest)).toBe(true);
    await client.pushManifest(
      parseReference(`${registry.host}/mounted/busybox@${source.manifest.descriptor.digest}`),
      source.manifest.bytes,
      source.manifest.descriptor.mediaType,
    );
    const index = buildIndex([source]);
    const digest = await client.pushManifest(
      ref,
      index.index.bytes,
      index.index.descriptor.mediaType,
    );
    expect(digest).toBe(index.index.descriptor.digest);
    const resolved = await client.resolveImage(ref);
    expect(resolved.top.digest).toBe(index.index.descriptor.digest);
    await pullBack(client, `${registry.host}/mounted/busybox:1`, source);
  });

  test("a manifest naming a blob the repository lacks is refused", async () => {
    const other = buildImage({
      layers: [buildLayer([{ name: "x", type: "file", body: "never pushed" }])],
    });
    const ref = parseReference(`${registry.host}/dst/broken:1`);
    const err = await rejection(
      client.pushManifest(ref, other.manifest.bytes, other.manifest.descriptor.mediaType),
    );
    expect(["InvalidArgument", "FailedPrecondition"]).toContain(err.kind);
    expect(err.message).toContain("dst/broken:1");
    expect(err.message).toMatch(/BLOB_UNKNOWN|MANIFEST_BLOB_UNKNOWN/);
  });
});

describe("upload protocol as seen on the wire", () => {
  let registry: TestRegistry;
  let proxy: BlobProxy;
  beforeAll(async () => {
    registry = await startRegistry();
    proxy = await startBlobProxy(registry.url, {});
  });
  afterAll(async () => {
    await proxy?.stop();
    await registry?.stop();
  });

  test("chunked: POST, PATCHes with consecutive Content-Ranges, PUT ?digest=; monolithic: POST, PUT", async () => {
    const client = clientFor();
    try {
      const ref = parseReference(`${proxy.host}/wire/app:1`);
      const layer = buildLayer([{ name: "z", type: "file", body: noise(200_000, 5) }], "none");
      proxy.requests.length = 0;
      await client.pushBlob(ref, layer.descriptor, layer.bytes, { chunkSize: 100_000 });
      const calls = proxy.requests.filter((r) => r.method !== "HEAD");
      expect(calls.map((r) => r.method)).toEqual(["POST", "PATCH", "PATCH", "PATCH", "PUT"]);
      expect(calls.slice(1, 4).map((r) => r.contentRange)).toEqual([
        "0-99999",
        "100000-199999",
        `200000-${layer.descriptor.size - 1}`,
      ]);
      expect(calls[4]!.path).toContain(`digest=${encodeURIComponent(layer.descriptor.digest)}`);

      const small = buildLayer([{ name: "s", type: "file", body: "small" }]);
      proxy.requests.length = 0;
      await client.pushBlob(ref, small.descriptor, small.bytes);
      expect(proxy.requests.map((r) => r.method)).toEqual(["HEAD", "POST", "PUT"]);
    } finally {
      client.close();
    }
  });
});

describe("push refused", () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry({
      token: { users: { reader: { password: "r", actions: ["pull"] } } },
    });
  });
  afterAll(async () => {
    await registry?.stop();
  });

  test("a token without push is refused, naming the repository", async () => {
    const client = clientFor({
      [registry.host]: registryConfig({ auth: { username: "reader", password: "r" } }),
    });
    try {
      const layer = buildLayer([{ name: "y", type: "file", body: "y" }]);
      const err = await rejection(
        client.pushBlob(parseReference(`${registry.host}/ro/app:1`), layer.descriptor, layer.bytes),
      );
      expect(["Unauthenticated", "PermissionDenied"]).toContain(err.kind);
      expect(err.message).toContain("ro/app");
    } finally {
      client.close();
    }
  });
});
