import { describe, expect, test } from "@jest/globals";
import type { Registry } from "../../apis/v1alpha1/registry.js";
import { defaultSettings } from "../settings.js";
import { cacheObjects } from "./cache.js";
import { readClientCertificate, readCredentials } from "./credentials.js";
import { computeRegistryStatus } from "./status.js";

const b64 = (s: string) => Buffer.from(s).toString("base64");
const registry = (extra: Partial<Registry> = {}): Registry => ({
  apiVersion: "skiff.dev/v1alpha1",
  kind: "Registry",
  metadata: { name: "hub", uid: "u-1", generation: 2 },
  spec: {
    server: "docker.io",
    mirrors: [{ url: "http://m1", insecureSkipVerify: false, capabilities: ["pull"] }],
    insecure: false,
  },
  ...extra,
});

describe("credentials", () => {
  test("basic-auth and dockerconfigjson Secrets give auth; others give a reason", () => {
    expect(readCredentials(undefined, "skiff-system", "c", "docker.io")).toMatchObject({
      ok: false,
      reason: "SecretNotFound",
    });
    expect(
      readCredentials(
        { type: "kubernetes.io/basic-auth", data: { username: b64("u"), password: b64("p") } },
        "n",
        "c",
        "x",
      ),
    ).toEqual({
      ok: true,
      auth: { username: "u", password: "p" },
    });
    const docker = { auths: { "https://index.docker.io/v1/": { auth: b64("me:pw") } } };
    expect(
      readCredentials(
        {
          type: "kubernetes.io/dockerconfigjson",
          data: { ".dockerconfigjson": b64(JSON.stringify(docker)) },
        },
        "n",
        "c",
        "docker.io",
      ),
    ).toEqual({
      ok: true,
      auth: { username: "me", password: "pw" },
    });
    expect(
      readCredentials(
        {
          type: "kubernetes.io/dockerconfigjson",
          data: { ".dockerconfigjson": b64(JSON.stringify(docker)) },
        },
        "n",
        "c",
        "quay.io",
      ),
    ).toMatchObject({
      ok: false,
      reason: "SecretInvalid",
      message: "Secret n/c has no auths entry for quay.io",
    });
    expect(readCredentials({ type: "Opaque", data: {} }, "n", "c", "x")).toMatchObject({
      ok: false,
      reason: "SecretInvalid",
    });
  });
});

describe("client certificate", () => {
  test("a kubernetes.io/tls Secret gives cert and key; anything else a reason", () => {
    expect(readClientCertificate(undefined, "n", "t")).toMatchObject({
      ok: false,
      reason: "ClientCertificateNotFound",
    });
    expect(readClientCertificate({ type: "Opaque", data: {} }, "n", "t")).toMatchObject({
      ok: false,
      reason: "ClientCertificateInvalid",
    });
    expect(
      readClientCertificate(
        { type: "kubernetes.io/tls", data: { "tls.crt": b64("C"), "tls.key": b64("K") } },
        "n",
        "t",
      ),
    ).toEqual({
      ok: true,
      cert: "C",
      key: "K",
    });
  });
});

describe("status", () => {
  test("counts nodes that applied this generation and summarises mirror health", () => {
    const r = registry({
      status: {
        nodes: [
          {
            node: "a",
            observedGeneration: 2,
            applied: true,
            mirrors: [{ url: "http://m1", healthy: true, latencyMs: 4 }],
          },
          {
            node: "b",
            observedGeneration: 1,
            applied: true,
            mirrors: [
              {
                url: "http://m1",
                healthy: false,
                latencyMs: 2000,
                message: "GET /v2/: ECONNREFUSED",
              },
            ],
          },
          { node: "gone", observedGeneration: 2, applied: true },
        ],
      },
    });
    const s = computeRegistryStatus(r, { selectedNodes: ["a", "b"] });
    expect(s).toMatchObject({ nodesApplied: 1, nodesTotal: 2, observedGeneration: 2 });
    expect(s.mirrors).toEqual([
      {
        url: "http://m1",
        healthyNodes: 1,
        unhealthyNodes: 1,
        latencyMs: 2000,
        message: "b: GET /v2/: ECONNREFUSED",
      },
    ]);
    expect(s.conditions.map((c) => [c.type, c.status, c.reason])).toEqual([
      ["Deployed", "False", "NotRequested"],
      ["MirrorsHealthy", "False", "MirrorUnhealthy"],
      ["Ready", "False", "NodesPending"],
    ]);
  });

  test("credentials problems come first in Ready", () => {
    const s = computeRegistryStatus(registry(), {
      selectedNodes: [],
      credentials: {
        ok: false,
        reason: "SecretNotFound",
        message: "Secret skiff-system/c not found",
      },
    });
    expect(s.conditions.find((c) => c.type === "Ready")).toEqual({
      type: "Ready",
      status: "False",
      reason: "SecretNotFound",
      message: "Secret skiff-system/c not found",
    });
  });
});

describe("cache", () => {
  test("a Deployment proxying the upstream, a Service and a claim, all owned by the Registry", () => {
    const r = registry({
      spec: {
        ...registry().spec,
        deploy: { port: 5000, storage: { type: "PersistentVolumeClaim", size: "5Gi" } },
      },
    });
    const o = cacheObjects(r, defaultSettings);
    expect(o.deployment.metadata.namespace).toBe("skiff-system");
    expect(o.deployment.metadata.ownerReferences).toEqual([
      {
        apiVersion: "skiff.dev/v1alpha1",
        kind: "Registry",
        name: "hub",
        uid: "u-1",
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    const env = o.deployment.spec?.template.spec?.containers[0]?.env;
    expect(env).toContainEqual({
      name: "REGISTRY_PROXY_REMOTEURL",
      value: "https://registry-1.docker.io",
    });
    expect(o.deployment.spec?.template.spec?.volumes?.[0]).toEqual({
      name: "storage",
      persistentVolumeClaim: { claimName: "hub-cache" },
    });
    expect(o.claim?.spec?.resources?.requests).toEqual({ storage: "5Gi" });
    expect(o.service.spec?.ports).toEqual([{ name: "registry", port: 5000, targetPort: 5000 }]);
  });
});
