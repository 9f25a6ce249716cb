/**
 * Pulls that must not be trusted blindly, through a real skiff-cri:
 *   - skiff login / logout against a registry with htpasswd basic auth (and a token
 *     server), the daemon reading the config.json the CLI writes;
 *   - hostile layers ("../escape", a symlink then a write through it): InvalidArgument,
 *     nothing written outside, no image;
 *   - a registry that lies about a blob's bytes: DataLoss, no image, no blob;
 *   - SIGKILL of skiff-cri while a big layer streams (stalled by a proxy), a restart,
 *     and a pull that then gives a verified image and no stray files.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { status } from "@grpc/grpc-js";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { rpc } from "../../cri/src/cli/client.js";
import { buildImage, buildLayer, busyboxImage, noise, pushImage } from "../harness/images.js";
import { startBlobProxy, type BlobProxy } from "../harness/proxies.js";
import { startRegistry, type TestRegistry } from "../harness/registry.js";
import {
  removeDirs,
  startDaemon,
  tempDirs,
  type DaemonDirs,
  type RunningDaemon,
} from "../harness/skiff-cri.js";
import { runSkiff } from "./cli.js";

const user = { username: "alice", password: "s3cret-pass" };
let plain: TestRegistry;
let basic: TestRegistry;
let token: TestRegistry;
let dirs: DaemonDirs;
let daemon: RunningDaemon;
let work: string;
let dockerConfig: string;
const proxies: BlobProxy[] = [];

const env = () => ({ SKIFF_DOCKER_CONFIG: dockerConfig });
const skiff = (args: string[], options: Parameters<typeof runSkiff>[2] = {}) =>
  runSkiff(dirs.socket, args, { ...options, env: { ...env(), ...options.env } });
const pullImage = (image: string) =>
  rpc<{ image_ref: string }>(daemon.clients.image, "PullImage", { image: { image } });
const imageStatus = (image: string) =>
  rpc<{ image: { id: string } | null }>(daemon.clients.image, "ImageStatus", { image: { image } });

function start(): Promise<RunningDaemon> {
  const saved = process.env["SKIFF_DOCKER_CONFIG"];
  process.env["SKIFF_DOCKER_CONFIG"] = dockerConfig;
  try {
    return startDaemon(dirs);
  } finally {
    if (saved === undefined) delete process.env["SKIFF_DOCKER_CONFIG"];
    else process.env["SKIFF_DOCKER_CONFIG"] = saved;
  }
}

/** What a crash or a failed pull must not leave: half-written blobs, staging snapshots. */
function strays(): string[] {
  const ingest = join(dirs.root, "content", "ingest");
  const found = existsSync(ingest) ? readdirSync(ingest).map((f) => `ingest/${f}`) : [];
  const out = spawnSync(
    "sh",
    [
      "-c",
      `find ${join(dirs.root, "snapshots")} ${join(dirs.root, "tmp")} -maxdepth 3 2>/dev/null`,
    ],
    {
      encoding: "utf8",
    },
  ).stdout;
  found.push(...out.split("\n").filter((l) => /extract-|load-/.test(l)));
  const rows = spawnSync(
    "sqlite3",
    [join(dirs.root, "skiff.db"), "SELECT id || ' ' || kind || ' ' || key FROM snapshots"],
    { encoding: "utf8" },
  );
  if (rows.status !== 0) throw new Error(`sqlite3: ${rows.stderr}`);
  const known = new Map(
    rows.stdout
      .split("\n")
      .filter(Boolean)
      .map((l) => [l.split(" ")[0] as string, l] as const),
  );
  for (const row of known.values()) if (!/^\d+ committed /.test(row)) found.push(`snapshot ${row}`);
  const snapshotDirs = join(dirs.root, "snapshots");
  for (const d of existsSync(snapshotDirs) ? readdirSync(snapshotDirs) : [])
    if (!known.has(d)) found.push(`snapshots/${d}`);
  return found;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "skiff-e2e-trust-"));
  dockerConfig = join(work, "docker", "config.json");
  [plain, basic, token] = await Promise.all([
    startRegistry(),
    startRegistry({ htpasswd: user }),
    startRegistry({ token: { users: { [user.username]: { password: user.password } } } }),
  ]);
  await pushImage(basic, "private/busybox", "1", busyboxImage());
  await pushImage(token, "private/busybox", "1", busyboxImage());
  dirs = tempDirs("skiff-e2e-trust-");
  daemon = await start();
});

