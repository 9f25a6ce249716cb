/**
 * Users and groups of an image: /etc/passwd and /etc/group read inside a root
 * filesystem (symlinks resolved within the root, never to the host), and the
 * resolution of a USER string ("name", "uid", "name:group", "uid:gid") as Docker does.
 */
import { lstatSync, readFileSync, readlinkSync } from "node:fs";
import { join, posix } from "node:path";
import { invalidArgument } from "../errors.js";

/** Resolves `path` inside `root` as if root were /, following symlinks within it. */
export function resolveInRoot(root: string, path: string): string {
  let current = "/";
  const pending = path.split("/").filter((p) => p !== "" && p !== ".");
  let hops = 0;
  while (pending.length > 0) {
    const part = pending.shift() as string;
    if (part === "..") {
      current = posix.dirname(current);
      continue;
    }
    const next = posix.join(current, part);
    let isLink: boolean;
    try {
      isLink = lstatSync(join(root, next)).isSymbolicLink();
    } catch {
      current = next;
      continue;
    }
    if (!isLink) {
      current = next;
      continue;
    }
    if (++hops > 40)
      throw invalidArgument(`${path}: too many levels of symbolic links in the image`);
    const target = readlinkSync(join(root, next));
    pending.unshift(...target.split("/").filter((p) => p !== "" && p !== "."));
    current = target.startsWith("/") ? "/" : current;
  }
  return join(root, current);
}

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

function readInRoot(root: string, path: string): string {
  try {
    return readFileSync(resolveInRoot(root, path), "utf8");
  } catch {
    return "";
  }
}

export function parsePasswd(text: string): PasswdEntry[] {
  return text
    .split("\n")
    .map((line) => line.split(":"))
    .filter((f) => f.length >= 4 && /^\d+$/.test(f[2] ?? "") && /^\d+$/.test(f[3] ?? ""))
    .map((f) => ({
      name: f[0] as string,
      uid: Number(f[2]),
      gid: Number(f[3]),
      home: f[5] ?? "/",
    }));
}

export function parseGroup(text: string): GroupEntry[] {
  return text
    .split("\n")
    .map((line) => line.split(":"))
    .filter((f) => f.length >= 3 && /^\d+$/.test(f[2] ?? ""))
    .map((f) => ({
      name: f[0] as string,
      gid: Number(f[2]),
      members: (f[3] ?? "").split(",").filter((m) => m !== ""),
    }));
}

export interface ImageUsers {
  passwd: PasswdEntry[];
  group: GroupEntry[];
}

export function readImageUsers(rootfs: string): ImageUsers {
  return {
    passwd: parsePasswd(readInRoot(rootfs, "/etc/passwd")),
    group: parseGroup(readInRoot(rootfs, "/etc/group")),
  };
}

export interface ResolvedUser {
  uid: number;
  gid: number;
  /** Groups /etc/group lists the user in (by name), for the supplementary set. */
  additionalGids: number[];
  home: string;
}

/**
 * Docker's USER semantics: a name must exist in /etc/passwd; a number need not (then
 * gid 0 unless a group is given); a group may be a name (must exist) or a number.
 */
export function resolveUser(spec: string, users: ImageUsers, field = "user"): ResolvedUser {
  const [userPart = "", groupPart] = spec.split(":", 2);
  let uid: number;
  let gid = 0;
  let home = "/";
  let name: string | undefined;
  if (/^\d+$/.test(userPart)) {
    uid = Number(userPart);
    const entry = users.passwd.find((p) => p.uid === uid);
    if (entry) {
      gid = entry.gid;
      home = entry.home;
      name = entry.name;
    }
  } else {
    const entry = users.passwd.find((p) => p.name === userPart);
    if (!entry) throw invalidArgument(`${field}: no user "${userPart}" in the image's /etc/passwd`);
    uid = entry.uid;
    gid = entry.gid;
    home = entry.home;
    name = entry.name;
  }
  if (groupPart !== undefined && groupPart !== "") {
    if (/^\d+$/.test(groupPart)) gid = Number(groupPart);
    else {
      const group = users.group.find((g) => g.name === groupPart);
      if (!group)
        throw invalidArgument(`${field}: no group "${groupPart}" in the image's /etc/group`);
      gid = group.gid;
    }
  }
  const additionalGids =
    name === undefined ? [] : users.group.filter((g) => g.members.includes(name)).map((g) => g.gid);
  return { uid, gid, additionalGids, home };
}
