/**
 * Request bodies that are not a protobuf of the method's request type (cut short, a
 * length past the end, an invalid wire type, a known field sent with another wire
 * type). grpc-js answers a deserializer that throws with INTERNAL "Error deserializing
 * request", which reads as a fault of the server; the fault is the client's. A service
 * passed through keepUndecodable hands such a body to its handler wrapper as an
 * UndecodableRequest, and instrument.ts answers it INVALID_ARGUMENT naming the message
 * type and what the decoder found.
 */
import type { ServiceDefinition } from "@grpc/grpc-js";
import { invalidArgument, type SkiffError } from "../core/errors.js";

export class UndecodableRequest {
  constructor(
    /** "runtime.v1.RunPodSandboxRequest" */
    readonly typeName: string,
    readonly reason: string,
    readonly bytes: number,
  ) {}

  error(): SkiffError {
    return invalidArgument(
      `the request (${this.bytes} bytes) is not a valid ${this.typeName} protobuf: ${this.reason}`,
    );
  }
}

export function keepUndecodable(definition: ServiceDefinition): ServiceDefinition {
  return Object.fromEntries(
    Object.entries(definition).map(([name, method]) => [
      name,
      {
        ...method,
        requestDeserialize: (bytes: Buffer) => {
          try {
            return method.requestDeserialize(bytes);
          } catch (err) {
            const reason = err instanceof Error ? err.message : String(err);
            return new UndecodableRequest(requestTypeName(method, name), reason, bytes.length);
          }
        },
      },
    ]),
  );
}

/**
 * The request type's full name: proto-loader's definitions carry the descriptor
 * (requestType.type.name), the package is the service's ("/runtime.v1.RuntimeService/X").
 * Read only for a body that failed: a descriptor may be made on first use.
 */
function requestTypeName(method: { path: string }, rpc: string): string {
  const service = method.path.split("/")[1] ?? "";
  const pkg = service.slice(0, service.lastIndexOf("."));
  const type = (method as { requestType?: { type?: { name?: unknown } } }).requestType?.type;
  const name = typeof type?.name === "string" ? type.name : `${rpc} request`;
  return pkg ? `${pkg}.${name}` : name;
}
