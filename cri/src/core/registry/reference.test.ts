import { describe, expect, test } from "@jest/globals";
import { SkiffError } from "../errors.js";
import { familiarReference, formatReference, parseReference } from "./reference.js";

const hex = "a".repeat(64);
const digest = `sha256:${hex}`;

describe("parseReference normalises as Docker does", () => {
  test.each([
    ["busybox", "docker.io/library/busybox:latest"],
    ["busybox:1.36", "docker.io/library/busybox:1.36"],
    ["library/busybox", "docker.io/library/busybox:latest"],
    ["docker.io/busybox", "docker.io/library/busybox:latest"],
    ["index.docker.io/library/busybox:1", "docker.io/library/busybox:1"],
    ["user/app", "docker.io/user/app:latest"],
    ["user/app/sub:v1.2.3", "docker.io/user/app/sub:v1.2.3"],
    ["registry.k8s.io/pause:3.10", "registry.k8s.io/pause:3.10"],
    ["localhost/app", "localhost/app:latest"],
    ["localhost:5000/app:dev", "localhost:5000/app:dev"],
    ["127.0.0.1:5000/a/b/c", "127.0.0.1:5000/a/b/c:latest"],
    ["[::1]:5000/app", "[::1]:5000/app:latest"],
    ["Registry.Example.COM/app", "Registry.Example.COM/app:latest"],
    ["MyHost/app", "MyHost/app:latest"],
    [`busybox@${digest}`, `docker.io/library/busybox@${digest}`],
    [`busybox:1@${digest}`, `docker.io/library/busybox:1@${digest}`],
    [`quay.io/a/b:t@${digest}`, `quay.io/a/b:t@${digest}`],
    ["a.b/c_d__e-f---g.h", "a.b/c_d__e-f---g.h:latest"],
    ["host:5000/x:TAG_with.dots-1", "host:5000/x:TAG_with.dots-1"],
    [`${hex}/x`, `docker.io/${hex}/x:latest`],
  ])("%s → %s", (input, expected) => {
    expect(formatReference(parseReference(input))).toBe(expected);
  });

  test("fields of a fully qualified reference", () => {
    expect(parseReference(`127.0.0.1:5000/team/app:v1@${digest}`)).toEqual({
      domain: "127.0.0.1:5000",
      path: "team/app",
      tag: "v1",
      digest,
    });
    expect(parseReference(`busybox@${digest}`)).toEqual({
      domain: "docker.io",
      path: "library/busybox",
      digest,
    });
  });

  test.each([
    ["docker.io/library/busybox:latest", "busybox:latest"],
    ["user/app:1", "user/app:1"],
    ["quay.io/x/y:z", "quay.io/x/y:z"],
  ])("familiar form of %s is %s", (input, expected) => {
    expect(familiarReference(parseReference(input))).toBe(expected);
  });
});

describe("parseReference refuses invalid references with a reason", () => {
  test.each([
    ["", /is empty/],
    [" busybox", /white space/],
    ["busy box", /white space/],
    ["Busybox", /must be lowercase/],
    ["docker.io/Library/busybox", /must be lowercase/],
    ["busybox:", /tag after ':' is empty/],
    ["busybox:-bad", /tag "-bad"/],
    [`busybox:${"t".repeat(129)}`, /tag/],
    ["busybox@sha256:abc", /64 lower-case hexadecimal/],
    [`busybox@sha256:${"A".repeat(64)}`, /64 lower-case hexadecimal/],
    ["busybox@md5:abcd", /unsupported algorithm "md5"/],
    ["busybox@", /algorithm:hex/],
    ["host:5000/", /path is empty/],
    ["a//b", /empty component/],
    ["a/b_", /path component "b_"/],
    ["a/-b", /path component "-b"/],
    ["a/b..c", /path component "b..c"/],
    ["host:99999/app", /port 99999/],
    ["-host.com/app", /registry host/],
    [hex, /image id/],
    [":tag", /repository name is empty/],
    [`example.com/${"a/".repeat(130)}b`, /longer than 255/],
  ])("%j", (input, reason) => {
    let caught: unknown;
    try {
      parseReference(input);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(SkiffError);
    expect((caught as SkiffError).kind).toBe("InvalidArgument");
    expect((caught as SkiffError).message).toMatch(reason);
    expect((caught as SkiffError).message).toContain(`"${input}"`);
  });
});
