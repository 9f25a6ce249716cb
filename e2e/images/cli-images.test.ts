/**
 * The skiff CLI's image commands against a real skiff-cri and a real registry
 * (Debian's docker-registry on 127.0.0.1): pull (plain and terminal progress), images,
 * inspect, tag, rmi, push (cross-repository mount, pull back by digest), save and load
 * in both archive formats, archives made by hand, and a tampered archive.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tarBuffer, type TarEntry } from "../../cri/src/core/archive/tar-writer.js";
import { rpc } from "../../cri/src/cli/client.js";
import {
  buildImage,
  buildLayer,
  busyboxImage,
  noise,
  pushImage,
  type BuiltImage,
} from "../harness/images.js";
import { startRegistry, type TestRegistry } from "../harness/registry.js";
import {
  bin,
  removeDirs,
  startDaemon,
  tempDirs,
  type DaemonDirs,
  type RunningDaemon,
} from "../harness/skiff-cri.js";
import { runSkiff } from "./cli.js";

let registry: TestRegistry;
let dirs: DaemonDirs;
let daemon: RunningDaemon;
let host: string;
let work: string;
let busybox: BuiltImage;
let app: BuiltImage;

const skiff = (args: string[], options: Parameters<typeof runSkiff>[2] = {}) =>
  runSkiff(dirs.socket, args, options);
const hex = (digest: string) => digest.slice("sha256:".length);
const short = (digest: string) => hex(digest).slice(0, 12);

beforeAll(async () => {
  registry = await startRegistry();
  host = registry.host;
  busybox = busyboxImage("gzip");
  app = buildImage({
    layers: [
      busybox.layers[0]!,
      buildLayer([{ name: "app.bin", type: "file", body: noise(600_000, 7) }]),
    ],
    config: { Labels: { name: "app" } },
  });
  await pushImage(registry, "library/busybox", "latest", busybox);
  await pushImage(registry, "team/app", "1", app);
  dirs = tempDirs("skiff-e2e-cli-");
  daemon = await startDaemon(dirs);
  work = mkdtempSync(join(tmpdir(), "skiff-e2e-cli-work-"));
});

afterAll(async () => {
  await daemon?.stop();
  if (dirs) {
    spawnSync("sh", ["-c", `grep ' ${dirs.dir}' /proc/mounts | cut -d' ' -f2 | xargs -r umount`]);
    removeDirs(dirs);
  }
  if (work) rmSync(work, { recursive: true, force: true });
  await registry?.stop();
});

describe("skiff image commands", () => {
  test("pull shows one plain line per layer status when piped, then the image id", async () => {
    const ref = `${host}/library/busybox`;
    const first = await skiff(["pull", ref]);
    expect(first.stderr).toBe("");
    expect(first.status).toBe(0);
    expect(first.stdout).not.toContain("\x1b[");
    for (const layer of busybox.layers) {
      expect(first.stdout).toContain(`${short(layer.descriptor.digest)}: Pulling fs layer\n`);
      expect(first.stdout).toContain(`${short(layer.descriptor.digest)}: Download complete\n`);
    }
    expect(first.stdout).toContain("Using default tag: latest\n");
    expect(first.stdout).toContain(`Status: Downloaded newer image for ${ref}:latest\n`);
    expect(first.stdout).toContain(`Image ID: ${busybox.config.descriptor.digest}\n`);
    const again = await skiff(["pull", `${ref}:latest`]);
    expect(again.status).toBe(0);
    expect(again.stdout).toContain(
      `${short(busybox.layers[0]!.descriptor.digest)}: Already exists\n`,
    );
    expect(again.stdout).toContain(`Status: Image is up to date for ${ref}:latest\n`);
  });

  test("pull on a terminal redraws each layer's line in place with a progress bar", async () => {
    const ref = `${host}/team/app:1`;
    const command = [
      "script",
      "-qec",
      `${bin("skiff")} --socket ${dirs.socket} pull ${ref}`,
      "/dev/null",
    ];
    const r = await skiff([], { command });
    expect(r.status).toBe(0);
    const esc = "\x1b";
    // cursor up N lines, clear the line, redraw it
    expect(r.stdout).toMatch(new RegExp(`${esc}\\[\\d+A\\r${esc}\\[2K[0-9a-f]{12}: `));
    expect(r.stdout).toContain(`${short(app.layers[0]!.descriptor.digest)}: Already exists`);
    expect(r.stdout).toMatch(/Downloading \[=*>? *\] [\d.]+k?B\/[\d.]+kB/);
    expect(r.stdout).toContain(`Status: Downloaded newer image for ${ref}`);
  });

  test("images lists REPOSITORY TAG IMAGE ID CREATED SIZE; -q and --digests", async () => {
    const r = await skiff(["images"]);
    expect(r.status).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/);
    expect(r.stdout).toMatch(
      new RegExp(
        `${host}/library/busybox\\s+latest\\s+${short(busybox.config.descriptor.digest)}\\s+\\d+ \\w+ ago\\s+[\\d.]+MB`,
      ),
    );
    expect(r.stdout).toMatch(
      new RegExp(`${host}/team/app\\s+1\\s+${short(app.config.descriptor.digest)}`),
    );
    const q = await skiff(["images", "-q"]);
    expect(q.stdout.trim().split("\n").sort()).toEqual(
      [short(busybox.config.descriptor.digest), short(app.config.descriptor.digest)].sort(),
    );
    const d = await skiff(["images", "--digests", `${host}/team/app`]);
    expect(d.stdout.split("\n")[0]).toMatch(/^REPOSITORY\s+TAG\s+DIGEST\s+IMAGE ID/);
    expect(d.stdout).toContain(app.manifest.descriptor.digest);
    expect(d.stdout).not.toContain("busybox");
  });

  test("inspect prints the image as JSON; a missing image is one error line, exit 1", async () => {
    const r = await skiff(["inspect", `${host}/team/app:1`]);
    expect(r.status).toBe(0);
    const [image] = JSON.parse(r.stdout) as {
      Id: string;
      RepoTags: string[];
      Config: { Labels: Record<string, string> };
      RootFS: { Layers: string[] };
    }[];
    expect(image?.Id).toBe(app.config.descriptor.digest);
    expect(image?.RepoTags).toEqual([`${host}/team/app:1`]);
    expect(image?.Config.Labels).toEqual({ name: "app" });
    expect(image?.RootFS.Layers).toEqual(app.layers.map((l) => l.diffId));
    const missing = await skiff(["inspect", `${host}/no/such:1`]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toBe(`skiff: No such image: ${host}/no/such:1\n`);
  });

  test("tag adds names; rmi untags as docker does, an id needs -f when several names", async () => {
    const id = busybox.config.descriptor.digest;
    expect((await skiff(["tag", `${host}/library/busybox`, `${host}/mine/bb:1`])).status).toBe(0);
    expect((await skiff(["tag", id.slice(7, 19), `${host}/mine/bb:2`])).status).toBe(0);
    const tagged = JSON.parse((await skiff(["inspect", id])).stdout)[0] as { RepoTags: string[] };
    expect(tagged.RepoTags.sort()).toEqual(
      [`${host}/library/busybox:latest`, `${host}/mine/bb:1`, `${host}/mine/bb:2`].sort(),
    );
    const untag = await skiff(["rmi", `${host}/mine/bb:1`]);
    expect(untag.stdout).toBe(`Untagged: ${host}/mine/bb:1\n`);
    const refused = await skiff(["rmi", short(id)]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/must be forced.*referenced in multiple repositories\n$/);
    const noSuch = await skiff(["rmi", `${host}/mine/bb:9`]);
    expect(noSuch.status).toBe(1);
    expect(noSuch.stderr).toBe(`skiff: No such image: ${host}/mine/bb:9\n`);
    expect((await skiff(["rmi", "-f", `${host}/mine/bb:9`])).status).toBe(0);
    // the last name of an image takes the image with it
    await skiff(["tag", `${host}/team/app:1`, `${host}/only/name:1`]);
    await skiff(["rmi", `${host}/team/app:1`]);
    const last = await skiff(["rmi", `${host}/only/name:1`]);
    expect(last.stdout).toBe(
      `Untagged: ${host}/only/name:1\nDeleted: ${app.config.descriptor.digest}\n`,
    );
    const forced = await skiff(["rmi", "-f", id]);
    expect(forced.status).toBe(0);
    expect(forced.stdout).toContain(`Deleted: ${id}\n`);
    expect((await skiff(["images", "-q"])).stdout).toBe("");
    const tagMissing = await skiff(["tag", `${host}/gone:1`, `${host}/x:1`]);
    expect(tagMissing.status).toBe(1);
    expect(tagMissing.stderr).toMatch(/^skiff: image .* not found\n$/);
  });

  test("push to another repository mounts shared blobs; the image pulls back by digest", async () => {
    await skiff(["pull", "-q", `${host}/team/app:1`]);
    await skiff(["pull", "-q", `${host}/library/busybox`]);
    expect((await skiff(["tag", `${host}/team/app:1`, `${host}/pushed/app:v2`])).status).toBe(0);
    const r = await skiff(["push", `${host}/pushed/app:v2`]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const digest = /v2: digest: (sha256:[0-9a-f]{64})\n$/.exec(r.stdout)?.[1] as string;
    expect(digest).toBe(app.manifest.descriptor.digest);
    for (const blob of [...app.layers, app.config])
      expect(r.stdout).toContain(
        `${short(blob.descriptor.digest)}: Mounted from another repository\n`,
      );
    expect(registry.logs()).toMatch(
      /POST \/v2\/pushed\/app\/blobs\/uploads\/\?(from=team%2Fapp&)?mount=/,
    );
    // the pushed digest is now a name of the image
    const st = JSON.parse((await skiff(["inspect", `${host}/pushed/app:v2`])).stdout)[0];
    expect(st.RepoDigests).toContain(`${host}/pushed/app@${digest}`);
    // a fresh layer is uploaded, the shared one found in place
    const fresh = buildImage({
      layers: [busybox.layers[0]!, buildLayer([{ name: "new.txt", type: "file", body: "new\n" }])],
    });
    await pushImage(registry, "scratch/fresh", "1", fresh);
    await skiff(["pull", "-q", `${host}/scratch/fresh:1`]);
    await skiff(["tag", `${host}/scratch/fresh:1`, `${host}/pushed/app:v3`]);
    const second = await skiff(["push", `${host}/pushed/app:v3`]);
    expect(second.stdout).toContain(
      `${short(busybox.layers[0]!.descriptor.digest)}: Layer already exists\n`,
    );
    // pull back by digest after removing every local name
    for (const name of [`${host}/team/app:1`, `${host}/pushed/app:v2`])
      await skiff(["rmi", "-f", name]);
    await skiff(["rmi", "-f", app.config.descriptor.digest]);
    const back = await skiff(["pull", `${host}/pushed/app@${digest}`]);
    expect(back.status).toBe(0);
    expect(back.stdout).toContain(`Image ID: ${app.config.descriptor.digest}\n`);
    const bad = await skiff(["push", short(app.config.descriptor.digest)]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/name the image/);
  });

  test("save then load round-trips in OCI layout and docker-archive formats", async () => {
    const leftovers = (await skiff(["images", "-q"])).stdout.split("\n").filter(Boolean);
    if (leftovers.length > 0) await skiff(["rmi", "-f", ...leftovers]);
    await skiff(["pull", "-q", `${host}/library/busybox`]);
    await skiff(["pull", "-q", `${host}/team/app:1`]);
    const images = [`${host}/library/busybox`, `${host}/team/app:1`];
    const oci = join(work, "both.oci.tar");
    const saved = await skiff(["save", "-o", oci, ...images]);
    expect(saved.stderr).toBe("");
    expect(saved.status).toBe(0);
    const listing = spawnSync("tar", ["-tf", oci], { encoding: "utf8" }).stdout.split("\n");
    expect(listing).toEqual(expect.arrayContaining(["oci-layout", "index.json"]));
    for (const blob of [
      busybox.manifest,
      busybox.config,
      ...busybox.layers,
      app.manifest,
      ...app.layers,
    ])
      expect(listing).toContain(`blobs/sha256/${hex(blob.descriptor.digest)}`);
    const index = JSON.parse(
      spawnSync("tar", ["-xOf", oci, "index.json"], { encoding: "utf8" }).stdout,
    );
    expect(
      index.manifests.map(
        (m: { annotations: Record<string, string> }) => m.annotations["io.containerd.image.name"],
      ),
    ).toEqual([`${host}/library/busybox:latest`, `${host}/team/app:1`]);
    // docker format, written to stdout through a pipe
    const docker = await skiff(["save", "--format", "docker", ...images]);
    expect(docker.status).toBe(0);
    const dockerFile = join(work, "both.docker.tar");
    writeFileSync(dockerFile, docker.raw);
    const manifest = JSON.parse(
      spawnSync("tar", ["-xOf", dockerFile, "manifest.json"], { encoding: "utf8" }).stdout,
    );
    expect(manifest).toEqual([
      {
        Config: `blobs/sha256/${hex(busybox.config.descriptor.digest)}`,
        RepoTags: [`${host}/library/busybox:latest`],
        Layers: busybox.layers.map((l) => `blobs/sha256/${hex(l.descriptor.digest)}`),
      },
      {
        Config: `blobs/sha256/${hex(app.config.descriptor.digest)}`,
        RepoTags: [`${host}/team/app:1`],
        Layers: app.layers.map((l) => `blobs/sha256/${hex(l.descriptor.digest)}`),
      },
    ]);
    for (const [file, viaStdin] of [
      [oci, false],
      [dockerFile, true],
    ] as const) {
      for (const image of images) await skiff(["rmi", "-f", image]);
      expect((await skiff(["images", "-q"])).stdout).toBe("");
      const loaded = viaStdin
        ? await skiff(["load"], { input: readFileSync(file) })
        : await skiff(["load", "-i", file]);
      expect(loaded.stderr).toBe("");
      expect(loaded.stdout).toBe(
        `Loaded image: ${host}/library/busybox:latest\nLoaded image: ${host}/team/app:1\n`,
      );
      const st = JSON.parse((await skiff(["inspect", `${host}/team/app:1`])).stdout)[0];
      expect(st.Id).toBe(app.config.descriptor.digest);
    }
    expect(readdirSync(join(dirs.root, "tmp"))).toEqual([]);
  });

  test("save refuses unknown images and formats with one line", async () => {
    const r = await skiff(["save", "-o", join(work, "x.tar"), `${host}/nothing:1`]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`skiff: image ${host}/nothing:1 not found\n`);
    expect(existsSync(join(work, "x.tar"))).toBe(false);
    const f = await skiff(["save", "--format", "zip", `${host}/team/app:1`]);
    expect(f.status).toBe(1);
    expect(f.stderr).toBe('skiff: save: --format is oci or docker, not "zip"\n');
  });

  test("a docker save archive written by hand (<id>.json, <dir>/layer.tar) loads", async () => {
    const layerTar = tarBuffer([
      { name: "hand", type: "directory" },
      { name: "hand/made.txt", type: "file", body: "made by hand\n" },
    ]);
    const layer = buildLayer(
      [
        { name: "hand", type: "directory" },
        { name: "hand/made.txt", type: "file", body: "made by hand\n" },
      ],
      "none",
      "docker",
    );
    expect(layer.bytes.equals(layerTar)).toBe(true);
    const image = buildImage({
      flavour: "docker",
      layers: [busybox.layers[0]!, layer],
      config: { Labels: { by: "hand" } },
    });
    const busyboxTar = spawnSync("gunzip", ["-c"], { input: busybox.layers[0]!.bytes }).stdout;
    const entries: TarEntry[] = [
      {
        name: `${hex(image.config.descriptor.digest)}.json`,
        type: "file",
        body: image.config.bytes,
      },
      { name: "aaaa", type: "directory" },
      { name: "aaaa/layer.tar", type: "file", body: busyboxTar },
      { name: "bbbb", type: "directory" },
      { name: "bbbb/layer.tar", type: "file", body: layerTar },
      {
        name: "manifest.json",
        type: "file",
        body: JSON.stringify([
          {
            Config: `${hex(image.config.descriptor.digest)}.json`,
            RepoTags: ["hand/made:1"],
            Layers: ["aaaa/layer.tar", "bbbb/layer.tar"],
          },
        ]),
      },
      { name: "repositories", type: "file", body: '{"hand/made":{"1":"bbbb"}}' },
    ];
    const r = await skiff(["load"], { input: tarBuffer(entries) });
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("Loaded image: docker.io/hand/made:1\n");
    const st = JSON.parse((await skiff(["inspect", "hand/made:1"])).stdout)[0];
    expect(st.Id).toBe(image.config.descriptor.digest);
    expect(st.Config.Labels).toEqual({ by: "hand" });
    const listed = await skiff(["images", "hand/made"]);
    expect(listed.stdout).toMatch(/\nhand\/made\s+1\s+/);
    // and it saves again, layers as loaded
    const again = await skiff(["save", "--format", "docker", "hand/made:1"]);
    expect(again.status).toBe(0);
  });

  test("an OCI layout written by hand loads; a flipped byte in a layer is DataLoss and leaves nothing", async () => {
    const image = buildImage({
      layers: [buildLayer([{ name: "oci.txt", type: "file", body: noise(50_000, 3) }])],
      config: { Labels: { by: "hand-oci" } },
    });
    const layout = (tamper: boolean): Buffer => {
      const layerBytes = Buffer.from(image.layers[0]!.bytes);
      if (tamper) layerBytes[100] = layerBytes[100]! ^ 0xff;
      const blob = (digest: string, body: Buffer): TarEntry => ({
        name: `blobs/sha256/${hex(digest)}`,
        type: "file",
        body,
      });
      return tarBuffer([
        { name: "oci-layout", type: "file", body: '{"imageLayoutVersion":"1.0.0"}' },
        {
          name: "index.json",
          type: "file",
          body: JSON.stringify({
            schemaVersion: 2,
            manifests: [
              {
                ...image.manifest.descriptor,
                annotations: { "org.opencontainers.image.ref.name": `${host}/hand/oci:7` },
              },
            ],
          }),
        },
        blob(image.manifest.descriptor.digest, image.manifest.bytes),
        blob(image.config.descriptor.digest, image.config.bytes),
        blob(image.layers[0]!.descriptor.digest, layerBytes),
      ]);
    };
    const bad = await skiff(["load"], { input: layout(true) });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(
      /^skiff: archive: blobs\/sha256\/[0-9a-f]{64}: content sha256:[0-9a-f]{64}: the data hashes to sha256:[0-9a-f]{64}\n$/,
    );
    const missing = await rpc<{ image: unknown }>(daemon.clients.image, "ImageStatus", {
      image: { image: `${host}/hand/oci:7` },
    });
    expect(missing.image).toBeNull();
    expect(
      existsSync(
        join(dirs.root, "content", "blobs", "sha256", hex(image.layers[0]!.descriptor.digest)),
      ),
    ).toBe(false);
    expect(readdirSync(join(dirs.root, "content", "ingest"))).toEqual([]);
    const good = await skiff(["load"], { input: layout(false) });
    expect(good.stdout).toBe(`Loaded image: ${host}/hand/oci:7\n`);
    const garbage = await skiff(["load"], { input: Buffer.alloc(3000, 1) });
    expect(garbage.status).toBe(1);
    expect(garbage.stderr).toMatch(/^skiff: archive: .*\n$/);
  });

  test("a load cancelled mid-stream records nothing and leaves no spool file", async () => {
    const archive = await skiff(["save", `${host}/library/busybox`]);
    expect(archive.status).toBe(0);
    await skiff(["rmi", "-f", `${host}/library/busybox`]);
    const call = daemon.clients.images.Load(() => undefined);
    call.write({ data: archive.raw.subarray(0, archive.raw.length >> 1) });
    await new Promise((r) => setTimeout(r, 300));
    call.cancel();
    const deadline = Date.now() + 5000;
    while (readdirSync(join(dirs.root, "tmp")).length > 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    expect(readdirSync(join(dirs.root, "tmp"))).toEqual([]);
    const st = await rpc<{ image: unknown }>(daemon.clients.image, "ImageStatus", {
      image: { image: `${host}/library/busybox` },
    });
    expect(st.image).toBeNull();
  });

  test("errors are one clear line and exit 1", async () => {
    const r = await skiff(["pull", `${host}/nope/nothing:1`]);
    expect(r.status).toBe(1);
    expect(r.stderr.split("\n")).toHaveLength(2);
    expect(r.stderr).toMatch(/^skiff: .*nope\/nothing/);
    const down = await runSkiff(join(work, "no.sock"), ["images"]);
    expect(down.status).toBe(1);
    expect(down.stderr).toMatch(/^skiff: cannot reach skiff-cri on .*no\.sock \(is it running\?\)/);
    const usage = await skiff(["pull"]);
    expect(usage.status).toBe(1);
    expect(usage.stderr).toBe("skiff: pull: give one image, e.g. skiff pull busybox:1.36\n");
  });
});
