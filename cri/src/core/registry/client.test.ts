import { describe, expect, test } from "@jest/globals";
import type { SkiffConfig } from "../config/schema.js";
import { RegistryClient } from "./client.js";
import { digestOf, parseDigest, sha256Digest } from "./digest.js";
import { kindForStatus, describeErrorBody } from "./registry-errors.js";
import { backoffMs, isLoopbackHost, retryAfterMs } from "./transport.js";

const config: SkiffConfig = {
  files: [],
  registries: {
    "registry.k8s.io": {
      source: "t",
      insecure: false,
      ca: "/etc/ca.pem",
      mirrors: [
        {
          url: "http://127.0.0.1:5000",
          insecureSkipVerify: false,
          capabilities: ["pull", "resolve"],
        },
        { url: "https://mirror.example/prefix", insecureSkipVerify: true, capabilities: ["pull"] },
        { url: "https://push.example", insecureSkipVerify: false, capabilities: ["push"] },
      ],
    },
    "insecure.example:5000": { source: "t", insecure: true, mirrors: [] },
  },
};

describe("endpoints", () => {
  const client = new RegistryClient({ config });

  test("mirrors in order by capability, then the upstream", () => {
    expect(client.endpoints("registry.k8s.io", "resolve").map((e) => e.label)).toEqual([
      "mirror http://127.0.0.1:5000",
      "registry registry.k8s.io",
    ]);
    expect(client.endpoints("registry.k8s.io", "pull").map((e) => e.label)).toEqual([
      "mirror http://127.0.0.1:5000",
      "mirror https://mirror.example/prefix",
      "registry registry.k8s.io",
    ]);
    expect(client.endpoints("registry.k8s.io", "push").map((e) => e.label)).toEqual([
      "mirror https://push.example",
      "registry registry.k8s.io",
    ]);
  });

  test("TLS and plain-HTTP rules per endpoint", () => {
    const [mirror, other, upstream] = client.endpoints("registry.k8s.io", "pull");
    expect(mirror).toMatchObject({
      allowHttp: false,
      mirror: true,
      tls: { insecureSkipVerify: false },
    });
    expect(mirror!.base!.protocol).toBe("http:");
    expect(other).toMatchObject({ tls: { insecureSkipVerify: true } });
    expect(upstream).toMatchObject({
      allowHttp: false,
      host: "registry.k8s.io",
      tls: { ca: "/etc/ca.pem" },
    });
    expect(client.endpoints("insecure.example:5000", "pull")[0]).toMatchObject({
      allowHttp: true,
      tls: { insecureSkipVerify: true },
    });
    expect(client.endpoints("127.0.0.1:5000", "pull")[0]).toMatchObject({
      allowHttp: true,
      tls: { insecureSkipVerify: false },
    });
    expect(client.endpoints("docker.io", "pull")[0]).toMatchObject({
      host: "registry-1.docker.io",
      allowHttp: false,
    });
  });
});

describe("transport rules", () => {
  test.each([
    ["localhost", true],
    ["localhost:5000", true],
    ["127.0.0.1:5000", true],
    ["127.1.2.3", true],
    ["[::1]:5000", true],
    ["10.0.0.1:5000", false],
    ["localhost.example.com", false],
    ["128.0.0.1", false],
  ])("loopback %s: %s", (host, expected) => {
    expect(isLoopbackHost(host)).toBe(expected);
  });

  test("Retry-After as seconds or a date, bounded to 10 s; backoff grows", () => {
    expect(retryAfterMs("2")).toBe(2000);
    expect(retryAfterMs("600")).toBe(10_000);
    expect(retryAfterMs(new Date(1_000_000 + 3000).toUTCString(), 1_000_000)).toBe(3000);
    expect(retryAfterMs("soon")).toBeUndefined();
    expect(retryAfterMs(undefined)).toBeUndefined();
    expect(backoffMs(1)).toBeLessThanOrEqual(240);
    expect(backoffMs(3)).toBeGreaterThanOrEqual(640);
    expect(backoffMs(20)).toBeLessThanOrEqual(6000);
  });

  test("HTTP statuses map to error kinds", () => {
    expect([401, 403, 404, 429, 500, 503, 400, 409].map(kindForStatus)).toEqual([
      "Unauthenticated",
      "PermissionDenied",
      "NotFound",
      "Unavailable",
      "Unavailable",
      "Unavailable",
      "InvalidArgument",
      "FailedPrecondition",
    ]);
    expect(
      describeErrorBody('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}'),
    ).toBe("MANIFEST_UNKNOWN: manifest unknown");
    expect(describeErrorBody("<html>")).toBeUndefined();
  });
});

describe("digests", () => {
  test("parse, compute", () => {
    expect(sha256Digest("")).toBe(
      "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    );
    expect(
      digestOf(`sha512:${"0".repeat(128)}`, Buffer.from("")).startsWith("sha512:cf83e135"),
    ).toBe(true);
    expect(() => parseDigest("sha256:abc")).toThrow(/64 lower-case/);
    expect(() => parseDigest("nope")).toThrow(/algorithm:hex/);
  });
});
