/**
 * The CRI ImageService of a real skiff-cri against a real registry (Debian's
 * docker-registry on 127.0.0.1), driven by gRPC and by crictl.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { status } from "@grpc/grpc-js";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { rpc } from "../../cri/src/cli/client.js";
import { startRegistry, type TestRegistry } from "../harness/registry.js";
import {
  buildImage,
  buildLayer,
  busyboxEntries,
  busyboxImage,
  buildIndex,
  pushImage,
} from "../harness/images.js";
import {
  removeDirs,
  startDaemon,
  tempDirs,
  toolPath,
  type DaemonDirs,
  type RunningDaemon,
} from "../harness/skiff-cri.js";

interface Img {
  id: string;
  repo_tags: string[];
  repo_digests: string[];
  size: string;
  uid: { value: string } | null;
  username: string;
}

let registry: TestRegistry;
let dirs: DaemonDirs;
let daemon: RunningDaemon;
let crictl: string;
let host: string;

const cri = (...args: string[]) =>
  spawnSync(
    crictl,
    [
      "--image-endpoint",
      `unix://${dirs.socket}`,
      "--runtime-endpoint",
      `unix://${dirs.socket}`,
      ...args,
    ],
    {
      encoding: "utf8",
      timeout: 60_000,
    },
  );

beforeAll(async () => {
  registry = await startRegistry();
  host = registry.host;
  // distinct configs, so each is its own image (the same config is the same image id)
  const distinct = (compression: "gzip" | "zstd", flavour: "oci" | "docker", name: string) =>
    buildImage({
      flavour,
      layers: busyboxImage(compression, flavour).layers,
      config: { Labels: { name } },
    });
  await pushImage(registry, "library/busybox", "latest", busyboxImage("gzip"));
  await pushImage(registry, "zstd/busybox", "1", distinct("zstd", "oci", "zstd"));
  await pushImage(registry, "docker/busybox", "1", distinct("gzip", "docker", "docker"));
  await pushImage(
    registry,
    "multi/arch",
    "1",
    buildIndex([
      buildImage({
        layers: [buildLayer([{ name: "arch", type: "file", body: "arm64\n" }])],
        platform: { os: "linux", architecture: "arm64" },
      }),
      buildImage({
        layers: [buildLayer([{ name: "arch", type: "file", body: "amd64\n" }])],
        platform: { os: "linux", architecture: "amd64" },
      }),
    ]),
  );
  await pushImage(
    registry,
    "users/www",
    "1",
    buildImage({
      layers: [buildLayer(busyboxEntries())],
      config: { User: "www-data", Cmd: ["sh"] },
    }),
  );
  dirs = tempDirs();
  daemon = await startDaemon(dirs);
  crictl = toolPath("crictl");
});

afterAll(async () => {
  await daemon?.stop();
  if (dirs) {
    spawnSync("sh", ["-c", `grep ' ${dirs.dir}' /proc/mounts | cut -d' ' -f2 | xargs -r umount`]);
    removeDirs(dirs);
  }
  await registry?.stop();
});

describe("CRI ImageService", () => {
  test("ImageStatus of a missing image is empty, not an error", async () => {
    const r = await rpc<{ image: Img | null }>(daemon.clients.image, "ImageStatus", {
      image: { image: `${host}/library/busybox` },
    });
    expect(r.image).toBeNull();
  });

  test("PullImage, then ListImages and ImageStatus show it with tags and digests", async () => {
    const pulled = await rpc<{ image_ref: string }>(daemon.clients.image, "PullImage", {
      image: { image: `${host}/library/busybox` },
    });
    expect(pulled.image_ref).toMatch(/^sha256:[0-9a-f]{64}$/);
    const list = await rpc<{ images: Img[] }>(daemon.clients.image, "ListImages", {});
    const image = list.images.find((i) => i.id === pulled.image_ref) as Img;
    expect(image.repo_tags).toEqual([`${host}/library/busybox:latest`]);
    expect(image.repo_digests[0]).toMatch(
      new RegExp(`^${host}/library/busybox@sha256:[0-9a-f]{64}$`),
    );
    expect(Number(image.size)).toBeGreaterThan(500_000);
    const st = await rpc<{ image: Img }>(daemon.clients.image, "ImageStatus", {
      image: { image: pulled.image_ref },
    });
    expect(st.image.id).toBe(pulled.image_ref);
    const byDigest = await rpc<{ image: Img }>(daemon.clients.image, "ImageStatus", {
      image: { image: image.repo_digests[0] },
    });
    expect(byDigest.image.id).toBe(pulled.image_ref);
  });

  test("zstd layers, Docker schema2 manifests and a multi-arch index pull", async () => {
    for (const ref of [
      `${host}/zstd/busybox:1`,
      `${host}/docker/busybox:1`,
      `${host}/multi/arch:1`,
    ]) {
      const pulled = await rpc<{ image_ref: string }>(daemon.clients.image, "PullImage", {
        image: { image: ref },
      });
      expect(pulled.image_ref).toMatch(/^sha256:/);
    }
  });

  test("the image's user is reported as the CRI wants it", async () => {
    await rpc(daemon.clients.image, "PullImage", { image: { image: `${host}/users/www:1` } });
    const st = await rpc<{ image: Img }>(daemon.clients.image, "ImageStatus", {
      image: { image: `${host}/users/www:1` },
    });
    expect(st.image.username).toBe("www-data");
    expect(st.image.uid).toBeNull();
  });

  test("concurrent pulls of one image share one download", async () => {
    const before = registry
      .logs()
      .split("\n")
      .filter((l) => l.includes("GET /v2/library/busybox/blobs/")).length;
    await rpc(daemon.clients.image, "RemoveImage", { image: { image: `${host}/library/busybox` } });
    await Promise.all(
      [1, 2, 3].map(() =>
        rpc(daemon.clients.image, "PullImage", {
          image: { image: `${host}/library/busybox:latest` },
        }),
      ),
    );
    const after = registry
      .logs()
      .split("\n")
      .filter((l) => l.includes("GET /v2/library/busybox/blobs/")).length;
    expect(after - before).toBeLessThanOrEqual(3); // config + 2 layers, once
  });

  test("unknown images and bad references get the right codes", async () => {
    await expect(
      rpc(daemon.clients.image, "PullImage", { image: { image: `${host}/nope/nothing:1` } }),
    ).rejects.toMatchObject({
      code: status.NOT_FOUND,
    });
    await expect(
      rpc(daemon.clients.image, "PullImage", { image: { image: "UPPER/Case" } }),
    ).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
    });
    await expect(
      rpc(daemon.clients.image, "PullImage", { image: { image: "" } }),
    ).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
    });
    await expect(
      rpc(daemon.clients.image, "PullImage", { image: { image: "127.0.0.1:1/x:y" } }),
    ).rejects.toMatchObject({
      code: status.UNAVAILABLE,
    });
  });

  test("RemoveImage removes every name and is idempotent; layers and blobs go too", async () => {
    const ref = `${host}/docker/busybox:1`;
    const st = await rpc<{ image: Img }>(daemon.clients.image, "ImageStatus", {
      image: { image: ref },
    });
    const configBlob = join(
      dirs.root,
      "content",
      "blobs",
      "sha256",
      st.image.id.slice("sha256:".length),
    );
    expect(existsSync(configBlob)).toBe(true);
    await rpc(daemon.clients.image, "RemoveImage", { image: { image: st.image.id } });
    expect(existsSync(configBlob)).toBe(false);
    expect(
      (
        await rpc<{ image: Img | null }>(daemon.clients.image, "ImageStatus", {
          image: { image: ref },
        })
      ).image,
    ).toBeNull();
    await rpc(daemon.clients.image, "RemoveImage", { image: { image: st.image.id } });
    await rpc(daemon.clients.image, "RemoveImage", { image: { image: ref } });
  });

  test("ImageFsInfo reports the image filesystem", async () => {
    const info = await rpc<{
      image_filesystems: { fs_id: { mountpoint: string }; used_bytes: { value: string } }[];
    }>(daemon.clients.image, "ImageFsInfo", {});
    expect(info.image_filesystems[0]?.fs_id.mountpoint).toBe(join(dirs.root, "snapshots"));
    expect(Number(info.image_filesystems[0]?.used_bytes.value)).toBeGreaterThan(1_000_000);
  });

  test("crictl pull, images, inspecti, rmi and imagefsinfo", () => {
    const ref = `${host}/zstd/busybox:1`;
    expect(cri("rmi", ref).status).toBe(0);
    const pull = cri("pull", ref);
    expect(pull.stderr + pull.stdout).toContain("Image is up to date for sha256:");
    expect(cri("images").stdout).toMatch(new RegExp(`${host}/zstd/busybox\\s+1\\s+[0-9a-f]{13}`));
    const inspect = JSON.parse(cri("inspecti", ref).stdout);
    expect(inspect.status.repoTags).toEqual([ref]);
    expect(JSON.parse(cri("imagefsinfo").stdout).status.imageFilesystems.length).toBeGreaterThan(0);
    expect(cri("rmi", ref).status).toBe(0);
    expect(cri("inspecti", ref).status).not.toBe(0);
  });

  test("nothing half-written is left in the content store", () => {
    const ingest = join(dirs.root, "content", "ingest");
    expect(existsSync(ingest) ? readdirSync(ingest) : []).toEqual([]);
  });
});
