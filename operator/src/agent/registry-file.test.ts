import { afterEach, describe, expect, test } from "@jest/globals";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfigFile } from "../../../cri/src/core/config/load.js";
import type { Registry } from "../apis/v1alpha1/registry.js";
import { ownDropIns, removeRegistry, renderRegistry, writeRegistry } from "./registry-file.js";

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

const registry = (spec: Partial<Registry["spec"]> = {}): Registry => ({
  apiVersion: "skiff.dev/v1alpha1",
  kind: "Registry",
  metadata: { name: "k8s", generation: 3 },
  spec: { server: "registry.k8s.io:443", mirrors: [], insecure: false, ...spec },
});

describe("registries.d drop-in", () => {
  test("is in skiff-cri's schema: mirrors in order, CA files, auth", () => {
    const r = registry({ caBundle: "-----BEGIN CERTIFICATE-----\nUP\n" });
    const rendered = renderRegistry(
      r,
      [
        {
          url: "http://10.96.0.10:5000",
          insecureSkipVerify: false,
          capabilities: ["pull", "resolve"],
        },
        {
          url: "https://mirror.local",
          caBundle: "PEM",
          insecureSkipVerify: true,
          capabilities: ["pull"],
        },
      ],
      { username: "u", password: "p" },
    );
    const text = rendered.files.get("/etc/skiff/registries.d/k8s.yaml")!.content;
    expect(text.startsWith("# Written by skiff node agent for Registry k8s (generation 3)")).toBe(
      true,
    );
    const parsed = parseConfigFile("/etc/skiff/registries.d/k8s.yaml", text);
    expect(parsed.registries["registry.k8s.io:443"]).toEqual({
      mirrors: [
        {
          url: "http://10.96.0.10:5000",
          insecureSkipVerify: false,
          capabilities: ["pull", "resolve"],
        },
        {
          url: "https://mirror.local",
          ca: "/etc/skiff/certs/k8s/mirror-1.pem",
          insecureSkipVerify: true,
          capabilities: ["pull"],
        },
      ],
      ca: "/etc/skiff/certs/k8s/ca.pem",
      insecure: false,
      auth: { username: "u", password: "p" },
      source: "/etc/skiff/registries.d/k8s.yaml",
    });
    expect(rendered.files.get("/etc/skiff/certs/k8s/mirror-1.pem")?.content).toBe("PEM");
  });

  test("a client certificate becomes clientCert and clientKey files, the key private", () => {
    const root = mkdtempSync(join(tmpdir(), "skiff-regfile-"));
    dirs.push(root);
    const host = {
      root,
      proc: "/proc",
      sys: "/sys",
      run: async () => ({ code: 0, stdout: "", stderr: "" }),
    };
    const rendered = renderRegistry(registry(), [], undefined, { cert: "CERT", key: "KEY" });
    writeRegistry(host, rendered);
    const file = "/etc/skiff/registries.d/k8s.yaml";
    const parsed = parseConfigFile(file, rendered.files.get(file)!.content);
    expect(parsed.registries["registry.k8s.io:443"]).toMatchObject({
      clientCert: "/etc/skiff/certs/k8s/client.pem",
      clientKey: "/etc/skiff/certs/k8s/client-key.pem",
    });
    expect(readFileSync(join(root, "etc/skiff/certs/k8s/client.pem"), "utf8")).toBe("CERT");
    expect(statSync(join(root, "etc/skiff/certs/k8s/client-key.pem")).mode & 0o777).toBe(0o600);
  });

  test("is written 0600, idempotently, and removed without touching an admin's file", () => {
    const root = mkdtempSync(join(tmpdir(), "skiff-regfile-"));
    dirs.push(root);
    const host = {
      root,
      proc: "/proc",
      sys: "/sys",
      run: async () => ({ code: 0, stdout: "", stderr: "" }),
    };
    const rendered = renderRegistry(registry(), [], { identityToken: "tok" });
    expect(writeRegistry(host, rendered)).toBe(true);
    expect(writeRegistry(host, rendered)).toBe(false);
    const file = join(root, "etc/skiff/registries.d/k8s.yaml");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    mkdirSync(join(root, "etc/skiff/registries.d"), { recursive: true });
    writeFileSync(join(root, "etc/skiff/registries.d/admin.yaml"), "registries: {}\n");
    expect(ownDropIns(host)).toEqual(["k8s"]);
    expect(removeRegistry(host, "admin")).toBe(false);
    expect(readFileSync(join(root, "etc/skiff/registries.d/admin.yaml"), "utf8")).toBe(
      "registries: {}\n",
    );
    expect(removeRegistry(host, "k8s")).toBe(true);
    expect(ownDropIns(host)).toEqual([]);
  });
});
