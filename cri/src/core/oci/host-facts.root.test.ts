import { afterAll, beforeAll, expect, test } from "@jest/globals";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

import { SkiffError } from "../errors.js";
import { defaultSpec } from "./defaults.js";
import { realHostFacts } from "./host-facts.js";
import { validateSpec } from "./validate.js";

const run = promisify(execFile);
const netns = `skiff-oci-test-${process.pid}-${Date.now() % 100000}`;
const netnsPath = `/run/netns/${netns}`;
let bundle = "";

beforeAll(async () => {
  await run("ip", ["netns", "add", netns]);
  bundle = await mkdtemp(join(tmpdir(), "skiff-oci-netns-"));
  await mkdir(join(bundle, "rootfs"));
});

afterAll(async () => {
  await run("ip", ["netns", "del", netns]).catch(() => undefined);
  if (bundle) await rm(bundle, { recursive: true, force: true });
});

test("a bind-mounted network namespace (ip netns) is a namespace file of its own", async () => {
  const facts = realHostFacts();
  const found = await facts.namespaceFile(netnsPath);
  expect(typeof found).toBe("object");
  expect(typeof found === "object" && found.id).not.toBe(await facts.hostNamespaceId("network"));
});

test("a spec joining it with net.* sysctls validates; joining the host's is refused", async () => {
  const joining = (path: string) => {
    const spec = defaultSpec();
    spec.linux!.namespaces = spec.linux!.namespaces!.map((n) =>
      n.type === "network" ? { type: "network", path } : n,
    );
    spec.linux!.sysctl = { "net.ipv4.ip_unprivileged_port_start": "0" };
    return spec;
  };
  await expect(validateSpec(joining(netnsPath), bundle)).resolves.toBeDefined();
  const err = await validateSpec(joining("/proc/self/ns/net"), bundle).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(SkiffError);
  expect((err as SkiffError).message).toMatch(
    /linux\.sysctl\.net\.ipv4\.ip_unprivileged_port_start: linux\.namespaces\[\d\]\.path joins the host's network namespace/,
  );
  const missing = await validateSpec(joining("/run/netns/skiff-no-such-ns"), bundle).catch(
    (e: unknown) => e,
  );
  expect((missing as SkiffError).message).toMatch(
    /linux\.namespaces\[\d\]\.path: \/run\/netns\/skiff-no-such-ns does not exist/,
  );
});
