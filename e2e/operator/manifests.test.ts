/**
 * manifests/ on a real control plane: `kubectl apply -k manifests/` installs everything
 * (and again, idempotently), the samples apply, the API server refuses CRs that break
 * the schema with a clear message, printer columns and short names work, and the RBAC
 * gives each component exactly what it needs.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { join } from "node:path";
import { startControlPlane, type ControlPlane } from "../harness/control-plane.js";
import { installManifests, manifestsDir } from "../harness/operator.js";

let cp: ControlPlane;

beforeAll(async () => {
  cp = await startControlPlane({
    controllers: ["namespace-controller", "serviceaccount-controller"],
  });
}, 90_000);

afterAll(async () => {
  await cp?.stop();
}, 30_000);

const refuse = (yaml: string): string => {
  const r = cp.kubectl(["apply", "-f", "-"], yaml);
  expect(r.code).not.toBe(0);
  return r.stderr;
};

describe("manifests", () => {
  test("kubectl apply -k manifests/ installs CRDs, RBAC, the operator Deployment and the agent DaemonSet, idempotently", () => {
    const out = installManifests(cp);
    for (const line of [
      "customresourcedefinition.apiextensions.k8s.io/registries.skiff.dev created",
      "customresourcedefinition.apiextensions.k8s.io/buildjobs.skiff.dev created",
      "customresourcedefinition.apiextensions.k8s.io/nodesetups.skiff.dev created",
      "deployment.apps/skiff-operator created",
      "daemonset.apps/skiff-node-agent created",
      "clusterrole.rbac.authorization.k8s.io/skiff-operator created",
      "clusterrole.rbac.authorization.k8s.io/skiff-node-agent created",
    ])
      expect(out).toContain(line);
    const again = cp.kubectl(["apply", "-k", manifestsDir]);
    expect(again.code).toBe(0);
    expect(again.stdout).not.toContain("created");
    expect(again.stdout).not.toContain("configured");
    const replicas = cp.kubectl([
      "get",
      "deploy",
      "skiff-operator",
      "-n",
      "skiff-system",
      "-o",
      "jsonpath={.spec.replicas}",
    ]);
    expect(replicas.stdout).toBe("2");
  });

  test("the samples apply and print with their columns and short names", () => {
    const r = cp.kubectl(["apply", "-f", join(manifestsDir, "samples")]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(cp.kubectl(["get", "reg"]).stdout).toMatch(
      /NAME\s+SERVER\s+READY\s+APPLIED\s+NODES\s+AGE\nregistry-example-com\s+registry.example.com/,
    );
    expect(cp.kubectl(["get", "bj"]).stdout).toMatch(
      /NAME\s+PHASE\s+IMAGE\s+AGE\nhello\s+registry.example.com\/demo\/hello:1.0/,
    );
    expect(cp.kubectl(["get", "nsu"]).stdout).toMatch(
      /NAME\s+READY\s+NODES-READY\s+NODES-FAILED\s+NODES\s+AGE\nkubeadm-prerequisites/,
    );
    expect(
      cp.kubectl(["get", "skiff", "-A", "-o", "name"]).stdout.split("\n").filter(Boolean),
    ).toHaveLength(4);
    // Defaults are applied by the API server.
    const defaulted = JSON.parse(
      cp.kubectl(["get", "reg", "registry-example-com", "-o", "json"]).stdout,
    ) as { spec: { insecure: boolean; mirrors: unknown[] } };
    expect(defaulted.spec).toMatchObject({ insecure: false, mirrors: [] });
  });

  test("the API server refuses CRs that break the schema, saying why", () => {
    expect(
      refuse(`apiVersion: skiff.dev/v1alpha1
kind: Registry
metadata: {name: bad-server}
spec: {server: "https://docker.io/"}
`),
    ).toContain("spec.server: Invalid value");
    expect(
      refuse(`apiVersion: skiff.dev/v1alpha1
kind: Registry
metadata: {name: bad-mirrors}
spec:
  server: docker.io
  mirrors: [{url: "http://a:5000"}, {url: "http://a:5000"}, {url: "ftp://b"}]
`),
    ).toMatch(
      /^(?=[\s\S]*spec.mirrors: Duplicate value)(?=[\s\S]*spec.mirrors\[2\].url: Invalid value: "ftp:\/\/b")/,
    );
    expect(
      refuse(`apiVersion: skiff.dev/v1alpha1
kind: Registry
metadata: {name: bad-tls}
spec:
  server: docker.io
  mirrors: [{url: "http://a:5000", insecureSkipVerify: true}]
`),
    ).toContain(
      "spec.mirrors[0].insecureSkipVerify: Invalid value: insecureSkipVerify applies only to an https:// mirror",
    );
    expect(
      refuse(`apiVersion: skiff.dev/v1alpha1
kind: Registry
metadata: {name: bad-pvc}
spec:
  server: docker.io
  deploy: {storage: {type: PersistentVolumeClaim}}
`),
    ).toContain("size is required when storage type is PersistentVolumeClaim");
    expect(
      refuse(`apiVersion: skiff.dev/v1alpha1
kind: NodeSetup
metadata: {name: bad-sysctl}
spec:
  sysctls: {net.ipv4.ip_forward: "1\\nkernel.core_pattern=|/evil"}
`),
    ).toContain("sysctl values may not contain =, +, newlines or other separators");
    expect(
      refuse(`apiVersion: skiff.dev/v1alpha1
kind: NodeSetup
metadata: {name: bad-install}
spec:
  skiff: {install: true}
`),
    ).toContain("spec.skiff: Required value: version is required when install is true");
    expect(
      refuse(`apiVersion: skiff.dev/v1alpha1
kind: NodeSetup
metadata: {name: bad-swap}
spec:
  swap: {policy: Sometimes}
`),
    ).toContain('spec.swap.policy: Unsupported value: "Sometimes"');
    expect(
      refuse(`apiVersion: skiff.dev/v1alpha1
kind: BuildJob
metadata: {name: bad-build, namespace: default}
spec:
  source: {configMap: {name: ctx}}
  output: {image: x}
  timeoutSeconds: 0
  platforms: [amd64]
`),
    ).toMatch(
      /^(?=[\s\S]*spec.platforms\[0\]: Invalid value: "amd64")(?=[\s\S]*spec.timeoutSeconds: Invalid value: 0)/,
    );
    expect(
      refuse(`apiVersion: skiff.dev/v1alpha1
kind: BuildJob
metadata: {name: no-source, namespace: default}
spec:
  source: {}
  output: {image: x}
`),
    ).toContain(
      "spec.source: Invalid value: source needs exactly one of configMap, persistentVolumeClaim, git",
    );
    expect(
      refuse(`apiVersion: skiff.dev/v1alpha1
kind: BuildJob
metadata: {name: no-output, namespace: default}
spec:
  source: {git: {url: "https://example.com/x.git"}}
`),
    ).toContain("spec.output: Required value");
  });

  test("RBAC gives each component what it needs and no more", () => {
    const can = (sa: string, args: string[]) =>
      cp
        .kubectl(["auth", "can-i", `--as=system:serviceaccount:skiff-system:${sa}`, ...args])
        .stdout.trim();
    // The operator.
    expect(can("skiff-operator", ["watch", "registries.skiff.dev"])).toBe("yes");
    expect(can("skiff-operator", ["patch", "registries.skiff.dev", "--subresource=status"])).toBe(
      "yes",
    );
    expect(can("skiff-operator", ["delete", "buildjobs.skiff.dev", "-n", "team-a"])).toBe("yes");
    expect(can("skiff-operator", ["create", "jobs.batch", "-n", "team-a"])).toBe("yes");
    expect(can("skiff-operator", ["delete", "jobs.batch", "-n", "team-a"])).toBe("no");
    expect(can("skiff-operator", ["delete", "registries.skiff.dev"])).toBe("no");
    expect(can("skiff-operator", ["list", "secrets", "-n", "team-a"])).toBe("no");
    expect(can("skiff-operator", ["create", "deployments.apps", "-n", "skiff-system"])).toBe("yes");
    expect(can("skiff-operator", ["create", "deployments.apps", "-n", "default"])).toBe("no");
    expect(
      can("skiff-operator", [
        "update",
        "leases.coordination.k8s.io/skiff-operator",
        "-n",
        "skiff-system",
      ]),
    ).toBe("yes");
    expect(
      can("skiff-operator", [
        "update",
        "leases.coordination.k8s.io/kube-scheduler",
        "-n",
        "skiff-system",
      ]),
    ).toBe("no");
    // The node agent.
    expect(can("skiff-node-agent", ["watch", "nodesetups.skiff.dev"])).toBe("yes");
    expect(can("skiff-node-agent", ["patch", "nodesetups.skiff.dev", "--subresource=status"])).toBe(
      "yes",
    );
    expect(can("skiff-node-agent", ["patch", "nodesetups.skiff.dev"])).toBe("no");
    expect(
      can("skiff-node-agent", ["update", "nodesetups.skiff.dev", "--subresource=status"]),
    ).toBe("no");
    expect(can("skiff-node-agent", ["get", "secrets", "-n", "skiff-system"])).toBe("yes");
    expect(can("skiff-node-agent", ["get", "secrets", "-n", "default"])).toBe("no");
    expect(can("skiff-node-agent", ["update", "nodes"])).toBe("no");
  });
});