/** SIGTERM, then SIGKILL if skiff-cri has not exited within 10 s (its output is kept for the report). */
async function stopDaemon(): Promise<void> {
  if (!daemon) return;
  const stopped = daemon.stop();
  const late = await Promise.race([
    stopped.then(() => false),
    new Promise<boolean>((r) => setTimeout(() => r(true), 10_000).unref()),
  ]);
  if (late) {
    process.stderr.write(`skiff-cri did not exit on SIGTERM:\n${daemon.output().slice(-4000)}\n`);
    daemon.process.kill("SIGKILL");
    await stopped;
  }
}

afterAll(async () => {
  await stopDaemon();
  for (const p of proxies) await p.stop();
  if (dirs) {
    spawnSync("sh", ["-c", `grep ' ${dirs.dir}' /proc/mounts | cut -d' ' -f2 | xargs -r umount`]);
    removeDirs(dirs);
  }
  if (work) rmSync(work, { recursive: true, force: true });
  await Promise.all([plain?.stop(), basic?.stop(), token?.stop()]);
});

describe("skiff login and logout", () => {
  test("a private image needs login; login writes config.json; logout makes the pull Unauthenticated", async () => {
    const image = `${basic.host}/private/busybox:1`;
    await expect(pullImage(image)).rejects.toMatchObject({ code: status.UNAUTHENTICATED });
    const wrong = await skiff(["login", "-u", user.username, "-p", "nope", basic.host]);
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toBe(
      `skiff: login ${basic.host}: unauthorized: incorrect username or password\n`,
    );
    expect(existsSync(dockerConfig)).toBe(false);

    const ok = await skiff(["login", "-u", user.username, "--password-stdin", basic.host], {
      input: `${user.password}\n`,
    });
    expect(ok.stderr).toBe("");
    expect(ok.stdout).toBe("Login Succeeded\n");
    const config = JSON.parse(readFileSync(dockerConfig, "utf8"));
    expect(config.auths[basic.host].auth).toBe(
      Buffer.from(`${user.username}:${user.password}`).toString("base64"),
    );
    expect(statSync(dockerConfig).mode & 0o777).toBe(0o600);
    const pulled = await skiff(["pull", image]);
    expect(pulled.stderr).toBe("");
    expect(pulled.status).toBe(0);

    const out = await skiff(["logout", basic.host]);
    expect(out.stdout).toBe(`Removing login credentials for ${basic.host}\n`);
    expect(JSON.parse(readFileSync(dockerConfig, "utf8")).auths).toEqual({});
    expect((await skiff(["rmi", image])).status).toBe(0);
    await expect(pullImage(image)).rejects.toMatchObject({ code: status.UNAUTHENTICATED });
    const cli = await skiff(["pull", image]);
    expect(cli.status).toBe(1);
    expect(cli.stderr).toMatch(/^skiff: .*asks for a username and password.*\n$/);
    expect((await skiff(["logout", basic.host])).stdout).toBe(`Not logged in to ${basic.host}\n`);
  });

  test("login to a registry with token auth checks the password at the token server", async () => {
    const bad = await skiff(["login", "-u", user.username, "-p", "wrong", token.host]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/incorrect username or password/);
    const ok = await skiff(["login", "-u", user.username, "-p", user.password, token.host]);
    expect(ok.stdout).toBe("Login Succeeded\n");
    const pulled = await skiff(["pull", "-q", `${token.host}/private/busybox:1`]);
    expect(pulled.stderr).toBe("");
    expect(pulled.status).toBe(0);
    await skiff(["logout", token.host]);
  });
});

