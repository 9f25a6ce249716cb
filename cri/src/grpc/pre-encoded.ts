/**
 * Responses encoded ahead of time. A handler that answers a long list of items whose
 * encodings it keeps (ListContainers) returns PreEncoded bytes, and the serializers of a
 * service passed through passPreEncoded send them as they are. A repeated message field
 * is encoded as its elements' encodings one after another, so a list response is the
 * concatenation of one-item responses of the same method.
 */
import type { ServiceDefinition } from "@grpc/grpc-js";

export class PreEncoded {
  constructor(readonly bytes: Buffer) {}
}

export function passPreEncoded(definition: ServiceDefinition): ServiceDefinition {
  return Object.fromEntries(
    Object.entries(definition).map(([name, method]) => [
      name,
      {
        ...method,
        responseSerialize: (value: unknown) =>
          value instanceof PreEncoded ? value.bytes : method.responseSerialize(value),
      },
    ]),
  );
}
