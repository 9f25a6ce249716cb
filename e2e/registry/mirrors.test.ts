/**
 * Mirrors and broken connections against real registries: mirrors tried in order then
 * the upstream, capabilities, a black-hole mirror (accepts TCP, never answers) that
 * costs at most one timeout per pull and is then skipped for 60 s, and a proxy that
 * cuts a blob download half-way, which the client resumes with a Range request.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { createHash } from "node:crypto";
import type { RegistryClient } from "../../cri/src/core/registry/client.js";
import { parseReference } from "../../cri/src/core/registry/reference.js";
import {
  buildImage,
  buildLayer,
  busyboxImage,
  noise,
  pushImage,
  type BuiltImage,
} from "../harness/images.js";
import {
  startBlackHole,
  startBlobProxy,
  type BlackHole,
  type BlobProxy,
} from "../harness/proxies.js";
import { startRegistry, type TestRegistry } from "../harness/registry.js";
import { clientFor, drain, mirror, registryConfig } from "./helpers.js";

async function pull(
  client: RegistryClient,
  reference: string,
  image: BuiltImage,
): Promise<string[]> {
  const ref = parseReference(reference);
  const session = client.newSession();
  const resolved = await client.resolveImage(ref, { session });
  expect(resolved.manifest.digest).toBe(image.manifest.descriptor.digest);
  const sources = [resolved.top.source];
  for (const layer of [image.config.descriptor, ...image.layers.map((l) => l.descriptor)]) {
    const got = await drain(await client.fetchBlob(ref, layer, { session }));
    expect(got.digest).toBe(layer.digest);
  }
  return sources;
}

describe("mirrors", () => {
  let upstream: TestRegistry;
  let mirrorRegistry: TestRegistry;
  let hole: BlackHole;
  const image = busyboxImage();
  const onlyUpstream = buildImage({
    layers: [buildLayer([{ name: "u", type: "file", body: "upstream only\n" }])],
  });

  beforeAll(async () => {
    [upstream, mirrorRegistry, hole] = await Promise.all([
      startRegistry(),
      startRegistry(),
      startBlackHole(),
    ]);
    await pushImage(upstream, "lib/app", "1", image);
    await pushImage(upstream, "lib/app", "2", onlyUpstream);
    await pushImage(mirrorRegistry, "lib/app", "1", image);
  });
  afterAll(async () => {
    await hole?.stop();
    await mirrorRegistry?.stop();
    await upstream?.stop();
  });

  test("a mirror that has the image serves it; one that lacks it passes to the upstream", async () => {
    const client = clientFor({
      [upstream.host]: registryConfig({ mirrors: [mirror(mirrorRegistry.url)] }),
    });
    try {
      expect(await pull(client, `${upstream.host}/lib/app:1`, image)).toEqual([
        `mirror ${mirrorRegistry.url}`,
      ]);
      expect(await pull(client, `${upstream.host}/lib/app:2`, onlyUpstream)).toEqual([
        `registry ${upstream.host}`,
      ]);
    } finally {
      client.close();
    }
  });

  test("a mirror without `resolve` serves fetches by digest only", async () => {
    const client = clientFor({
      [upstream.host]: registryConfig({
        mirrors: [mirror(mirrorRegistry.url, { capabilities: ["pull"] })],
      }),
    });
    try {
      const byTag = await client.resolve(parseReference(`${upstream.host}/lib/app:1`));
      expect(byTag.source).toBe(`registry ${upstream.host}`);
      const byDigest = await client.resolve(
        parseReference(`${upstream.host}/lib/app@${image.manifest.descriptor.digest}`),
      );
      expect(byDigest.source).toBe(`mirror ${mirrorRegistry.url}`);
    } finally {
      client.close();
    }
  });

  test("a black-hole mirror costs at most one timeout, then is skipped for 60 s", async () => {
    const reference = `${upstream.host}/lib/app:1`;
    const direct = clientFor();
    let t = Date.now();
    await pull(direct, reference, image);
    const directMs = Date.now() - t;
    direct.close();

    let now = Date.now();
    const client = clientFor(
      {
        [upstream.host]: registryConfig({
          mirrors: [mirror(hole.url), mirror(mirrorRegistry.url)],
        }),
      },
      { now: () => now },
    );
    try {
      t = Date.now();
      expect(await pull(client, reference, image)).toEqual([`mirror ${mirrorRegistry.url}`]);
      const firstMs = Date.now() - t;
      expect(firstMs).toBeLessThan(directMs + 3000);
      const connections = hole.connections();
      expect(connections).toBeGreaterThanOrEqual(1);

      // Within 60 s the dead mirror is not contacted at all.
      now += 30_000;
      t = Date.now();
      await pull(client, reference, image);
      expect(Date.now() - t).toBeLessThan(directMs + 1000);
      expect(hole.connections()).toBe(connections);

      // After 60 s it is tried again (and fails again, once).
      now += 31_000;
      t = Date.now();
      await pull(client, reference, image);
      expect(Date.now() - t).toBeLessThan(directMs + 3000);
      expect(hole.connections()).toBeGreaterThan(connections);
    } finally {
      client.close();
    }
  });

  test("a black hole written https:// times out in the TLS handshake, within the same bound", async () => {
    const client = clientFor({
      [upstream.host]: registryConfig({ mirrors: [mirror(`https://${hole.host}`)] }),
    });
    try {
      const t = Date.now();
      const resolved = await client.resolve(parseReference(`${upstream.host}/lib/app:1`));
      expect(resolved.source).toBe(`registry ${upstream.host}`);
      expect(Date.now() - t).toBeLessThan(3000);
      expect(Date.now() - t).toBeGreaterThanOrEqual(1900);
    } finally {
      client.close();
    }
  });

  test("within one pull a failed mirror stays skipped even past 60 s", async () => {
    let now = Date.now();
    const client = clientFor(
      { [upstream.host]: registryConfig({ mirrors: [mirror(hole.url)] }) },
      { now: () => now },
    );
    try {
      const ref = parseReference(`${upstream.host}/lib/app:1`);
      const session = client.newSession();
      const resolved = await client.resolve(ref, { session });
      expect(resolved.source).toBe(`registry ${upstream.host}`);
      const connections = hole.connections();
      now += 120_000;
      const t = Date.now();
      await drain(await client.fetchBlob(ref, image.layers[0]!.descriptor, { session }));
      expect(Date.now() - t).toBeLessThan(1500);
      expect(hole.connections()).toBe(connections);
      expect(client.endpoints(upstream.host, "pull", session).map((e) => e.label)).toEqual([
        `registry ${upstream.host}`,
      ]);
      expect(client.endpoints(upstream.host, "pull").map((e) => e.label)).toEqual([
        `mirror ${hole.url}`,
        `registry ${upstream.host}`,
      ]);
    } finally {
      client.close();
    }
  });
});

describe("a connection cut half-way through a blob", () => {
  let registry: TestRegistry;
  let proxy: BlobProxy;
  const size = 4 << 20;
  const image = buildImage({
    layers: [buildLayer([{ name: "big", type: "file", body: noise(size, 7) }], "none")],
  });
  const layer = image.layers[0]!.descriptor;

  beforeAll(async () => {
    registry = await startRegistry();
    await pushImage(registry, "big/app", "1", image);
    proxy = await startBlobProxy(registry.url, { cutBlobAfter: Math.floor(layer.size / 2) });
  });
  afterAll(async () => {
    await proxy?.stop();
    await registry?.stop();
  });

  test("resumes with Range and completes verified with < 1.2x the bytes", async () => {
    const client = clientFor();
    try {
      const ref = parseReference(`${proxy.host}/big/app:1`);
      const got = await drain(await client.fetchBlob(ref, layer));
      expect(got.digest).toBe(layer.digest);
      expect(got.bytes).toBe(layer.size);
      expect(proxy.cuts).toBe(1);
      const ranges = proxy.requests.filter(
        (r) => r.path.endsWith(layer.digest) && r.range !== undefined,
      );
      expect(ranges).toHaveLength(1);
      expect(ranges[0]!.range).toMatch(/^bytes=\d+-$/);
      expect(ranges[0]!.status).toBe(206);
      expect(proxy.blobBytes.get(layer.digest)!).toBeLessThan(1.2 * layer.size);
    } finally {
      client.close();
    }
  });

  test("a download that stalls is resumed after the idle timeout", async () => {
    const stalling = await startBlobProxy(registry.url, { stallBlobAfter: 1_000_000 });
    const client = clientFor({}, { timeouts: { idleMs: 500 } });
    try {
      const started = Date.now();
      const got = await drain(
        await client.fetchBlob(parseReference(`${stalling.host}/big/app:1`), layer),
      );
      expect(got.digest).toBe(layer.digest);
      expect(Date.now() - started).toBeGreaterThanOrEqual(450);
      expect(stalling.requests.filter((r) => r.range === "bytes=1000000-")).toHaveLength(1);
      expect(stalling.blobBytes.get(layer.digest)!).toBe(layer.size);
    } finally {
      client.close();
      await stalling.stop();
    }
  });

  test("blob redirects are followed, without the Authorization header on another host", async () => {
    const target = await startBlobProxy(registry.url, {});
    const redirecting = await startBlobProxy(registry.url, {
      redirectBlobsTo: `http://localhost:${new URL(target.url).port}`,
    });
    const client = clientFor();
    try {
      const ref = parseReference(`${redirecting.host}/big/app:1`);
      const got = await drain(
        await client.fetchBlob(ref, layer, { auth: { registry_token: "secret" } }),
      );
      expect(got.digest).toBe(layer.digest);
      const atOrigin = redirecting.requests.filter((r) => r.path.endsWith(layer.digest));
      expect(atOrigin.map((r) => [r.status, r.authorization])).toEqual([[307, "Bearer secret"]]);
      const atTarget = target.requests.filter((r) => r.path.endsWith(layer.digest));
      expect(atTarget).toHaveLength(1);
      expect(atTarget[0]!.authorization).toBeUndefined();
    } finally {
      client.close();
      await redirecting.stop();
      await target.stop();
    }
  });

  test("a caller resuming from an offset gets the rest, and can hash the whole", async () => {
    const client = clientFor();
    try {
      const ref = parseReference(`${registry.host}/big/app:1`);
      const all = await drain(await client.fetchBlob(ref, layer));
      const offset = 1_000_000;
      const rest = await drain(await client.fetchBlob(ref, layer, { offset }));
      expect(rest.bytes).toBe(layer.size - offset);
      const hash = createHash("sha256").update(all.data.subarray(0, offset)).update(rest.data);
      expect(`sha256:${hash.digest("hex")}`).toBe(layer.digest);
    } finally {
      client.close();
    }
  });
});
