/**
 * OpenAPI v3 schemas as data, and the TypeScript type each one describes. The CRDs in
 * manifests/crds/ are generated from these objects (crds.ts, gen-crds.ts) and the
 * controllers' types are derived from the same objects with FromSchema, so the two
 * cannot drift. A field with a `default` is present on every object the API server
 * returns, so it is typed as required.
 */

export interface Validation {
  rule: string;
  message?: string;
  messageExpression?: string;
  reason?:
    "FieldValueInvalid" | "FieldValueForbidden" | "FieldValueRequired" | "FieldValueDuplicate";
  fieldPath?: string;
}

/** The subset of apiextensions.k8s.io/v1 JSONSchemaProps Skiff's CRDs use. */
export interface Schema {
  type?: "object" | "array" | "string" | "integer" | "number" | "boolean";
  description?: string;
  format?: string;
  properties?: Readonly<Record<string, Schema>>;
  required?: readonly string[];
  items?: Schema;
  additionalProperties?: Schema | boolean;
  enum?: readonly (string | number)[];
  default?: unknown;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  maxProperties?: number;
  nullable?: boolean;
  "x-kubernetes-validations"?: readonly Validation[];
  "x-kubernetes-list-type"?: "atomic" | "set" | "map";
  "x-kubernetes-list-map-keys"?: readonly string[];
  "x-kubernetes-map-type"?: "atomic" | "granular";
  "x-kubernetes-preserve-unknown-fields"?: boolean;
  "x-kubernetes-int-or-string"?: boolean;
}

type Simplify<T> = { [K in keyof T]: T[K] } & {};
type RequiredKeys<S> = S extends { required: readonly (infer R)[] } ? R : never;
type DefaultedKeys<P> = { [K in keyof P]: P[K] extends { default: unknown } ? K : never }[keyof P];
type ObjectFrom<P, R> = Simplify<
  {
    -readonly [K in keyof P as K extends R | DefaultedKeys<P> ? K : never]: FromSchema<P[K]>;
  } & {
    -readonly [K in keyof P as K extends R | DefaultedKeys<P> ? never : K]?: FromSchema<P[K]>;
  }
>;

/** The TS type of the values a schema accepts (after API-server defaulting). */
export type FromSchema<S> = S extends { "x-kubernetes-int-or-string": true }
  ? number | string
  : S extends { enum: readonly (infer E)[] }
    ? E
    : S extends { type: "string" }
      ? string
      : S extends { type: "integer" | "number" }
        ? number
        : S extends { type: "boolean" }
          ? boolean
          : S extends { type: "array"; items: infer I }
            ? FromSchema<I>[]
            : S extends { type: "object"; properties: infer P }
              ? ObjectFrom<P, RequiredKeys<S>>
              : S extends { type: "object"; additionalProperties: infer A }
                ? A extends Schema
                  ? Record<string, FromSchema<A>>
                  : Record<string, unknown>
                : unknown;

/** Identity with a constraint: keeps the literal type for FromSchema, checks the shape. */
export const schema = <const S extends Schema>(s: S): S => s;
