import { describe, expect, test } from "@jest/globals";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  fromAuthConfig,
  fromDockerConfig,
  normaliseAuthKey,
  readDockerConfig,
  resolveCredentials,
} from "./credentials.js";

const b64 = (s: string): string => Buffer.from(s).toString("base64");

describe("credentials from the CRI AuthConfig", () => {
  test.each([
    [
      { username: "u", password: "p" },
      { kind: "basic", username: "u", password: "p" },
    ],
    [{ auth: b64("u:p:with:colons") }, { kind: "basic", username: "u", password: "p:with:colons" }],
    [{ identity_token: "refresh" }, { kind: "identityToken", token: "refresh" }],
    [
      { username: "u", identity_token: "refresh" },
      { kind: "identityToken", token: "refresh", username: "u" },
    ],
    [
      { registry_token: "bearer", username: "u", password: "p" },
      { kind: "registryToken", token: "bearer" },
    ],
    [{ server_address: "x" }, undefined],
    [{}, undefined],
  ])("%j", (input, expected) => {
    expect(fromAuthConfig(input)).toEqual(expected);
  });

  test("a broken auth field is InvalidArgument", () => {
    expect(() => fromAuthConfig({ auth: b64("nocolon") })).toThrow(/not base64 of user:password/);
  });

  test("a registry token a header cannot carry is InvalidArgument naming the field", () => {
    for (const token of ["a\nb", "tok\0", "\u{1f600}"]) {
      expect(() => fromAuthConfig({ registry_token: token })).toThrow(
        expect.objectContaining({
          kind: "InvalidArgument",
          message: expect.stringMatching(/^auth\.registry_token: /),
        }),
      );
    }
  });
});

describe("credentials from a docker config.json", () => {
  const config = {
    auths: {
      "https://index.docker.io/v1/": { auth: b64("hubuser:hubpass") },
      "quay.io": { username: "q", password: "qp" },
      "https://registry.example.com": { identitytoken: "idt", auth: b64("ex:ignored") },
      "localhost:5000": { auth: b64("local:pw") },
      "https://localhost:5000/v2/": { auth: b64("other:pw") },
    },
  };

  test.each([
    ["index.docker.io", "docker.io"],
    ["https://index.docker.io/v1/", "docker.io"],
    ["registry-1.docker.io", "docker.io"],
    ["HTTPS://Quay.IO/", "quay.io"],
    ["http://127.0.0.1:5000/v2", "127.0.0.1:5000"],
  ])("key %s is %s", (key, host) => {
    expect(normaliseAuthKey(key)).toBe(host);
  });

  test("lookup by host, with Docker Hub's aliases and exact keys first", () => {
    expect(fromDockerConfig(config, "docker.io")).toEqual({
      kind: "basic",
      username: "hubuser",
      password: "hubpass",
    });
    expect(fromDockerConfig(config, "quay.io")).toEqual({
      kind: "basic",
      username: "q",
      password: "qp",
    });
    expect(fromDockerConfig(config, "registry.example.com")).toEqual({
      kind: "identityToken",
      token: "idt",
      username: "ex",
    });
    expect(fromDockerConfig(config, "localhost:5000")).toEqual({
      kind: "basic",
      username: "local",
      password: "pw",
    });
    expect(fromDockerConfig(config, "ghcr.io")).toBeUndefined();
    expect(fromDockerConfig({}, "quay.io")).toBeUndefined();
  });

  test("readDockerConfig: missing file is none, broken JSON is an error", () => {
    const dir = mkdtempSync(join(tmpdir(), "skiff-creds-"));
    try {
      expect(readDockerConfig(join(dir, "missing.json"))).toBeUndefined();
      writeFileSync(join(dir, "bad.json"), "{");
      expect(() => readDockerConfig(join(dir, "bad.json"))).toThrow(/not valid JSON/);
      writeFileSync(join(dir, "good.json"), JSON.stringify(config));
      expect(readDockerConfig(join(dir, "good.json"))).toEqual(config);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("resolveCredentials: request, then Skiff config, then config.json", () => {
  const dockerConfig = { auths: { "quay.io": { auth: b64("file:f") } } };
  test("the request wins", () => {
    expect(
      resolveCredentials({
        host: "quay.io",
        request: { username: "req", password: "r" },
        config: { username: "cfg", password: "c" },
        dockerConfig,
      }),
    ).toEqual({ kind: "basic", username: "req", password: "r" });
  });
  test("an empty request falls to the config, then to config.json", () => {
    expect(
      resolveCredentials({
        host: "quay.io",
        request: {},
        config: { identityToken: "t" },
        dockerConfig,
      }),
    ).toEqual({ kind: "identityToken", token: "t" });
    expect(resolveCredentials({ host: "quay.io", request: {}, dockerConfig })).toEqual({
      kind: "basic",
      username: "file",
      password: "f",
    });
    expect(resolveCredentials({ host: "ghcr.io", dockerConfig })).toBeUndefined();
  });
});
