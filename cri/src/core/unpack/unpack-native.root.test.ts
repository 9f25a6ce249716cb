/**
 * skiff-shim's unpack mode on the real kernel: every entry type, whiteouts, long names,
 * a large file, and hostile layers that must write nothing outside the target.
 */
import { beforeAll, beforeEach, afterEach, describe, expect, test } from "@jest/globals";
import { execFileSync, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { TarWriter, tarBuffer, type TarEntry } from "../archive/tar-writer.js";
import { getXattr, hasXattr, unpackCommand } from "./testing/fixtures.js";

let command: string[];
let work: string;
beforeAll(() => {
  command = unpackCommand();
});
beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), "skiff-unpack-"));
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

interface Result {
  code: number | null;
  stderr: string;
  /** the diff id line a success prints */
  stdout: string;
}

function run(target: string, input: Buffer | Readable, flags: string[] = []): Promise<Result> {
  const [file, ...args] = command;
  const child = spawn(file as string, [...args, ...flags, target], { stdio: "pipe" });
  let stderr = "";
  let stdout = "";
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
  child.stdin.on("error", () => undefined);
  if (Buffer.isBuffer(input)) child.stdin.end(input);
  else input.pipe(child.stdin);
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stderr, stdout })));
}

const sha256 = (b: Buffer): string => `sha256:${createHash("sha256").update(b).digest("hex")}\n`;

async function unpack(entries: TarEntry[]): Promise<Result & { root: string }> {
  const root = join(work, "root");
  mkdirSync(root, { recursive: true });
  return { root, ...(await run(root, tarBuffer(entries))) };
}

