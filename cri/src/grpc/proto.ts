/**
 * The service definitions Skiff serves: the vendored CRI api.proto (runtime.v1) and
 * Skiff's own skiff.v1 services, parsed with protobufjs into the definitions
 * @grpc/proto-loader makes, with the same options as the generated types in generated/
 * (keepCase, longs and enums as strings, defaults, oneofs).
 *
 * proto-loader itself is not used at run time: its loadSync also builds, eagerly, a
 * descriptor object for every message and enum of the files and for both sides of every
 * method, and the encoded file descriptors — 5 MiB of skiff-cri's idle RSS, for
 * what only reflection-style readers look at. Here a method's requestType/responseType
 * descriptors are made when first read. The package object holds the services only (no
 * message or enum definitions).
 */
import { loadPackageDefinition, type GrpcObject, type ServiceDefinition } from "@grpc/grpc-js";
import type {
  MessageTypeDefinition,
  MethodDefinition,
  MethodOptions,
  Options,
} from "@grpc/proto-loader";
import { readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { isAbsolute, join, resolve } from "node:path";
import protobuf from "protobufjs";

export const protoDir = resolve(import.meta.dirname, "../../../../proto");

export const loaderOptions: Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [protoDir],
};

/** proto-loader's options for descriptor objects. */
const descriptorOptions: protobuf.IConversionOptions = {
  longs: String,
  enums: String,
  bytes: String,
  defaults: true,
  oneofs: true,
  json: true,
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
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => (isAbsolute(target) ? target : join(protoDir, target));
  root.loadSync(["runtime/v1/api.proto", ...skiffFiles], loaderOptions);
  root.resolveAll();
  const definitions = new Definitions(root);
  const all: Record<string, ServiceDefinition> = {};
  for (const [name, service] of servicesIn(root, ""))
    all[name] = definitions.service(service, name);
  const service = (name: string): ServiceDefinition => {
    const found = all[name];
    if (!found) throw new Error(`proto service ${name} not found`);
    return found;
  };
  const skiff: Record<string, ServiceDefinition> = {};
  for (const [name, definition] of Object.entries(all)) {
    if (name.startsWith("skiff.v1.")) skiff[name.slice("skiff.v1.".length)] = definition;
  }
  cached = {
    grpc: loadPackageDefinition(all),
    services: {
      runtime: service("runtime.v1.RuntimeService"),
      image: service("runtime.v1.ImageService"),
      skiff,
    },
  };
  return cached;
}

function* servicesIn(
  namespace: protobuf.NamespaceBase,
  prefix: string,
): Generator<[string, protobuf.Service]> {
  for (const object of namespace.nestedArray) {
    const name = prefix ? `${prefix}.${object.name}` : object.name;
    if (object instanceof protobuf.Service) yield [name, object];
    else if (object instanceof protobuf.Namespace) yield* servicesIn(object, name);
  }
}

/** proto-loader's method and message definitions, its descriptors made on first read. */
class Definitions {
  private files: Buffer[] | undefined;

  constructor(private readonly root: protobuf.Root) {}

  service(service: protobuf.Service, name: string): ServiceDefinition {
    const definition: Record<string, MethodDefinition<object, object>> = {};
    for (const method of service.methodsArray) {
      definition[method.name] = this.method(method, name);
    }
    return definition as ServiceDefinition;
  }

  private method(method: protobuf.Method, service: string): MethodDefinition<object, object> {
    // resolveAll() has run: both types are set
    const request = this.message(method.resolvedRequestType!);
    const response = this.message(method.resolvedResponseType!);
    return {
      path: `/${service}/${method.name}`,
      requestStream: !!method.requestStream,
      responseStream: !!method.responseStream,
      requestSerialize: request.serialize,
      requestDeserialize: request.deserialize,
      responseSerialize: response.serialize,
      responseDeserialize: response.deserialize,
      // proto-loader's lodash camelCase, which for these PascalCase names only lowers the first letter
      originalName: method.name.charAt(0).toLowerCase() + method.name.slice(1),
      requestType: request,
      responseType: response,
      options: methodOptions(method.parsedOptions),
    };
  }

  private message(type: protobuf.Type): MessageTypeDefinition<object, object> {
    let descriptor: object | undefined;
    const files = (): Buffer[] => this.fileDescriptors();
    return {
      format: "Protocol Buffer 3 DescriptorProto",
      get type(): object {
        if (!descriptor) {
          loadDescriptorExtension();
          const message = type.toDescriptor("proto3");
          descriptor = message.$type.toObject(message, descriptorOptions);
        }
        return descriptor;
      },
      get fileDescriptorProtos(): Buffer[] {
        return files();
      },
      serialize: (value: object): Buffer => {
        if (Array.isArray(value)) {
          throw new Error(
            `Failed to serialize message: expected object with ${type.name} structure, got array instead`,
          );
        }
        return type.encode(type.fromObject(value)).finish() as Buffer;
      },
      deserialize: (bytes: Buffer): object => type.toObject(type.decode(bytes), loaderOptions),
    };
  }

  private fileDescriptors(): Buffer[] {
    if (!this.files) {
      const { FileDescriptorProto } = loadDescriptorExtension();
      const files = this.root.toDescriptor("proto3").file;
      this.files = files.map((f) => Buffer.from(FileDescriptorProto.encode(f).finish()));
    }
    return this.files;
  }
}

/** protobufjs's descriptor extension (toDescriptor on its types), loaded on first use. */
function loadDescriptorExtension(): typeof import("protobufjs/ext/descriptor/index.js") {
  return createRequire(import.meta.url)("protobufjs/ext/descriptor/index.js");
}

function methodOptions(parsed: Record<string, unknown>[] | undefined): MethodOptions {
  const options: MethodOptions = {
    deprecated: false,
    idempotency_level: "IDEMPOTENCY_UNKNOWN" as MethodOptions["idempotency_level"],
    uninterpreted_option: [],
  };
  for (const item of parsed ?? []) {
    for (const [key, value] of Object.entries(item)) {
      if (key === "uninterpreted_option") options.uninterpreted_option.push(value as never);
      else options[key] = value;
    }
  }
  return options;
}
