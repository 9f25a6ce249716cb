import { describe, expect, test } from "@jest/globals";
import { mergeScopes, repositoryScope } from "./auth.js";
import { parseChallenges } from "./challenge.js";

describe("WWW-Authenticate parsing", () => {
  test("Docker Hub's bearer challenge", () => {
    expect(
      parseChallenges(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"',
      ),
    ).toEqual([
      {
        scheme: "bearer",
        params: {
          realm: "https://auth.docker.io/token",
          service: "registry.docker.io",
          scope: "repository:library/busybox:pull",
        },
      },
    ]);
  });

  test("basic, unquoted values, escapes, several challenges and headers", () => {
    expect(parseChallenges('Basic realm="Registry Realm"')).toEqual([
      { scheme: "basic", params: { realm: "Registry Realm" } },
    ]);
    expect(
      parseChallenges('bearer realm=http://h/token, service=svc, error="insufficient_scope"'),
    ).toEqual([
      {
        scheme: "bearer",
        params: { realm: "http://h/token", service: "svc", error: "insufficient_scope" },
      },
    ]);
    expect(
      parseChallenges('Basic realm="a \\"quoted\\" realm", Bearer realm="r",scope="x y"'),
    ).toEqual([
      { scheme: "basic", params: { realm: 'a "quoted" realm' } },
      { scheme: "bearer", params: { realm: "r", scope: "x y" } },
    ]);
    expect(parseChallenges(["Basic realm=a", "Bearer realm=b"]).map((c) => c.scheme)).toEqual([
      "basic",
      "bearer",
    ]);
    expect(parseChallenges(undefined)).toEqual([]);
    expect(parseChallenges("")).toEqual([]);
  });

  test("scopes", () => {
    expect(repositoryScope("a/b", ["pull", "push"])).toBe("repository:a/b:pull,push");
    expect(mergeScopes(["repository:a:pull"], "repository:a:pull repository:b:pull")).toEqual([
      "repository:a:pull",
      "repository:b:pull",
    ]);
    expect(mergeScopes(["x"], undefined)).toEqual(["x"]);
  });
});
