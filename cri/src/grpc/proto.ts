/**
 * Loads the service definitions Skiff serves: the vendored CRI api.proto (runtime.v1)
 * and Skiff's own skiff.v1 services. Loader options match the generated types in
 * generated/ (keepCase, longs and enums as strings, defaults, oneofs).
 */
import { loadPackageDefinition, type GrpcObject, type ServiceDefinition } from "@grpc/grpc-js";
import { loadSync, type Options } from "@grpc/proto-loader";
import { readdirSync } from "node:fs";
import { join, resolve } from "node:path";

export const protoDir = resolve(import.meta.dirname, "../../../../proto");

export const loaderOptions: Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [protoDir],
};

export interface ServiceDefinitions {
  runtime: ServiceDefinition;
  image: ServiceDefinition;
  skiff: Record<string, ServiceDefinition>;
}

let cached: { grpc: GrpcObject; services: ServiceDefinitions } | undefined;

export function loadServices(): ServiceDefinitions {
  return load().services;
}

/** The loaded package object (for clients: `new (pkg.runtime.v1.RuntimeService)(...)`). */
export function loadGrpcObject(): GrpcObject {
  return load().grpc;
}

function load(): { grpc: GrpcObject; services: ServiceDefinitions } {
  if (cached) return cached;
  const skiffFiles = readdirSync(join(protoDir, "skiff/v1"))
    .filter((f) => f.endsWith(".proto"))
    .map((f) => `skiff/v1/${f}`);
  const definition = loadSync(["runtime/v1/api.proto", ...skiffFiles], loaderOptions);
  const grpc = loadPackageDefinition(definition);
  const service = (name: string): ServiceDefinition => {
    const found = definition[name];
    if (!isService(found)) {
      throw new Error(`proto service ${name} not found`);
    }
    return found as ServiceDefinition;
  };
  const skiff: Record<string, ServiceDefinition> = {};
  for (const name of Object.keys(definition)) {
    if (name.startsWith("skiff.v1.") && isService(definition[name])) {
      skiff[name.slice("skiff.v1.".length)] = definition[name] as ServiceDefinition;
    }
  }
  cached = {
    grpc,
    services: {
      runtime: service("runtime.v1.RuntimeService"),
      image: service("runtime.v1.ImageService"),
      skiff,
    },
  };
  return cached;
}

function isService(value: unknown): boolean {
  if (typeof value !== "object" || value === null || "format" in value) return false;
  return Object.values(value).every(
    (m) => typeof m === "object" && m !== null && "requestStream" in m,
  );
}
