/**
 * Cgroup directories tests and benchmarks leave: skiff-cri puts pods without a
 * cgroup_parent under skiff/pods/<id> and removes only <id>. These remove what is left
 * once it is empty (a populated cgroup cannot be removed, so live pods are safe).
 */
import { existsSync, readdirSync, rmdirSync } from "node:fs";
import { join } from "node:path";

const hierarchies = (): string[] =>
  readdirSync("/sys/fs/cgroup").map((c) => join("/sys/fs/cgroup", c));

/** Cgroup directories named `relative` under each v1 hierarchy and the cgroup2 mount. */
export function cgroupDirs(relative: string): string[] {
  return hierarchies()
    .map((r) => join(r, relative))
    .filter((d) => existsSync(d));
}

/** Removes `relative` and everything below it in every hierarchy, deepest first. */
export function removeCgroupTree(relative: string): void {
  for (const top of cgroupDirs(relative)) {
    const walk = (d: string): void => {
      for (const e of readdirSync(d, { withFileTypes: true }))
        if (e.isDirectory()) walk(join(d, e.name));
      try {
        rmdirSync(d);
      } catch {
        // busy or already gone
      }
    };
    walk(top);
  }
}

/** skiff-cri's default pod cgroup parent, once no pod is left in it. */
export const removeSkiffCgroups = (): void => removeCgroupTree("skiff");
