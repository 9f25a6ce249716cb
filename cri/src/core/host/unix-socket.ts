/**
 * Preparing a unix socket path for a server: the directory is created, a stale socket
 * (nobody accepts on it) is removed, and a live one (another server accepts on it) or a
 * path that is not a socket is refused, so two daemons never share a socket.
 */
import { connect } from "node:net";
import { lstatSync, unlinkSync } from "node:fs";
import { dirname } from "node:path";
import { SkiffError, SystemError, errnoCode } from "../errors.js";
import { makeDirs } from "./make-dirs.js";

export async function prepareSocketPath(path: string): Promise<void> {
  const dir = dirname(path);
  try {
    makeDirs(dir, 0o711, "InvalidArgument");
  } catch (err) {
    throw new SystemError(
      "create socket directory",
      dir,
      (err as Error).cause ?? err,
      "InvalidArgument",
    );
  }
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return;
    throw new SystemError("stat socket", path, err);
  }
  if (!isSocket) {
    throw new SkiffError(
      "AlreadyExists",
      `${path} exists and is not a socket; refusing to replace it`,
    );
  }
  if (await accepts(path)) {
    throw new SkiffError(
      "AlreadyExists",
      `another process is already serving on ${path} (is skiff-cri running?)`,
    );
  }
  try {
    unlinkSync(path);
  } catch (err) {
    if (errnoCode(err) !== "ENOENT") throw new SystemError("remove stale socket", path, err);
  }
}

function accepts(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}
