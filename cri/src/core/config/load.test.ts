import { describe, expect, test, beforeEach, afterEach } from "@jest/globals";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig, parseConfigFile } from "./load.js";

const full = `registries:
  "registry.k8s.io":
    mirrors:
      - url: "http://127.0.0.1:5000/"
        ca: /etc/skiff/certs/mirror.pem
        insecureSkipVerify: false
        capabilities: [pull, resolve]
      - url: https://mirror.example:8443
    ca: /etc/skiff/certs/upstream.pem
    clientCert: /etc/skiff/certs/client.pem
    clientKey: /etc/skiff/certs/client-key.pem
    insecure: false
    auth: { username: user, password: secret }
  "localhost:5000": {}
`;

describe("parseConfigFile", () => {
  test("reads every field of the documented schema", () => {
    const config = parseConfigFile("/etc/skiff/config.yaml", full);
    const k8s = config.registries["registry.k8s.io"];
    expect(k8s?.mirrors).toEqual([
      {
        url: "http://127.0.0.1:5000",
        ca: "/etc/skiff/certs/mirror.pem",
        insecureSkipVerify: false,
        capabilities: ["pull", "resolve"],
      },
      {
        url: "https://mirror.example:8443",
        insecureSkipVerify: false,
        capabilities: ["pull", "resolve"],
      },
    ]);
    expect(k8s?.auth).toEqual({ username: "user", password: "secret" });
    expect(k8s?.clientKey).toBe("/etc/skiff/certs/client-key.pem");
    expect(config.registries["localhost:5000"]).toEqual({
      mirrors: [],
      insecure: false,
      source: "/etc/skiff/config.yaml",
    });
  });

  test("an empty file is an empty config", () => {
    expect(parseConfigFile("f.yaml", "").registries).toEqual({});
    expect(parseConfigFile("f.yaml", "# nothing\n").registries).toEqual({});
  });

  const bad: [string, string, RegExp][] = [
    ["syntax", "registries:\n  a: [\n", /^f\.yaml:\d+:\d+: /],
    ["unknown top field", "registry: {}\n", /^f\.yaml:1:1: \(top level\)\.registry: unknown field/],
    [
      "unknown registry field",
      'registries:\n  "docker.io":\n    mirror: []\n',
      /^f\.yaml:3:5: registries\."docker\.io"\.mirror: unknown field/,
    ],
    [
      "mirror url scheme",
      'registries:\n  "docker.io":\n    mirrors:\n      - url: ftp://x\n',
      /^f\.yaml:4:14: registries\."docker\.io"\.mirrors\[0\]\.url: must start with http/,
    ],
    [
      "mirror without url",
      'registries:\n  "docker.io":\n    mirrors:\n      - ca: /x\n',
      /registries\."docker\.io"\.mirrors\[0\]\.url: is required/,
    ],
    [
      "insecure not boolean",
      'registries:\n  "docker.io":\n    insecure: "yes"\n',
      /^f\.yaml:3:15: registries\."docker\.io"\.insecure: must be true or false/,
    ],
    [
      "bad host",
      'registries:\n  "https://docker.io": {}\n',
      /^f\.yaml:2:3: registries\."https:\/\/docker\.io": must be host/,
    ],
    [
      "relative ca",
      'registries:\n  "docker.io":\n    ca: certs/ca.pem\n',
      /ca: "certs\/ca\.pem" must be an absolute path/,
    ],
    [
      "half a client pair",
      'registries:\n  "docker.io":\n    clientCert: /c.pem\n',
      /clientCert and clientKey go together/,
    ],
    [
      "auth without password",
      'registries:\n  "docker.io":\n    auth: { username: u }\n',
      /auth: needs username and password/,
    ],
    [
      "unknown capability",
      'registries:\n  "d.io":\n    mirrors:\n      - url: http://m\n        capabilities: [pull, fly]\n',
      /capabilities\[1\]: unknown capability "fly"/,
    ],
    [
      "duplicate key",
      'registries:\n  "d.io": {}\n  "d.io": {}\n',
      /^f\.yaml:3:\d+: Map keys must be unique/,
    ],
  ];
  test.each(bad)("refuses %s, naming file, line and field", (_name, text, message) => {
    expect(() => parseConfigFile("f.yaml", text)).toThrow(message);
  });
});

describe("loadConfig", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "skiff-config-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test("a missing default file is an empty config; a missing named file is an error", () => {
    const path = join(dir, "config.yaml");
    expect(loadConfig({ path, required: false })).toEqual({ registries: {}, files: [] });
    expect(() => loadConfig({ path, required: true })).toThrow(
      `config file ${path} does not exist`,
    );
  });

  test("drop-ins merge in name order after the main file; a later file replaces a registry", () => {
    const main = join(dir, "config.yaml");
    writeFileSync(main, 'registries:\n  "a.io":\n    insecure: true\n  "b.io": {}\n');
    mkdirSync(join(dir, "registries.d"));
    writeFileSync(
      join(dir, "registries.d", "20-agent.yaml"),
      'registries:\n  "a.io":\n    mirrors: [{url: "http://m2"}]\n',
    );
    writeFileSync(
      join(dir, "registries.d", "10-admin.yml"),
      'registries:\n  "a.io":\n    mirrors: [{url: "http://m1"}]\n',
    );
    writeFileSync(join(dir, "registries.d", "README"), "not yaml");
    const config = loadConfig({ path: main, required: true });
    expect(config.files).toEqual([
      main,
      join(dir, "registries.d", "10-admin.yml"),
      join(dir, "registries.d", "20-agent.yaml"),
    ]);
    expect(config.registries["a.io"]?.mirrors.map((m) => m.url)).toEqual(["http://m2"]);
    expect(config.registries["a.io"]?.insecure).toBe(false);
    expect(config.registries["b.io"]?.source).toBe(main);
  });

  test("a bad drop-in refuses the whole config, naming the drop-in", () => {
    const main = join(dir, "config.yaml");
    writeFileSync(main, "registries: {}\n");
    mkdirSync(join(dir, "registries.d"));
    const bad = join(dir, "registries.d", "x.yaml");
    writeFileSync(bad, "registries: [1]\n");
    expect(() => loadConfig({ path: main, required: true })).toThrow(
      `${bad}:1:13: registries: must be a mapping`,
    );
  });
});