describe("untrusted registries", () => {
  test("hostile layers are refused with InvalidArgument and write nothing outside", async () => {
    const outside = mkdtempSync(join(tmpdir(), "skiff-e2e-outside-"));
    try {
      const climbing = buildImage({
        layers: [
          buildLayer([
            { name: "../../../../../../../../escape-skiff-e2e", type: "file", body: "x" },
          ]),
        ],
      });
      const through = buildImage({
        layers: [
          buildLayer([
            { name: "evil", type: "symlink", linkname: outside },
            { name: "evil/pwned", type: "file", body: "pwned" },
          ]),
        ],
      });
      await pushImage(plain, "hostile/climb", "1", climbing);
      await pushImage(plain, "hostile/symlink", "1", through);
      for (const name of ["climb", "symlink"]) {
        const image = `${plain.host}/hostile/${name}:1`;
        await expect(pullImage(image)).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
        expect((await imageStatus(image)).image).toBeNull();
      }
      expect(readdirSync(outside)).toEqual([]);
      expect(existsSync("/escape-skiff-e2e")).toBe(false);
      expect(existsSync(join(dirs.root, "escape-skiff-e2e"))).toBe(false);
      expect(strays()).toEqual([]);
    } finally {
      rmSync(outside, { recursive: true, force: true });
      rmSync("/escape-skiff-e2e", { force: true });
    }
  });

  test("a registry that lies about a blob's bytes gives DataLoss and leaves no image", async () => {
    const image = buildImage({
      layers: [buildLayer([{ name: "data", type: "file", body: noise(200_000, 9) }])],
    });
    await pushImage(plain, "lying/image", "1", image);
    const liar = await startBlobProxy(plain.url, { flipBlobByte: 1000 });
    proxies.push(liar);
    const ref = `${liar.host}/lying/image:1`;
    await expect(pullImage(ref)).rejects.toMatchObject({ code: status.DATA_LOSS });
    expect((await imageStatus(ref)).image).toBeNull();
    expect(
      existsSync(
        join(dirs.root, "content", "blobs", "sha256", image.layers[0]!.descriptor.digest.slice(7)),
      ),
    ).toBe(false);
    expect(strays()).toEqual([]);
    const cli = await skiff(["pull", ref]);
    expect(cli.status).toBe(1);
    expect(cli.stderr.trimEnd().split("\n")).toHaveLength(1);
  });

  test("SIGKILL of skiff-cri mid-pull, restart, pull again: a verified image, no stray files", async () => {
    const big = noise(24 << 20, 11);
    const image = buildImage({
      layers: [buildLayer([{ name: "big.bin", type: "file", body: big }], "none")],
    });
    await pushImage(plain, "big/image", "1", image);
    const staller = await startBlobProxy(plain.url, { stallBlobAfter: 4 << 20 });
    proxies.push(staller);
    const ref = `${staller.host}/big/image:1`;
    const layer = image.layers[0]!.descriptor.digest;
    const pulling = pullImage(ref).catch((err: unknown) => err);
    const deadline = Date.now() + 20_000;
    while ((staller.blobBytes.get(layer) ?? 0) < 4 << 20) {
      if (Date.now() > deadline) throw new Error("the layer never streamed");
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 200)); // the daemon is writing the ingest file
    expect(readdirSync(join(dirs.root, "content", "ingest")).length).toBeGreaterThan(0);
    expect(await daemon.stop("SIGKILL")).toBeNull();
    expect(await pulling).toMatchObject({ code: status.UNAVAILABLE });
    expect(strays().some((s) => / active extract-/.test(s))).toBe(true); // what the crash left

    daemon = await start();
    expect(strays().filter((s) => !s.startsWith("ingest/"))).toEqual([]);
    const pulled = await pullImage(ref);
    expect(pulled.image_ref).toBe(image.config.descriptor.digest);
    const st = await rpc<{ image: { id: string }; info: Record<string, string> }>(
      daemon.clients.image,
      "ImageStatus",
      { image: { image: ref }, verbose: true },
    );
    expect(st.image.id).toBe(image.config.descriptor.digest);
    expect(strays()).toEqual([]);
    // the layer's file is whole in its snapshot
    const found = spawnSync("find", [join(dirs.root, "snapshots"), "-name", "big.bin"], {
      encoding: "utf8",
    }).stdout.trim();
    expect(found).not.toBe("");
    expect(readFileSync(found.split("\n")[0]!).equals(big)).toBe(true);
  });
});
