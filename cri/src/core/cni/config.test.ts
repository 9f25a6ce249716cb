import { afterEach, beforeEach, describe, expect, test } from "@jest/globals";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, loadConfigDir, parseConfig, usesPodCidr, withPodCidr } from "./config.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "skiff-cni-conf-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const list = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    cniVersion: "1.0.0",
    name: "podnet",
    plugins: [
      { type: "bridge", bridge: "cni0", ipam: { type: "host-local", subnet: "10.1.0.0/24" } },
      { type: "portmap", capabilities: { portMappings: true } },
    ],
    ...extra,
  });

const refused = (file: string, text: string): string => {
  try {
    parseConfig(file, text);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error("accepted");
};

describe("parsing one file", () => {
  test("a conflist keeps its plugins in order with the list's name and version", () => {
    const n = parseConfig("/d/10-pod.conflist", list({ disableCheck: true }));
    expect(n).toMatchObject({ name: "podnet", cniVersion: "1.0.0", disableCheck: true });
    expect(n.plugins.map((p) => p.type)).toEqual(["bridge", "portmap"]);
    expect(n.plugins[1]?.capabilities).toEqual({ portMappings: true });
  });

  test("a single-plugin .conf is promoted to a list of one", () => {
    const n = parseConfig(
      "/d/10-x.conf",
      JSON.stringify({ cniVersion: "0.3.1", name: "single", type: "bridge", bridge: "b0" }),
    );
    expect(n).toMatchObject({ name: "single", cniVersion: "0.3.1", file: "/d/10-x.conf" });
    expect(n.plugins).toEqual([
      { cniVersion: "0.3.1", name: "single", type: "bridge", bridge: "b0" },
    ]);
  });

  test("cniVersions picks the newest version Skiff speaks (spec 1.1 negotiation)", () => {
    const n = parseConfig(
      "/d/a.conflist",
      list({ cniVersion: "1.0.0", cniVersions: ["0.4.0", "1.1.0", "9.9.9"] }),
    );
    expect(n.cniVersion).toBe("1.1.0");
    expect(parseConfig("/d/a.conflist", list({ cniVersions: ["7.0.0"] })).cniVersion).toBe("1.0.0");
  });

  test("errors name the file and the field", () => {
    expect(refused("/d/a.conflist", "{ nope")).toMatch(/^\/d\/a\.conflist: not valid JSON/);
    expect(refused("/d/a.conflist", list({ name: undefined }))).toBe(
      `/d/a.conflist: "name" is missing`,
    );
    expect(refused("/d/a.conflist", list({ name: "bad name" }))).toMatch(/"name" must be/);
    expect(refused("/d/a.conflist", list({ cniVersion: "2.0.0" }))).toMatch(
      /\/d\/a\.conflist: "cniVersion" "2\.0\.0" is not supported/,
    );
    expect(refused("/d/a.conflist", list({ plugins: [] }))).toMatch(/"plugins" must not be empty/);
    expect(refused("/d/a.conflist", list({ plugins: [{ type: "bridge" }, {}] }))).toBe(
      "/d/a.conflist: plugins[1].type is missing",
    );
    expect(refused("/d/a.conflist", list({ plugins: [{ type: "../../bin/sh" }] }))).toMatch(
      /plugins\[0\]\.type must name a plugin binary/,
    );
    expect(
      refused("/d/a.conflist", list({ plugins: [{ type: "x", capabilities: { a: "yes" } }] })),
    ).toMatch(/plugins\[0\]\.capabilities must map/);
    expect(
      refused(
        "/d/a.conflist",
        list({ cniVersion: "0.2.0", plugins: [{ type: "a" }, { type: "b" }] }),
      ),
    ).toMatch(/cannot chain plugins/);
    expect(refused("/d/a.conflist", list({ disableCheck: 3 }))).toMatch(/"disableCheck" must be/);
  });
});

describe("loading the conf dir", () => {
  test("files load in lexical order; the first valid network is the default; bad files are reported", () => {
    writeFileSync(join(dir, "20-second.conflist"), list({ name: "second" }));
    writeFileSync(join(dir, "10-broken.conflist"), "{");
    writeFileSync(
      join(dir, "15-single.conf"),
      JSON.stringify({ cniVersion: "0.4.0", name: "one", type: "ptp" }),
    );
    writeFileSync(join(dir, "05-notes.txt"), "ignored");
    writeFileSync(
      join(dir, "30-dup.json"),
      JSON.stringify({ cniVersion: "0.4.0", name: "second", type: "x" }),
    );
    mkdirSync(join(dir, "40-dir.conflist"));
    const loaded = loadConfigDir(dir);
    expect(loaded.networks.map((n) => n.name)).toEqual(["one", "second"]);
    expect(loaded.problems.map((p) => p.file)).toEqual([
      join(dir, "10-broken.conflist"),
      join(dir, "30-dup.json"),
    ]);
    expect(loaded.problems[1]?.message).toMatch(/network "second" is already defined/);
  });

  test("a missing directory is no networks, not an error", () => {
    const loaded = loadConfigDir(join(dir, "nope"));
    expect(loaded).toMatchObject({ dirExists: false, networks: [], problems: [] });
  });
});

describe("pod CIDR", () => {
  test("usePodCidr in subnet or ranges becomes the node's pod CIDRs", () => {
    const n = parseConfig(
      "/d/a.conflist",
      list({
        plugins: [
          { type: "bridge", ipam: { type: "host-local", ranges: [[{ subnet: "usePodCidr" }]] } },
          { type: "ptp", ipam: { type: "host-local", subnet: "usePodCidr" } },
        ],
      }),
    );
    expect(usesPodCidr(n)).toBe(true);
    const done = withPodCidr(n, ["10.9.0.0/24", "fd00:9::/64"]);
    expect(usesPodCidr(done)).toBe(false);
    expect(done.plugins[0]?.ipam).toEqual({
      type: "host-local",
      ranges: [[{ subnet: "10.9.0.0/24" }], [{ subnet: "fd00:9::/64" }]],
    });
    expect(done.plugins[1]?.ipam).toEqual({ type: "host-local", subnet: "10.9.0.0/24" });
    expect(usesPodCidr(n)).toBe(true);
  });
});
