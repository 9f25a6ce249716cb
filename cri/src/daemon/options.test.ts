import { describe, expect, test } from "@jest/globals";
import { defaults, parseDaemonArgs } from "./options.js";

describe("parseDaemonArgs", () => {
  test("defaults are DESIGN.md's", () => {
    const parsed = parseDaemonArgs([]);
    expect(parsed).toEqual({
      kind: "run",
      options: {
        socket: "/run/skiff/cri.sock",
        root: "/var/lib/skiff",
        state: "/run/skiff",
        config: "/etc/skiff/config.yaml",
        configGiven: false,
        cniConfDir: "/etc/cni/net.d",
        cniBinDirs: ["/usr/lib/cni", "/opt/cni/bin"],
        logLevel: defaults.logLevel,
        streamAddress: "127.0.0.1:0",
        cgroupFavorDynmods: false,
      },
    });
  });

  test("every path is a flag; relative paths resolve; bin dirs are a list", () => {
    const parsed = parseDaemonArgs([
      "--socket=/tmp/a/cri.sock",
      "--root",
      "/tmp/a/root",
      "--state=/tmp/a/state",
      "--config=rel/config.yaml",
      "--cni-conf-dir=/tmp/a/net.d",
      "--cni-bin-dir=/x,/y",
      "--cni-bin-dir=/z",
      "--log-level=debug",
      "--cgroup-favor-dynmods",
    ]);
    expect(parsed.kind === "run" && parsed.options).toMatchObject({
      socket: "/tmp/a/cri.sock",
      root: "/tmp/a/root",
      state: "/tmp/a/state",
      config: `${process.cwd()}/rel/config.yaml`,
      configGiven: true,
      cniConfDir: "/tmp/a/net.d",
      cniBinDirs: ["/x", "/y", "/z"],
      logLevel: "debug",
      cgroupFavorDynmods: true,
    });
  });

  test("bad flags are refused with the flag named", () => {
    expect(() => parseDaemonArgs(["--sockett=/x"])).toThrow(/--sockett/);
    expect(() => parseDaemonArgs(["--log-level=loud"])).toThrow(/--log-level: "loud"/);
    expect(() => parseDaemonArgs(["--root="])).toThrow(/--root: must not be empty/);
    expect(() => parseDaemonArgs(["extra"])).toThrow(/extra/);
  });

  test("help and version", () => {
    expect(parseDaemonArgs(["-h"])).toEqual({ kind: "help" });
    expect(parseDaemonArgs(["--version"])).toEqual({ kind: "version" });
  });
});
