/**
 * mkdir -p, one level at a time. (Node's recursive mkdirSync spins forever on a path
 * under /proc, where mkdir answers ENOENT although the parent exists.) Returns the
 * first directory it created, so a caller can roll back, or undefined if all existed.
 */
import { mkdirSync, rmdirSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { SystemError, errnoCode, type ErrorKind } from "../errors.js";

export function makeDirs(
  path: string,
  mode = 0o711,
  kind: ErrorKind = "Internal",
): string | undefined {
  const missing: string[] = [];
  for (let dir = path; ; dir = dirname(dir)) {
    try {
      if (!statSync(dir).isDirectory()) {
        throw new SystemError(
          "create directory",
          path,
          Object.assign(new Error(`${dir} is not a directory`), { code: "ENOTDIR" }),
          kind,
        );
      }
      break;
    } catch (err) {
      if (err instanceof SystemError) throw err;
      if (errnoCode(err) !== "ENOENT" || dirname(dir) === dir)
        throw new SystemError("create directory", path, err, kind);
      missing.push(dir);
    }
  }
  missing.reverse();
  const created: string[] = [];
  for (const dir of missing) {
    try {
      mkdirSync(dir, { mode });
      created.push(dir);
    } catch (err) {
      if (errnoCode(err) === "EEXIST") continue;
      for (const made of created.reverse()) rmdirSync(made);
      throw new SystemError("create directory", dir, err, kind);
    }
  }
  return created[0];
}
