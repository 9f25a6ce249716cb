import { afterEach, beforeEach, expect, test } from "@jest/globals";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseGroup, parsePasswd, readImageUsers, resolveInRoot, resolveUser } from "./users.js";

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "skiff-users-"));
  mkdirSync(join(root, "etc"));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

test("symlinks resolve inside the root, never to the host", () => {
  symlinkSync("/etc/hostname", join(root, "etc", "passwd")); // absolute: means the image's /etc/hostname
  symlinkSync("../../../../../etc/shadow", join(root, "etc", "group"));
  expect(resolveInRoot(root, "/etc/passwd")).toBe(join(root, "etc", "hostname"));
  expect(resolveInRoot(root, "/etc/group")).toBe(join(root, "etc", "shadow"));
  expect(readImageUsers(root)).toEqual({ passwd: [], group: [] });
});

test("a symlink loop is an error, not a hang", () => {
  symlinkSync("b", join(root, "etc", "a"));
  symlinkSync("a", join(root, "etc", "b"));
  expect(() => resolveInRoot(root, "/etc/a")).toThrow(/too many levels/);
});

test("USER strings resolve as Docker does", () => {
  writeFileSync(
    join(root, "etc", "passwd"),
    "root:x:0:0::/root:/bin/sh\napp:x:1000:1001:App:/home/app:/bin/sh\nbroken line\n",
  );
  writeFileSync(join(root, "etc", "group"), "root:x:0:\napp:x:1001:\nwheel:x:10:app,root\n");
  const users = readImageUsers(root);
  expect(resolveUser("app", users)).toEqual({
    uid: 1000,
    gid: 1001,
    additionalGids: [10],
    home: "/home/app",
  });
  expect(resolveUser("1000", users)).toMatchObject({ uid: 1000, gid: 1001 });
  expect(resolveUser("4242", users)).toEqual({ uid: 4242, gid: 0, additionalGids: [], home: "/" });
  expect(resolveUser("app:root", users)).toMatchObject({ uid: 1000, gid: 0 });
  expect(resolveUser("4242:77", users)).toMatchObject({ uid: 4242, gid: 77 });
  expect(() => resolveUser("ghost", users)).toThrow(/no user "ghost"/);
  expect(() => resolveUser("app:ghosts", users)).toThrow(/no group "ghosts"/);
});

test("malformed lines are skipped", () => {
  expect(parsePasswd("a:x:notnum:0::/:/bin/sh\n\nb:x:1:2")).toEqual([
    { name: "b", uid: 1, gid: 2, home: "/" },
  ]);
  expect(parseGroup("g:x:5:u1,u2\nbad")).toEqual([{ name: "g", gid: 5, members: ["u1", "u2"] }]);
});