describe("unpack: entry types", () => {
  test("files, dirs, symlinks, hardlinks, devices, fifos, owners, modes, xattrs, times", async () => {
    const { root, code, stderr } = await unpack([
      { name: "./", type: "directory", mode: 0o755 },
      { name: "etc/", type: "directory", mode: 0o750, uid: 0, gid: 4, mtime: 1_000_000 },
      { name: "etc/passwd", type: "file", body: "root:x:0:0\n", mode: 0o644, mtime: 1_234_567 },
      { name: "bin/su", type: "file", body: "#!", mode: 0o4755, uid: 0, gid: 0 },
      { name: "bin/sgid", type: "file", body: "x", mode: 0o2711, uid: 1000, gid: 1001 },
      { name: "tmp/", type: "directory", mode: 0o1777 },
      { name: "bin/sh", type: "symlink", linkname: "/bin/busybox", uid: 5, gid: 6 },
      { name: "etc/passwd-link", type: "hardlink", linkname: "etc/passwd" },
      { name: "dev/null", type: "chardev", devmajor: 1, devminor: 3, mode: 0o666 },
      { name: "dev/loop9", type: "blockdev", devmajor: 7, devminor: 9, mode: 0o660 },
      { name: "run/fifo", type: "fifo", mode: 0o600 },
      {
        name: "x/attrs",
        type: "file",
        body: "a",
        xattrs: { "user.kind": "plain", "trusted.secret": "t" },
      },
      { name: `deep/${"d".repeat(120)}/${"f".repeat(150)}`, type: "file", body: "long" },
    ]);
    expect(stderr).toMatch(/^unpack: ok 13 entries/);
    expect(code).toBe(0);
    expect(readFileSync(join(root, "etc/passwd"), "utf8")).toBe("root:x:0:0\n");
    expect(statSync(join(root, "etc/passwd")).mtimeMs).toBe(1_234_567_000);
    const etc = statSync(join(root, "etc"));
    expect([etc.mode & 0o7777, etc.gid, etc.mtimeMs]).toEqual([0o750, 4, 1_000_000_000]);
    expect(statSync(join(root, "bin/su")).mode & 0o7777).toBe(0o4755);
    const sgid = statSync(join(root, "bin/sgid"));
    expect([sgid.mode & 0o7777, sgid.uid, sgid.gid]).toEqual([0o2711, 1000, 1001]);
    expect(statSync(join(root, "tmp")).mode & 0o7777).toBe(0o1777);
    expect(readlinkSync(join(root, "bin/sh"))).toBe("/bin/busybox");
    expect([lstatSync(join(root, "bin/sh")).uid, lstatSync(join(root, "bin/sh")).gid]).toEqual([
      5, 6,
    ]);
    expect(statSync(join(root, "etc/passwd-link")).ino).toBe(
      statSync(join(root, "etc/passwd")).ino,
    );
    const dev = statSync(join(root, "dev/null"));
    expect([dev.isCharacterDevice(), dev.rdev, dev.mode & 0o777]).toEqual([true, 0x103, 0o666]);
    expect(statSync(join(root, "dev/loop9")).isBlockDevice()).toBe(true);
    expect(statSync(join(root, "run/fifo")).isFIFO()).toBe(true);
    expect(getXattr(join(root, "x/attrs"), "user.kind")).toBe("plain");
    expect(getXattr(join(root, "x/attrs"), "trusted.secret")).toBe("t");
    expect(readFileSync(join(root, `deep/${"d".repeat(120)}/${"f".repeat(150)}`), "utf8")).toBe(
      "long",
    );
  });

  test("GNU tar's long names and links ('L', 'K') and xattrs from a real tar", async () => {
    const src = join(work, "src");
    const long = `${"n".repeat(90)}/${"m".repeat(90)}/file`;
    mkdirSync(join(src, long, ".."), { recursive: true });
    writeFileSync(join(src, long), "gnu");
    execFileSync("ln", ["-s", `/target/${"t".repeat(150)}`, join(src, "longlink")]);
    const tar = execFileSync("tar", ["--format=gnu", "-C", src, "-cf", "-", "."], {
      maxBuffer: 1 << 26,
    });
    const root = join(work, "root");
    mkdirSync(root);
    const { code, stderr } = await run(root, tar);
    expect(stderr).toMatch(/ok/);
    expect(code).toBe(0);
    expect(readFileSync(join(root, long), "utf8")).toBe("gnu");
    expect(readlinkSync(join(root, "longlink"))).toBe(`/target/${"t".repeat(150)}`);
  });

  test("whiteouts become 0:0 character devices and .wh..wh..opq an opaque directory", async () => {
    const { root, code } = await unpack([
      { name: "etc/.wh.hosts", type: "file", body: "" },
      { name: "var/cache/", type: "directory" },
      { name: "var/cache/.wh..wh..opq", type: "file", body: "" },
      { name: "var/cache/new", type: "file", body: "n" },
      { name: "usr/.wh..wh.plnk", type: "directory" },
    ]);
    expect(code).toBe(0);
    const wh = lstatSync(join(root, "etc/hosts"));
    expect([wh.isCharacterDevice(), wh.rdev, wh.uid, wh.gid]).toEqual([true, 0, 0, 0]);
    expect(readdirSync(join(root, "etc"))).toEqual(["hosts"]);
    expect(getXattr(join(root, "var/cache"), "trusted.overlay.opaque")).toBe("y");
    expect(readdirSync(join(root, "var/cache"))).toEqual(["new"]);
    expect(readdirSync(join(root, "usr"))).toEqual([]);
  });

  test("a later entry replaces an earlier one of another type; a dir over a dir is kept", async () => {
    const { root, code } = await unpack([
      { name: "a", type: "file", body: "file" },
      { name: "a/", type: "directory" },
      { name: "a/x", type: "file", body: "x" },
      { name: "a/", type: "directory", mode: 0o700 },
      { name: "b/c/d", type: "file", body: "d" },
      { name: "b", type: "symlink", linkname: "elsewhere" },
    ]);
    expect(code).toBe(0);
    expect(readFileSync(join(root, "a/x"), "utf8")).toBe("x");
    expect(statSync(join(root, "a")).mode & 0o777).toBe(0o700);
    expect(readlinkSync(join(root, "b"))).toBe("elsewhere");
  });

  test("a 256 MiB file streams through intact", async () => {
    const size = 256 * 1024 * 1024;
    const chunk = Buffer.alloc(1024 * 1024);
    const tar = new TarWriter();
    const expected = createHash("sha256");
    const root = join(work, "root");
    mkdirSync(root);
    const done = run(root, tar.stream);
    await tar.add(
      { name: "big", type: "file", size },
      (async function* () {
        for (let i = 0; i < size / chunk.length; i++) {
          chunk.fill(i & 0xff);
          expected.update(chunk);
          yield Buffer.from(chunk);
        }
      })(),
    );
    await tar.finish();
    const { code } = await done;
    expect(code).toBe(0);
    const got = createHash("sha256");
    got.update(readFileSync(join(root, "big")));
    expect(got.digest("hex")).toBe(expected.digest("hex"));
  });
});

