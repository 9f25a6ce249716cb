import { describe, expect, test } from "@jest/globals";
import { loadSync, type MethodDefinition, type PackageDefinition } from "@grpc/proto-loader";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { loaderOptions, loadServices, protoDir } from "./proto.js";

// The definitions proto.ts builds must be the ones @grpc/proto-loader builds from the same
// files and options: the generated types and every client and server rely on that shape.
const files = [
  "runtime/v1/api.proto",
  ...readdirSync(join(protoDir, "skiff/v1"))
    .filter((f) => f.endsWith(".proto"))
    .map((f) => `skiff/v1/${f}`),
];

function serviceNames(pkg: PackageDefinition): string[] {
  return Object.keys(pkg)
    .filter((name) => !("format" in pkg[name]!))
    .sort();
}

describe("loadServices", () => {
  const reference = loadSync(files, loaderOptions);
  const services = loadServices();
  const ours: Record<string, Record<string, MethodDefinition<object, object>>> = {
    "runtime.v1.RuntimeService": services.runtime,
    "runtime.v1.ImageService": services.image,
  } as never;
  for (const [name, definition] of Object.entries(services.skiff)) {
    ours[`skiff.v1.${name}`] = definition as never;
  }

  test("serves every service of the files", () => {
    expect(Object.keys(ours).sort()).toEqual(serviceNames(reference));
  });

  test("each method matches proto-loader's, descriptors included", () => {
    for (const service of serviceNames(reference)) {
      const want = reference[service] as Record<string, MethodDefinition<object, object>>;
      const got = ours[service]!;
      expect(Object.keys(got)).toEqual(Object.keys(want));
      for (const [name, w] of Object.entries(want)) {
        const g = got[name]!;
        const where = `${service}/${name}`;
        expect({ where, path: g.path }).toEqual({ where, path: w.path });
        expect(g.requestStream).toBe(w.requestStream);
        expect(g.responseStream).toBe(w.responseStream);
        expect({ where, name: g.originalName }).toEqual({ where, name: w.originalName });
        expect(g.options).toEqual(w.options);
        expect(g.requestType.format).toBe(w.requestType.format);
        expect(g.requestType.type).toEqual(w.requestType.type);
        expect(g.responseType.type).toEqual(w.responseType.type);
      }
    }
    const first = Object.values(services.runtime)[0] as MethodDefinition<object, object>;
    const firstRef = Object.values(
      reference["runtime.v1.RuntimeService"] as Record<string, MethodDefinition<object, object>>,
    )[0]!;
    expect(first.requestType.fileDescriptorProtos).toEqual(
      firstRef.requestType.fileDescriptorProtos,
    );
  });

  test("encodes and decodes as proto-loader does (int64 as strings, enums, maps, defaults)", () => {
    const run = (
      reference["runtime.v1.RuntimeService"] as Record<string, MethodDefinition<object, object>>
    )["RunPodSandbox"]!;
    const ourRun = services.runtime["RunPodSandbox"] as MethodDefinition<object, object>;
    const request = {
      config: {
        metadata: { name: "p", uid: "u", namespace: "n", attempt: 2 },
        labels: { a: "b" },
        linux: {
          cgroup_parent: "/kubepods",
          security_context: {
            namespace_options: { network: "NODE", pid: "CONTAINER" },
            supplemental_groups: ["1000", "4294967296"],
          },
          sysctls: { "net.ipv4.ip_forward": "1" },
        },
      },
      runtime_handler: "",
    };
    const bytes = ourRun.requestSerialize(request);
    expect(bytes).toEqual(run.requestSerialize(request));
    expect(ourRun.requestDeserialize(bytes)).toEqual(run.requestDeserialize(bytes));
    expect(ourRun.requestDeserialize(Buffer.alloc(0))).toEqual(
      run.requestDeserialize(Buffer.alloc(0)),
    );
    expect(() => ourRun.requestSerialize([] as never)).toThrow(/got array instead/);

    const status = services.runtime["PodSandboxStatus"] as MethodDefinition<object, object>;
    const refStatus = (
      reference["runtime.v1.RuntimeService"] as Record<string, MethodDefinition<object, object>>
    )["PodSandboxStatus"]!;
    const response = {
      status: { id: "x", state: "SANDBOX_READY", created_at: "1700000000000000000" },
      info: { k: "v" },
    };
    const encoded = status.responseSerialize(response);
    expect(encoded).toEqual(refStatus.responseSerialize(response));
    expect(status.responseDeserialize(encoded)).toEqual(refStatus.responseDeserialize(encoded));
  });
});
