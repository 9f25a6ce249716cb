/**
 * Skiff's registry client pulling from real Distribution registries (Debian
 * docker-registry) started by the harness: plain HTTP, TLS with a generated CA,
 * htpasswd basic auth, bearer tokens from the harness's token server; OCI and Docker
 * schema2 images, a multi-arch index, and a registry that lies about a digest.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseReference } from "../../cri/src/core/registry/reference.js";
import {
  buildImage,
  buildIndex,
  buildLayer,
  busyboxImage,
  noise,
  pushImage,
  type BuiltImage,
} from "../harness/images.js";
import { startBlobProxy, type BlobProxy, type ProxyOptions } from "../harness/proxies.js";
import { startRegistry, type TestRegistry } from "../harness/registry.js";
import { clientFor, drain, registryConfig, rejection } from "./helpers.js";

async function pullAll(
  client: ReturnType<typeof clientFor>,
  reference: string,
  image: BuiltImage,
): Promise<void> {
  const ref = parseReference(reference);
  const resolved = await client.resolveImage(ref);
  expect(resolved.manifest.digest).toBe(image.manifest.descriptor.digest);
  expect(resolved.manifest.bytes).toEqual(image.manifest.bytes);
  const manifest = resolved.manifest.parsed.manifest;
  const config = await client.fetchBlobBytes(ref, manifest.config);
  expect(config).toEqual(image.config.bytes);
  for (const [i, layer] of manifest.layers.entries()) {
    const got = await drain(await client.fetchBlob(ref, layer));
    expect(got.digest).toBe(image.layers[i]!.descriptor.digest);
    expect(got.bytes).toBe(image.layers[i]!.descriptor.size);
  }
}

describe("pull over plain HTTP from a loopback registry", () => {
  let registry: TestRegistry;
  const image = busyboxImage("gzip");
  const dockerImage = busyboxImage("gzip", "docker");
  const zstdImage = busyboxImage("zstd");

  beforeAll(async () => {
    registry = await startRegistry();
    await pushImage(registry, "test/busybox", "1", image);
    await pushImage(registry, "test/busybox", "docker", dockerImage);
    await pushImage(registry, "test/busybox", "zstd", zstdImage);
  });
  afterAll(async () => {
    await registry?.stop();
  });

  test("an OCI image: manifest by tag, config and layers verified", async () => {
    const client = clientFor();
    try {
      await pullAll(client, `${registry.host}/test/busybox:1`, image);
    } finally {
      client.close();
    }
  });

  test("a Docker schema2 image and a zstd image", async () => {
    const client = clientFor();
    try {
      await pullAll(client, `${registry.host}/test/busybox:docker`, dockerImage);
      const resolved = await client.resolve(parseReference(`${registry.host}/test/busybox:docker`));
      expect(resolved.mediaType).toBe("application/vnd.docker.distribution.manifest.v2+json");
      await pullAll(client, `${registry.host}/test/busybox:zstd`, zstdImage);
    } finally {
      client.close();
    }
  });

  test("by digest, and the digest is checked", async () => {
    const client = clientFor();
    try {
      const digest = image.manifest.descriptor.digest;
      const byDigest = await client.resolve(
        parseReference(`${registry.host}/test/busybox@${digest}`),
      );
      expect(byDigest.digest).toBe(digest);
      expect(byDigest.bytes).toEqual(image.manifest.bytes);
    } finally {
      client.close();
    }
  });

  test("unknown tag, repository and blob are NotFound naming the reference", async () => {
    const client = clientFor();
    try {
      const tag = await rejection(
        client.resolve(parseReference(`${registry.host}/test/busybox:nope`)),
      );
      expect(tag.kind).toBe("NotFound");
      expect(tag.message).toContain(`${registry.host}/test/busybox:nope`);
      expect(tag.message).toContain("MANIFEST_UNKNOWN");
      const repo = await rejection(client.resolve(parseReference(`${registry.host}/test/none:1`)));
      expect(repo.kind).toBe("NotFound");
      const missing = {
        mediaType: "application/octet-stream",
        digest: `sha256:${"0".repeat(64)}`,
        size: 1,
      };
      const blob = await rejection(
        client.fetchBlob(parseReference(`${registry.host}/test/busybox:1`), missing),
      );
      expect(blob.kind).toBe("NotFound");
      expect(blob.message).toContain(missing.digest);
    } finally {
      client.close();
    }
  });

  test("nothing listening: Unavailable naming the registry", async () => {
    const client = clientFor();
    try {
      const err = await rejection(client.resolve(parseReference("127.0.0.1:1/test/busybox:1")));
      expect(err.kind).toBe("Unavailable");
      expect(err.message).toContain("registry 127.0.0.1:1");
    } finally {
      client.close();
    }
  });
});

describe("pull over TLS with a generated CA", () => {
  let registry: TestRegistry;
  const image = busyboxImage();

  beforeAll(async () => {
    registry = await startRegistry({ tls: true });
    await pushImage(registry, "tls/busybox", "1", image);
  });
  afterAll(async () => {
    await registry?.stop();
  });

  test("with the registry's CA configured the pull works", async () => {
    const client = clientFor({ [registry.host]: registryConfig({ ca: registry.caFile! }) });
    try {
      await pullAll(client, `${registry.host}/tls/busybox:1`, image);
    } finally {
      client.close();
    }
  });

  test("without the CA the certificate is refused, and plain HTTP is not tried", async () => {
    const client = clientFor();
    try {
      const err = await rejection(client.resolve(parseReference(`${registry.host}/tls/busybox:1`)));
      expect(err.kind).toBe("Unavailable");
      expect(err.message).toMatch(/TLS certificate not trusted/);
      expect(err.message).toContain(registry.host);
    } finally {
      client.close();
    }
  });

  test("insecure: true accepts the unverified certificate", async () => {
    const client = clientFor({ [registry.host]: registryConfig({ insecure: true }) });
    try {
      await pullAll(client, `${registry.host}/tls/busybox:1`, image);
    } finally {
      client.close();
    }
  });
});

describe("pull from a registry that requires a client certificate", () => {
  let registry: TestRegistry;
  const image = busyboxImage();

  beforeAll(async () => {
    registry = await startRegistry({ clientCerts: true });
    await pushImage(registry, "mtls/busybox", "1", image);
  });
  afterAll(async () => {
    await registry?.stop();
  });

  test("with clientCert and clientKey configured the pull works", async () => {
    const client = clientFor({
      [registry.host]: registryConfig({
        ca: registry.caFile!,
        clientCert: registry.clientCert!.certFile,
        clientKey: registry.clientCert!.keyFile,
      }),
    });
    try {
      await pullAll(client, `${registry.host}/mtls/busybox:1`, image);
    } finally {
      client.close();
    }
  });

  test("without a client certificate the pull fails", async () => {
    const client = clientFor({ [registry.host]: registryConfig({ ca: registry.caFile! }) });
    try {
      const err = await rejection(
        client.resolve(parseReference(`${registry.host}/mtls/busybox:1`)),
      );
      expect(err.kind).toBe("Unavailable");
      expect(err.message).toContain(registry.host);
    } finally {
      client.close();
    }
  });
});

describe("pull with htpasswd basic auth", () => {
  let registry: TestRegistry;
  const image = busyboxImage();

  beforeAll(async () => {
    registry = await startRegistry({ htpasswd: { username: "alice", password: "s3cret" } });
    await pushImage(registry, "private/busybox", "1", image);
  });
  afterAll(async () => {
    await registry?.stop();
  });

  test("credentials from the request (CRI AuthConfig) work", async () => {
    const client = clientFor();
    try {
      const ref = parseReference(`${registry.host}/private/busybox:1`);
      const resolved = await client.resolveImage(ref, {
        auth: { username: "alice", password: "s3cret" },
      });
      expect(resolved.manifest.digest).toBe(image.manifest.descriptor.digest);
      const auth = { auth: Buffer.from("alice:s3cret").toString("base64") };
      const layer = await drain(await client.fetchBlob(ref, image.layers[0]!.descriptor, { auth }));
      expect(layer.digest).toBe(image.layers[0]!.descriptor.digest);
    } finally {
      client.close();
    }
  });

  test("credentials from Skiff's config work", async () => {
    const client = clientFor({
      [registry.host]: registryConfig({ auth: { username: "alice", password: "s3cret" } }),
    });
    try {
      await pullAll(client, `${registry.host}/private/busybox:1`, image);
    } finally {
      client.close();
    }
  });

  test("credentials from a docker config.json work", async () => {
    const dir = mkdtempSync(join(tmpdir(), "skiff-dockercfg-"));
    const path = join(dir, "config.json");
    writeFileSync(
      path,
      JSON.stringify({
        auths: {
          [`https://${registry.host}`]: { auth: Buffer.from("alice:s3cret").toString("base64") },
        },
      }),
    );
    const client = clientFor({}, { dockerConfigPath: path });
    try {
      await pullAll(client, `${registry.host}/private/busybox:1`, image);
    } finally {
      client.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a wrong password and no credentials are Unauthenticated", async () => {
    const client = clientFor();
    try {
      const ref = parseReference(`${registry.host}/private/busybox:1`);
      const wrong = await rejection(
        client.resolve(ref, { auth: { username: "alice", password: "nope" } }),
      );
      expect(wrong.kind).toBe("Unauthenticated");
      expect(wrong.message).toContain(`${registry.host}/private/busybox:1`);
      expect(wrong.message).toContain('user "alice"');
      const none = await rejection(client.resolve(ref));
      expect(none.kind).toBe("Unauthenticated");
      expect(none.message).toMatch(/username and password/);
    } finally {
      client.close();
    }
  });
});

describe("pull with bearer tokens from a token server", () => {
  let registry: TestRegistry;
  const image = busyboxImage();

  beforeAll(async () => {
    registry = await startRegistry({
      token: {
        users: { bob: { password: "hunter2" } },
        anonymous: ["pull"],
        refreshTokens: { "refresh-bob": "bob" },
      },
    });
    await pushImage(registry, "tok/busybox", "1", image);
  });
  afterAll(async () => {
    await registry?.stop();
  });

  test("challenge → token → retry, one token for every request of the scope", async () => {
    const client = clientFor();
    const server = registry.tokenServer!;
    const before = server.requests.length;
    try {
      await pullAll(client, `${registry.host}/tok/busybox:1`, image);
      const requests = server.requests.slice(before);
      expect(requests).toEqual([{ scopes: ["repository:tok/busybox:pull"], status: 200 }]);
      expect(client.tokenRequests).toBe(1);
    } finally {
      client.close();
    }
  });

  test("with credentials the token server sees the account; a wrong password is Unauthenticated", async () => {
    const client = clientFor({
      [registry.host]: registryConfig({ auth: { username: "bob", password: "hunter2" } }),
    });
    const server = registry.tokenServer!;
    try {
      const before = server.requests.length;
      await pullAll(client, `${registry.host}/tok/busybox:1`, image);
      expect(server.requests.slice(before)).toEqual([
        { account: "bob", scopes: ["repository:tok/busybox:pull"], status: 200 },
      ]);
      const wrong = await rejection(
        client.resolve(parseReference(`${registry.host}/tok/busybox:1`), {
          auth: { username: "bob", password: "x" },
        }),
      );
      expect(wrong.kind).toBe("Unauthenticated");
      expect(wrong.message).toMatch(/token server .* refused the credentials/);
    } finally {
      client.close();
    }
  });

  test("an identity token is exchanged for an access token (OAuth2 refresh_token grant)", async () => {
    const client = clientFor();
    const server = registry.tokenServer!;
    try {
      const before = server.requests.length;
      const ref = parseReference(`${registry.host}/tok/busybox:1`);
      const resolved = await client.resolve(ref, { auth: { identity_token: "refresh-bob" } });
      expect(resolved.digest).toBe(image.manifest.descriptor.digest);
      expect(server.requests.slice(before)).toEqual([
        { account: "bob", scopes: ["repository:tok/busybox:pull"], status: 200 },
      ]);
      const wrong = await rejection(client.resolve(ref, { auth: { identity_token: "stolen" } }));
      expect(wrong.kind).toBe("Unauthenticated");
    } finally {
      client.close();
    }
  });

  test("an expired token is fetched again (injected clock)", async () => {
    let now = Date.now();
    const client = clientFor({}, { now: () => now });
    const server = registry.tokenServer!;
    try {
      const ref = parseReference(`${registry.host}/tok/busybox:1`);
      const before = server.requests.length;
      await client.resolve(ref);
      await client.resolve(ref);
      expect(server.requests.length - before).toBe(1);
      now += 301_000;
      await client.resolve(ref);
      expect(server.requests.length - before).toBe(2);
    } finally {
      client.close();
    }
  });
});

describe("multi-arch index", () => {
  let registry: TestRegistry;
  const amd64 = busyboxImage();
  const arm64 = buildImage({
    platform: { os: "linux", architecture: "arm64", variant: "v8" },
    layers: [buildLayer([{ name: "arch", type: "file", body: "arm64\n" }])],
  });
  const armv7 = buildImage({
    platform: { os: "linux", architecture: "arm", variant: "v7" },
    layers: [buildLayer([{ name: "arch", type: "file", body: "armv7\n" }])],
  });
  const index = buildIndex([arm64, armv7, amd64]);
  const dockerList = buildIndex([arm64, amd64], "docker");

  beforeAll(async () => {
    registry = await startRegistry();
    await pushImage(registry, "multi/app", "1", index);
    await pushImage(registry, "multi/app", "list", dockerList);
  });
  afterAll(async () => {
    await registry?.stop();
  });

  test("the index resolves to linux/amd64 on this node", async () => {
    const client = clientFor();
    try {
      const ref = parseReference(`${registry.host}/multi/app:1`);
      const resolved = await client.resolveImage(ref);
      expect(resolved.top.digest).toBe(index.index.descriptor.digest);
      expect(resolved.top.parsed.kind).toBe("index");
      expect(resolved.manifest.digest).toBe(amd64.manifest.descriptor.digest);
      const list = await client.resolveImage(parseReference(`${registry.host}/multi/app:list`));
      expect(list.top.mediaType).toBe("application/vnd.docker.distribution.manifest.list.v2+json");
      expect(list.manifest.digest).toBe(amd64.manifest.descriptor.digest);
    } finally {
      client.close();
    }
  });

  test("other platforms are chosen when asked; a missing one is NotFound listing what exists", async () => {
    const client = clientFor();
    try {
      const ref = parseReference(`${registry.host}/multi/app:1`);
      const arm = await client.resolveImage(ref, {
        platform: { os: "linux", architecture: "arm64", variant: "v8" },
      });
      expect(arm.manifest.digest).toBe(arm64.manifest.descriptor.digest);
      const v7 = await client.resolveImage(ref, {
        platform: { os: "linux", architecture: "arm", variant: "v7" },
      });
      expect(v7.manifest.digest).toBe(armv7.manifest.descriptor.digest);
      const err = await rejection(
        client.resolveImage(ref, { platform: { os: "linux", architecture: "s390x" } }),
      );
      expect(err.kind).toBe("NotFound");
      expect(err.message).toContain("linux/s390x");
      expect(err.message).toContain("linux/arm64/v8, linux/arm/v7, linux/amd64");
    } finally {
      client.close();
    }
  });
});

describe("transient failures are retried with backoff", () => {
  let registry: TestRegistry;
  const image = busyboxImage();
  beforeAll(async () => {
    registry = await startRegistry();
    await pushImage(registry, "flaky/app", "1", image);
  });
  afterAll(async () => {
    await registry?.stop();
  });

  const cases: [string, ProxyOptions][] = [
    ["503 twice", { failFirst: { count: 2, status: 503 } }],
    ["429 with Retry-After", { failFirst: { count: 1, status: 429, retryAfter: "1" } }],
    ["connection resets", { resetFirst: 2 }],
  ];
  test.each(cases)("%s, then success", async (_name, options) => {
    const proxy = await startBlobProxy(registry.url, options);
    const client = clientFor();
    try {
      const started = Date.now();
      // The first request is the loopback TLS probe, then the manifest GET and its retries.
      const resolved = await client.resolve(parseReference(`${proxy.host}/flaky/app:1`));
      expect(resolved.digest).toBe(image.manifest.descriptor.digest);
      const failed = proxy.requests.filter((r) => r.status !== 200);
      expect(failed.length).toBeGreaterThanOrEqual(1);
      if (options.failFirst?.retryAfter) {
        expect(Date.now() - started).toBeGreaterThanOrEqual(900);
      }
    } finally {
      client.close();
      await proxy.stop();
    }
  });

  test("a registry that keeps failing is Unavailable after three attempts", async () => {
    const proxy = await startBlobProxy(registry.url, { failFirst: { count: 100, status: 502 } });
    const client = clientFor();
    try {
      const err = await rejection(client.resolve(parseReference(`${proxy.host}/flaky/app:1`)));
      expect(err.kind).toBe("Unavailable");
      expect(err.message).toContain("HTTP 502");
      expect(proxy.requests.filter((r) => r.path.includes("/manifests/"))).toHaveLength(3);
    } finally {
      client.close();
      await proxy.stop();
    }
  });
});

describe("a registry that lies", () => {
  let registry: TestRegistry;
  let proxy: BlobProxy;
  const image = buildImage({
    layers: [buildLayer([{ name: "data", type: "file", body: noise(100_000) }])],
  });

  beforeAll(async () => {
    registry = await startRegistry();
    await pushImage(registry, "lie/app", "1", image);
    proxy = await startBlobProxy(registry.url, { flipBlobByte: 5000, flipManifests: true });
  });
  afterAll(async () => {
    await proxy?.stop();
    await registry?.stop();
  });

  test("a blob whose bytes do not match its digest is DataLoss", async () => {
    const client = clientFor();
    try {
      const ref = parseReference(`${proxy.host}/lie/app:1`);
      const stream = await client.fetchBlob(ref, image.layers[0]!.descriptor);
      const err = await rejection(drain(stream));
      expect(err.kind).toBe("DataLoss");
      expect(err.message).toContain(image.layers[0]!.descriptor.digest);
      expect(err.message).toContain(proxy.host);
    } finally {
      client.close();
    }
  });

  test("a manifest fetched by digest whose bytes do not match is DataLoss", async () => {
    const client = clientFor();
    try {
      const digest = image.manifest.descriptor.digest;
      const err = await rejection(
        client.resolve(parseReference(`${proxy.host}/lie/app@${digest}`)),
      );
      expect(err.kind).toBe("DataLoss");
      expect(err.message).toContain(digest);
    } finally {
      client.close();
    }
  });
});