describe("unpack: --gzip and the diff id", () => {
  const tar = tarBuffer([
    { name: "etc/", type: "directory", mode: 0o755 },
    { name: "etc/hostname", type: "file", body: "box\n" },
    { name: "big.bin", type: "file", body: randomBytes(3 * 1024 * 1024) },
  ]);
  const target = (): string => {
    const dir = join(work, `t${readdirSync(work).length}`);
    mkdirSync(dir);
    return dir;
  };

  test("stdout is the sha256 of the whole uncompressed stream, end blocks and padding too", async () => {
    const padded = Buffer.concat([tar, Buffer.alloc(4096)]);
    const dir = target();
    const r = await run(dir, padded);
    expect([r.code, r.stdout]).toEqual([0, sha256(padded)]);
    expect(readFileSync(join(dir, "etc/hostname"), "utf8")).toBe("box\n");
  });

  test("--gzip: one member or several give the files and the tar's digest", async () => {
    const one = await run(target(), gzipSync(tar), ["--gzip"]);
    expect([one.code, one.stdout]).toEqual([0, sha256(tar)]);
    const cut = 700_000;
    const members = Buffer.concat([gzipSync(tar.subarray(0, cut)), gzipSync(tar.subarray(cut))]);
    const dir = target();
    const two = await run(dir, members, ["--gzip"]);
    expect([two.code, two.stdout]).toEqual([0, sha256(tar)]);
    expect(statSync(join(dir, "big.bin")).size).toBe(3 * 1024 * 1024);
  });

  test("--gzip refuses corrupt, truncated and trailing bytes, printing no digest", async () => {
    const gz = gzipSync(tar);
    const corrupt = Buffer.from(gz);
    corrupt.fill(0x55, 2000, 2100);
    const cases: [string, Buffer, RegExp][] = [
      ["corrupt", corrupt, /^unpack: \(archive\): gzip: /],
      ["truncated", gz.subarray(0, gz.length - 100), /archive truncated/],
      ["trailing", Buffer.concat([gz, Buffer.from("garbage")]), /gzip: incorrect header check/],
      ["not gzip", tar, /gzip: incorrect header check/],
    ];
    for (const [name, input, message] of cases) {
      const r = await run(target(), input, ["--gzip"]);
      expect([name, r.code, r.stdout]).toEqual([name, 1, ""]);
      expect(r.stderr).toMatch(message);
    }
  });
});

