/**
 * A CgroupFs over an ordinary directory, for unit tests without root: a temporary
 * directory stands in for a cgroup mount. It records every write in order; writes create
 * files; cgroup.subtree_control takes "+ctrl"/"-ctrl" like the kernel's; mkdir fills the
 * new cgroup with the control files the kernel would create (given per mount as
 * templates) and, under cgroup v2, its cgroup.controllers from the parent's
 * subtree_control; rmdir removes a cgroup's files with it, as cgroupfs does.
 */
import { mkdir, readFile, readdir, rm, rmdir, stat, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { SystemError, errnoCode } from "../../errors.js";
import type { CgroupFs } from "../cgroup-fs.js";

export class PlainDirFs implements CgroupFs {
  readonly writes: [path: string, value: string][] = [];

  /** `templates`: mountpoint → the files (and initial contents) of a new cgroup there. */
  constructor(private readonly templates: Record<string, Record<string, string>> = {}) {}

  async read(path: string): Promise<string> {
    try {
      return await readFile(path, "utf8");
    } catch (err) {
      throw new SystemError(
        "read",
        path,
        err,
        errnoCode(err) === "ENOENT" ? "NotFound" : "Internal",
      );
    }
  }

  async write(path: string, value: string): Promise<void> {
    this.writes.push([path, value]);
    if (basename(path) === "cgroup.subtree_control") {
      const current = new Set(
        (await readFile(path, "utf8").catch(() => "")).split(/\s+/).filter((w) => w !== ""),
      );
      for (const w of value.split(/\s+/)) {
        if (w.startsWith("+")) current.add(w.slice(1));
        if (w.startsWith("-")) current.delete(w.slice(1));
      }
      value = [...current].join(" ");
    }
    await writeFile(path, value);
  }

  async exists(path: string): Promise<boolean> {
    try {
      await stat(path);
      return true;
    } catch {
      return false;
    }
  }

  async mkdir(path: string): Promise<boolean> {
    try {
      await mkdir(path);
    } catch (err) {
      if (errnoCode(err) === "EEXIST") return false;
      throw new SystemError("mkdir", path, err);
    }
    for (const [mount, files] of Object.entries(this.templates)) {
      if (path.startsWith(mount + "/")) await writeFiles(path, files);
    }
    const parentControl = join(dirname(path), "cgroup.subtree_control");
    if (await this.exists(join(dirname(path), "cgroup.controllers"))) {
      const enabled = await readFile(parentControl, "utf8").catch(() => "");
      await writeFile(join(path, "cgroup.controllers"), enabled);
    }
    return true;
  }

  async rmdir(path: string): Promise<void> {
    try {
      for (const f of await this.files(path)) await rm(join(path, f));
      await rmdir(path);
    } catch (err) {
      throw new SystemError("rmdir", path, err);
    }
  }

  async children(path: string): Promise<string[]> {
    const entries = await readdir(path, { withFileTypes: true }).catch(() => []);
    return entries.filter((e) => e.isDirectory()).map((e) => e.name);
  }

  async files(path: string): Promise<string[]> {
    const entries = await readdir(path, { withFileTypes: true });
    return entries.filter((e) => e.isFile()).map((e) => e.name);
  }

  /** The value last written to `path`, if any. */
  lastWrite(path: string): string | undefined {
    return this.writes.findLast(([p]) => p === path)?.[1];
  }
}

/** Write a set of files into a directory (a fake cgroup's control files). */
export async function writeFiles(dir: string, files: Record<string, string>): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [name, value] of Object.entries(files)) await writeFile(join(dir, name), value);
}
