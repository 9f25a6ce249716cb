// Named network namespaces on the real kernel (as root): created with loopback up,
// distinct from the host's, listed, removed idempotently, crash debris cleaned.
import { afterAll, beforeAll, expect, test } from "@jest/globals";
import { execFile } from "node:child_process";
import { mkdtempSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { NetnsManager, mountPoints } from "./netns.js";

const run = promisify(execFile);
let dir: string;
let netns: NetnsManager;

beforeAll(() => {
  dir = join(mkdtempSync(join(tmpdir(), "skiff-netns-")), "netns");
  netns = new NetnsManager({ dir });
});

afterAll(async () => {
  for (const e of netns.list()) await netns.remove(e.name).catch(() => undefined);
  rmSync(join(dir, ".."), { recursive: true, force: true });
});

const inNs = async (path: string, ...argv: string[]): Promise<string> =>
  (await run("nsenter", [`--net=${path}`, ...argv])).stdout;

test("create makes a new network namespace with only loopback, and it up", async () => {
  const path = await netns.create("pod-a");
  expect(path).toBe(join(dir, "pod-a"));
  expect(mountPoints().has(path)).toBe(true);
  const hostNs = readlinkSync("/proc/self/ns/net");
  const inode = statSync(path).ino;
  expect(`net:[${inode}]`).not.toBe(hostNs);
  const links = await inNs(path, "ip", "-o", "link", "show");
  expect(links.trim().split("\n")).toHaveLength(1);
  expect(links).toMatch(/^1: lo: <LOOPBACK,UP,LOWER_UP>/);
  expect(await inNs(path, "ip", "-o", "addr", "show", "lo")).toContain("inet 127.0.0.1/8");
  expect(netns.exists("pod-a")).toBe(true);
});

test("a second create of the same name is AlreadyExists; bad names are refused", async () => {
  await expect(netns.create("pod-a")).rejects.toMatchObject({ kind: "AlreadyExists" });
  await expect(netns.create("../etc")).rejects.toMatchObject({ kind: "InvalidArgument" });
  await expect(netns.create("")).rejects.toMatchObject({ kind: "InvalidArgument" });
});

test("list reports live namespaces and crash debris; remove cleans both, twice is fine", async () => {
  await netns.create("pod-b");
  writeFileSync(join(dir, "pod-debris"), "");
  expect(netns.list()).toEqual([
    { name: "pod-a", path: join(dir, "pod-a"), mounted: true },
    { name: "pod-b", path: join(dir, "pod-b"), mounted: true },
    { name: "pod-debris", path: join(dir, "pod-debris"), mounted: false },
  ]);
  for (const name of ["pod-a", "pod-b", "pod-debris"]) {
    await netns.remove(name);
    await netns.remove(name);
  }
  expect(netns.list()).toEqual([]);
  expect([...mountPoints()].filter((m) => m.startsWith(dir))).toEqual([]);
  await netns.remove("never-existed");
});

test("a debris file is reused by create", async () => {
  writeFileSync(join(dir, "pod-c"), "");
  await netns.create("pod-c");
  expect(netns.list()).toEqual([{ name: "pod-c", path: join(dir, "pod-c"), mounted: true }]);
  await netns.remove("pod-c");
});