describe("unpack: hostile layers write nothing outside the target", () => {
  let host: string;
  let secret: string;
  const before = (): string => {
    const st = lstatSync(secret);
    const dir = lstatSync(host);
    return JSON.stringify([
      readFileSync(secret, "utf8"),
      [st.mode, st.uid, st.gid, st.mtimeMs, st.nlink],
      [dir.mode, dir.uid, dir.mtimeMs],
      readdirSync(host),
    ]);
  };
  beforeEach(() => {
    host = join(work, "host");
    mkdirSync(host);
    secret = join(host, "secret");
    writeFileSync(secret, "host data");
    chmodSync(secret, 0o600);
    utimesSync(secret, 1_000_000, 1_000_000);
  });

  const cases: [string, "refused" | "contained", (abs: () => string) => TarEntry[]][] = [
    ["a .. path", "refused", () => [{ name: "../host/secret", type: "file", body: "pwned" }]],
    [
      "a .. path in the middle",
      "refused",
      () => [{ name: "a/../../host/evil", type: "file", body: "pwned" }],
    ],
    [
      "an absolute path",
      "contained",
      (abs) => [{ name: `${abs()}/secret`, type: "file", body: "pwned" }],
    ],
    [
      "a symlink to the host, then a write through it",
      "refused",
      (abs) => [
        { name: "link", type: "symlink", linkname: abs() },
        { name: "link/secret", type: "file", body: "pwned" },
      ],
    ],
    [
      "a relative symlink climbing out, then a write through it",
      "refused",
      () => [
        { name: "d/", type: "directory" },
        { name: "d/up", type: "symlink", linkname: "../../host" },
        { name: "d/up/secret", type: "file", body: "pwned" },
      ],
    ],
    [
      "a symlink to a host file, then a file of the same name",
      "contained",
      (abs) => [
        { name: "f", type: "symlink", linkname: `${abs()}/secret` },
        { name: "f", type: "file", body: "pwned", mode: 0o777 },
      ],
    ],
    [
      "a hardlink to a host file, then a write through it",
      "refused",
      (abs) => [
        { name: "h", type: "hardlink", linkname: `${abs()}/secret` },
        { name: "h", type: "file", body: "pwned" },
      ],
    ],
    [
      "a hardlink climbing out",
      "refused",
      () => [{ name: "h", type: "hardlink", linkname: "../host/secret" }],
    ],
    [
      "a hardlink through a symlink to the host",
      "refused",
      (abs) => [
        { name: "s", type: "symlink", linkname: abs() },
        { name: "h", type: "hardlink", linkname: "s/secret" },
      ],
    ],
    [
      "a chmod of a host path through a symlink (CVE-2021-32760)",
      "contained",
      (abs) => [
        { name: "x", type: "symlink", linkname: `${abs()}/secret` },
        { name: "x", type: "directory", mode: 0o777 },
        { name: "y", type: "symlink", linkname: abs() },
        { name: "y/", type: "directory", mode: 0o777, uid: 1234 },
      ],
    ],
    [
      "a device and a whiteout through a symlink",
      "refused",
      (abs) => [
        { name: "s", type: "symlink", linkname: abs() },
        { name: "s/.wh.secret", type: "file", body: "" },
        { name: "s/.wh..wh..opq", type: "file", body: "" },
      ],
    ],
    ["a whiteout of ..", "refused", () => [{ name: "d/.wh...", type: "file", body: "" }]],
    [
      "a uid that chown would read as 'unchanged'",
      "refused",
      () => [{ name: "f", type: "file", body: "x", uid: 4294967295 }],
    ],
    [
      "a layer carrying overlay xattrs",
      "refused",
      () => [{ name: "d/", type: "directory", xattrs: { "trusted.overlay.redirect": "/host" } }],
    ],
  ];

  test.each(cases)("%s is %s", async (_name, outcome, entries) => {
    const state = before();
    const { root, code, stderr } = await unpack(entries(() => host));
    if (outcome === "refused") {
      expect(code).toBe(1);
      expect(stderr).toMatch(/^unpack: .+: /);
    } else {
      expect(stderr).toMatch(/^unpack: ok/);
      expect(code).toBe(0);
      expect(readdirSync(root).length).toBeGreaterThan(0);
    }
    expect(before()).toBe(state);
    expect(hasXattr(host, "trusted.overlay.opaque")).toBe(false);
    expect(readdirSync(work).sort()).toEqual(["host", "root"]);
  });

  test("a truncated archive and a bad checksum are refused", async () => {
    const tar = tarBuffer([{ name: "f", type: "file", body: "x".repeat(2000) }]);
    const root = join(work, "root");
    mkdirSync(root);
    expect((await run(root, tar.subarray(0, 1024))).code).toBe(1);
    const bad = Buffer.from(tar);
    bad[0] = 0x41;
    const result = await run(root, bad);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/checksum/);
  });
});
