import { describe, expect, test } from "@jest/globals";

import { SystemError } from "../errors.js";
import { parseExitFile, shimError } from "./shim-client.js";

describe("shim client parsing", () => {
  test("a system failure becomes a SystemError with stage, detail and errno", () => {
    const err = shimError("error mounts: target /proc: EACCES (13)\n");
    expect(err).toBeInstanceOf(SystemError);
    expect(err).toMatchObject({ op: "skiff-shim mounts", path: "target /proc", code: "EACCES" });
    expect(err.message).toBe("skiff-shim mounts target /proc: EACCES (13)");
  });

  test("a command that is missing or not runnable is the caller's error, not an internal one", () => {
    expect(shimError("error exec: executable nope not found in $PATH: ENOENT (2)")).toMatchObject({
      kind: "NotFound",
      message: "skiff-shim exec executable nope not found in $PATH: ENOENT (2)",
    });
    expect(shimError("error exec: execve /etc/passwd: EACCES (13)").kind).toBe(
      "FailedPrecondition",
    );
    expect(shimError("error cwd: chdir /nope: ENOENT (2)").kind).toBe("NotFound");
    expect(shimError("error mounts: bind source /nope: ENOENT (2)").kind).toBe("Internal");
  });

  test("a refused plan becomes an InvalidArgument", () => {
    const err = shimError("error sysctl: value of kernel.sem would set more than one value");
    expect(err).not.toBeInstanceOf(SystemError);
    expect(err).toMatchObject({
      kind: "InvalidArgument",
      message: expect.stringMatching(/^skiff-shim sysctl: /),
    });
  });

  test("the exit file", () => {
    expect(
      parseExitFile("code 137\nsignal 9\ntime_ns 1795840947070103636\noom_killed 1\n"),
    ).toEqual({
      exitCode: 137,
      signal: 9,
      exitedAtNs: 1795840947070103636n,
      oomKilled: true,
    });
    expect(
      parseExitFile(
        "code 127\nsignal 0\ntime_ns 1\noom_killed 0\nerror exec: execve /x: ENOENT (2)\n",
      ),
    ).toMatchObject({
      exitCode: 127,
      error: "exec: execve /x: ENOENT (2)",
    });
  });
});
