import { afterEach, beforeEach, expect, test } from "@jest/globals";
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeDirs } from "./make-dirs.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "skiff-mkdirs-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test("creates every missing level and returns the outermost one it made", () => {
  expect(makeDirs(join(dir, "a", "b", "c"), 0o700)).toBe(join(dir, "a"));
  expect(statSync(join(dir, "a", "b", "c")).mode & 0o777).toBe(0o700);
  expect(makeDirs(join(dir, "a", "b", "c"))).toBeUndefined();
});

test("a file in the way is an error naming the path", () => {
  writeFileSync(join(dir, "f"), "");
  expect(() => makeDirs(join(dir, "f", "x"))).toThrow(`create directory ${join(dir, "f", "x")}`);
});

test("a path under /proc fails at once instead of spinning", () => {
  expect(() => makeDirs("/proc/skiff-test/x")).toThrow(/create directory \/proc\/skiff-test/);
  expect(existsSync("/proc/skiff-test")).toBe(false);
});
