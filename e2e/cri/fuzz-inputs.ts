/**
 * Inputs for fuzzing gRPC services described by proto-loader's descriptors: a seeded
 * PRNG, random messages shaped by the schema, raw protobuf wire records (any field
 * number with any wire type, lengths that lie, invalid wire types), and mutations of
 * valid requests at the object level (a field dropped, replaced, pushed to an extreme,
 * set to a live object's id) and at the wire level (a record dropped, duplicated,
 * re-typed, its payload replaced or cut short, also inside nested messages). Every input
 * is a pure function of the PRNG's seed, so a failure replays with the same seed.
 */
import type { PackageDefinition } from "@grpc/proto-loader";

/** sfc32, seeded through splitmix32: small, fast, reproducible (not for secrets). */
export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const split = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = split();
    this.b = split();
    this.c = split();
    this.d = split();
    for (let i = 0; i < 12; i++) this.u32();
  }

  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return n <= 0 ? 0 : Math.floor((this.u32() / 4294967296) * n);
  }

  /** An integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.u32() / 4294967296 < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error("pick from an empty list");
    return items[this.int(items.length)] as T;
  }

  bytes(n: number): Buffer {
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff;
    return out;
  }
}

/** A seed of its own for each `name` (an RPC), so one RPC's inputs replay alone. */
export function seedFor(seed: number, name: string): number {
  let h = 0x811c9dc5 ^ seed;
  for (const ch of name) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193);
  return h >>> 0;
}

export type FieldKind =
  | "string"
  | "bytes"
  | "bool"
  | "int32"
  | "uint32"
  | "int64"
  | "uint64"
  | "double"
  | "float"
  | "enum"
  | "message";

export interface FieldSchema {
  name: string;
  number: number;
  kind: FieldKind;
  repeated: boolean;
  /** The full name of the message or enum type. */
  typeName: string;
  /** The key and value of a map field. */
  map?: { key: FieldSchema; value: FieldSchema };
}

interface FieldDescriptor {
  name: string;
  number: number;
  label: string;
  type: string;
  typeName: string;
}

interface EnumDescriptor {
  name: string;
  value: { name: string; number: number }[];
}

interface Descriptor {
  name?: string;
  field: FieldDescriptor[];
  nestedType: Descriptor[];
  enumType?: EnumDescriptor[];
  options?: { mapEntry?: boolean } | null;
}

const kinds: Record<string, FieldKind> = {
  TYPE_STRING: "string",
  TYPE_BYTES: "bytes",
  TYPE_BOOL: "bool",
  TYPE_INT32: "int32",
  TYPE_SINT32: "int32",
  TYPE_SFIXED32: "int32",
  TYPE_UINT32: "uint32",
  TYPE_FIXED32: "uint32",
  TYPE_INT64: "int64",
  TYPE_SINT64: "int64",
  TYPE_SFIXED64: "int64",
  TYPE_UINT64: "uint64",
  TYPE_FIXED64: "uint64",
  TYPE_DOUBLE: "double",
  TYPE_FLOAT: "float",
  TYPE_ENUM: "enum",
  TYPE_MESSAGE: "message",
};

/** The wire type a field of `kind` is encoded with. */
export function wireTypeOf(kind: FieldKind): number {
  switch (kind) {
    case "string":
    case "bytes":
    case "message":
      return 2;
    case "double":
      return 1;
    case "float":
      return 5;
    default:
      return 0;
  }
}

/** The message and enum types of one proto package, from proto-loader's descriptors. */
export class Schema {
  private readonly cache = new Map<string, FieldSchema[]>();

  constructor(
    private readonly definitions: PackageDefinition,
    private readonly packageName: string,
  ) {}

  fields(typeName: string): FieldSchema[] {
    const cached = this.cache.get(typeName);
    if (cached) return cached;
    const descriptor = this.descriptor(typeName);
    const fields = descriptor.field.map((f) => this.toField(typeName, descriptor, f));
    this.cache.set(typeName, fields);
    return fields;
  }

  enumValues(typeName: string): { name: string; number: number }[] {
    const definition = this.definitions[typeName] as { type?: EnumDescriptor } | undefined;
    if (Array.isArray(definition?.type?.value)) return definition.type.value;
    // a nested enum: "<parent>.<name>"
    const cut = typeName.lastIndexOf(".");
    const parent = this.descriptor(typeName.slice(0, cut));
    const nested = parent.enumType?.find((e) => e.name === typeName.slice(cut + 1));
    if (!nested) throw new Error(`no enum named ${typeName}`);
    return nested.value;
  }

  private descriptor(typeName: string): Descriptor {
    const top = this.definitions[typeName] as { type?: Descriptor } | undefined;
    if (top?.type?.field) return top.type;
    // a nested type (a map entry): "<parent>.<name>"
    const cut = typeName.lastIndexOf(".");
    const parent = this.descriptor(typeName.slice(0, cut));
    const nested = parent.nestedType.find((n) => n.name === typeName.slice(cut + 1));
    if (!nested) throw new Error(`no message type named ${typeName}`);
    return nested;
  }

  private toField(parentName: string, parent: Descriptor, f: FieldDescriptor): FieldSchema {
    const kind = kinds[f.type];
    if (!kind) throw new Error(`${parentName}.${f.name}: field type ${f.type} is not handled`);
    let typeName = "";
    let map: FieldSchema["map"];
    if (kind === "message" || kind === "enum") {
      const nested = parent.nestedType.find((n) => n.name === f.typeName);
      const nestedEnum = parent.enumType?.some((e) => e.name === f.typeName);
      typeName = f.typeName.startsWith(".")
        ? f.typeName.slice(1)
        : nested || nestedEnum
          ? `${parentName}.${f.typeName}`
          : `${this.packageName}.${f.typeName}`;
      if (nested?.options?.mapEntry) {
        const [key, value] = nested.field.map((e) => this.toField(typeName, nested, e));
        if (key && value) map = { key, value };
      }
    }
    const schema: FieldSchema = {
      name: f.name,
      number: f.number,
      kind,
      repeated: f.label === "LABEL_REPEATED",
      typeName,
    };
    if (map) schema.map = map;
    return schema;
  }
}

/** Strings that have broken parsers, paths, shells, SQL and loggers elsewhere. */
const nastyStrings = [
  "../../../../etc/passwd",
  "/etc/passwd",
  "/",
  ".",
  "..",
  "a/../../b",
  "\0",
  "a\0b",
  "line\nbreak",
  "\r\n",
  "tab\there",
  "%s%s%n%x",
  "' OR '1'='1' --",
  "'; DROP TABLE containers; --",
  "${jndi:ldap://x}",
  "$(id)",
  "`id`",
  "\u202etxt.exe",
  "\u{1f600}",
  "\ud800",
  "\uffff",
  "a=b+c",
  " ",
  "-",
  "--help",
  "localhost/x",
  "runtime/default",
  "unconfined",
  "NODE",
  "POD",
  "CONTAINER_RUNNING",
  "SANDBOX_READY",
  "sha256:",
  "sha256:" + "0".repeat(64),
  "docker.io/library/busybox:latest",
  "@sha256:zz",
  "a:b:c",
  "::1",
  "256.256.256.256",
  "10.0.0.0/33",
  "__proto__",
  "constructor",
  "toString",
  "{}",
  "null",
  "NaN",
  "-1",
  "18446744073709551616",
];

const int64Extremes = [
  "0",
  "1",
  "-1",
  "9223372036854775807",
  "-9223372036854775808",
  "9007199254740993",
  "-9007199254740993",
  "4294967296",
  "-4294967296",
];
const uint64Extremes = ["0", "1", "18446744073709551615", "9223372036854775808", "4294967296"];
const int32Extremes = [0, 1, -1, 2147483647, -2147483648, 65535, 65536, -65536];
const uint32Extremes = [0, 1, 4294967295, 2147483648, 65535, 65536];
const doubleExtremes = [
  0,
  -0,
  1.5,
  -1,
  NaN,
  Infinity,
  -Infinity,
  1e308,
  -1e308,
  5e-324,
  2 ** 53 + 2,
];

/** A record of a protobuf message on the wire; `raw` replaces the whole encoding. */
export interface WireRecord {
  field: number;
  wire: number;
  /** varint bytes (0), 8 bytes (1), the content (2), 4 bytes (5), nothing (3, 4) */
  payload: Buffer;
  raw?: Buffer;
}

export function varint(value: bigint): Buffer {
  let v = BigInt.asUintN(64, value);
  const out: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) byte |= 0x80;
    out.push(byte);
  } while (v !== 0n);
  return Buffer.from(out);
}

export function encodeRecords(records: readonly WireRecord[]): Buffer {
  return Buffer.concat(
    records.map((r) => {
      if (r.raw) return r.raw;
      const tag = varint((BigInt(r.field) << 3n) | BigInt(r.wire & 7));
      return r.wire === 2
        ? Buffer.concat([tag, varint(BigInt(r.payload.length)), r.payload])
        : Buffer.concat([tag, r.payload]);
    }),
  );
}

/** The records of a well-formed message (groups not descended), or undefined. */
export function parseRecords(buf: Buffer): WireRecord[] | undefined {
  const out: WireRecord[] = [];
  let pos = 0;
  const readVarint = (): bigint | undefined => {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      const byte = buf[pos++];
      if (byte === undefined) return undefined;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
    }
    return undefined;
  };
  while (pos < buf.length) {
    const tag = readVarint();
    if (tag === undefined) return undefined;
    const field = Number(tag >> 3n);
    const wire = Number(tag & 7n);
    const start = pos;
    switch (wire) {
      case 0:
        if (readVarint() === undefined) return undefined;
        break;
      case 1:
        pos += 8;
        break;
      case 5:
        pos += 4;
        break;
      case 2: {
        const length = readVarint();
        if (length === undefined) return undefined;
        const from = pos;
        pos += Number(length);
        if (pos > buf.length) return undefined;
        out.push({ field, wire, payload: buf.subarray(from, pos) });
        continue;
      }
      default:
        return undefined;
    }
    if (pos > buf.length || field === 0) return undefined;
    out.push({ field, wire, payload: buf.subarray(start, pos) });
  }
  return out;
}

/** What the generator may use besides random values: the ids of live objects. */
export interface KnownValues {
  /** Ids and names worth hitting (a live pod's, container's, image's). */
  ids(): string[];
}

/**
 * Random and mutated messages of the types in `schema`. At most one huge (≥ 1 MiB)
 * string per input; begin() starts an input.
 */
export class Generator {
  private hugeLeft = 1;
  private short = false;

  constructor(
    readonly schema: Schema,
    readonly prng: Prng,
    private readonly known: KnownValues,
  ) {}

  begin(): void {
    this.hugeLeft = 1;
  }

  /** A random message of `typeName`: each field present or not, nested up to 5 deep. */
  message(typeName: string, depth = 0): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const presence = depth === 0 ? 0.8 : depth < 3 ? 0.5 : 0.2;
    for (const field of this.schema.fields(typeName)) {
      if (!this.prng.chance(presence)) continue;
      if (field.kind === "message" && !field.map && depth >= 5) continue;
      out[field.name] = this.value(field, depth);
    }
    return out;
  }

  /** A random value for `field` (a list, a map or one value). */
  value(field: FieldSchema, depth: number): unknown {
    const n = this.prng.chance(0.02) ? this.prng.range(100, 1500) : this.prng.int(4);
    const item = (f: FieldSchema) =>
      n > 3 ? this.bounded(() => this.single(f, depth + 1)) : this.single(f, depth + 1);
    if (field.map) {
      const { key, value } = field.map;
      const map: Record<string, unknown> = {};
      for (let i = 0; i < n; i++) map[String(item(key))] = item(value);
      return map;
    }
    if (field.repeated) return Array.from({ length: n }, () => item(field));
    return this.single(field, depth);
  }

  /** Values for long lists and maps: short strings only, so the message stays far below 16 MiB. */
  private bounded<T>(fn: () => T): T {
    const was = this.short;
    this.short = true;
    try {
      return fn();
    } finally {
      this.short = was;
    }
  }

  single(field: FieldSchema, depth: number): unknown {
    const p = this.prng;
    switch (field.kind) {
      case "string":
        return this.string();
      case "bytes":
        return p.bytes(p.int(64));
      case "bool":
        return p.chance(0.5);
      case "int32":
        return p.chance(0.5) ? p.pick(int32Extremes) : p.range(-1000, 100_000);
      case "uint32":
        return p.chance(0.5) ? p.pick(uint32Extremes) : p.range(0, 100_000);
      case "int64":
        return p.chance(0.5) ? p.pick(int64Extremes) : String(p.range(-1_000_000, 10_000_000_000));
      case "uint64":
        return p.chance(0.5) ? p.pick(uint64Extremes) : String(p.range(0, 10_000_000_000));
      case "double":
      case "float":
        return p.chance(0.5) ? p.pick(doubleExtremes) : (p.u32() - 2 ** 31) / 1000;
      case "enum": {
        const values = this.schema.enumValues(field.typeName);
        if (p.chance(0.8)) return p.pick(values).name;
        return p.pick([-1, 99, 2147483647, -2147483648, values.length]);
      }
      case "message":
        return this.message(field.typeName, depth + 1);
    }
  }

  string(): string {
    const p = this.prng;
    if (this.short) return p.chance(0.8) ? this.word() : p.pick(nastyStrings);
    switch (p.int(12)) {
      case 0:
        return "";
      case 1:
      case 2: {
        const ids = this.known.ids();
        const id = ids.length > 0 ? p.pick(ids) : "";
        const cut = p.int(4);
        return cut === 0 ? id : cut === 1 ? id.slice(0, p.range(1, 12)) : cut === 2 ? `${id}x` : id;
      }
      case 3:
        return p.bytes(32).toString("hex");
      case 4:
      case 5:
        return p.pick(nastyStrings);
      case 6:
        return p.pick(["a", "x", "/", "é", "\u{1f600}"]).repeat(p.range(256, 9000));
      case 7:
        return String.fromCodePoint(
          ...Array.from({ length: p.range(1, 40) }, () => this.codePoint()),
        );
      case 8:
        return p.bytes(p.range(1, 40)).toString("latin1");
      case 9:
        if (this.hugeLeft > 0 && p.chance(0.3)) {
          this.hugeLeft--;
          return "h".repeat(p.range(1, 4) << 20);
        }
        return this.word();
      default:
        return this.word();
    }
  }

  private codePoint(): number {
    const p = this.prng;
    for (;;) {
      const c = p.pick([p.int(0x80), p.int(0x800), p.int(0x10000), p.int(0x110000)]);
      if (c < 0xd800 || c > 0xdfff) return c;
    }
  }

  /** Name-like: "ab-c.d9". */
  word(): string {
    const p = this.prng;
    const chars = "abcdefghijklmnopqrstuvwxyz0123456789-._";
    return Array.from({ length: p.range(1, 16) }, () => p.pick([...chars])).join("");
  }

  /**
   * `valid` with one to three changes: a field dropped, replaced with a random value, an
   * extreme one, a live object's id, or an empty or huge list.
   */
  mutateObject(valid: Record<string, unknown>, typeName: string): Record<string, unknown> {
    const copy = structuredClone(valid);
    const n = this.prng.range(1, 3);
    for (let i = 0; i < n; i++) {
      const slots = this.slots(copy, typeName, 0);
      if (slots.length === 0) break;
      const { parent, field } = this.prng.pick(slots);
      const p = this.prng;
      switch (p.int(6)) {
        case 0:
          delete parent[field.name];
          break;
        case 1:
        case 2:
          parent[field.name] = this.value(field, 1);
          break;
        case 3:
          parent[field.name] = this.extreme(field);
          break;
        case 4:
          if (field.kind === "string" && !field.repeated && !field.map) {
            const ids = this.known.ids();
            parent[field.name] = ids.length > 0 ? p.pick(ids) : "";
          } else {
            parent[field.name] = this.value(field, 1);
          }
          break;
        default:
          if (field.map) {
            const value = field.map.value;
            const entries = Array.from({ length: p.range(200, 2000) }, (_, k) => [
              `k${k}`,
              this.bounded(() => this.single(value, 3)),
            ]);
            parent[field.name] = Object.fromEntries(entries);
          } else if (field.repeated) {
            parent[field.name] = Array.from({ length: p.range(200, 2000) }, () =>
              this.bounded(() => this.single(field, 2)),
            );
          } else {
            parent[field.name] = this.extreme(field);
          }
      }
    }
    return copy;
  }

  private extreme(field: FieldSchema): unknown {
    const p = this.prng;
    if (field.map) return {};
    if (field.repeated) return [];
    switch (field.kind) {
      case "string":
        return p.pick(["", "x".repeat(p.range(4096, 70_000)), p.pick(nastyStrings)]);
      case "int32":
        return p.pick(int32Extremes);
      case "uint32":
        return p.pick(uint32Extremes);
      case "int64":
        return p.pick(int64Extremes);
      case "uint64":
        return p.pick(uint64Extremes);
      case "double":
      case "float":
        return p.pick(doubleExtremes);
      case "enum":
        return p.pick([-1, 2147483647, 99]);
      case "message":
        return p.chance(0.5) ? {} : null;
      default:
        return this.single(field, 1);
    }
  }

  /** Every field of every message present in `obj`: where a mutation may land. */
  private slots(
    obj: Record<string, unknown>,
    typeName: string,
    depth: number,
  ): { parent: Record<string, unknown>; field: FieldSchema }[] {
    const out: { parent: Record<string, unknown>; field: FieldSchema }[] = [];
    for (const field of this.schema.fields(typeName)) {
      out.push({ parent: obj, field });
      const value = obj[field.name];
      if (field.kind !== "message" || field.map || depth > 6) continue;
      const children = field.repeated ? (Array.isArray(value) ? value : []) : [value];
      for (const child of children) {
        if (typeof child === "object" && child !== null && !Buffer.isBuffer(child))
          out.push(...this.slots(child as Record<string, unknown>, field.typeName, depth + 1));
      }
    }
    return out;
  }

  /**
   * Random wire records: mostly the fields of `typeName` (with the right wire type or
   * not), some unknown field numbers, nested messages of random records.
   */
  records(typeName: string | undefined, depth = 0): Buffer {
    const p = this.prng;
    const fields = typeName ? this.schema.fields(typeName) : [];
    const out: WireRecord[] = [];
    const n = p.range(0, 8);
    for (let i = 0; i < n; i++) {
      const field = fields.length > 0 && p.chance(0.75) ? p.pick(fields) : undefined;
      const number = field?.number ?? p.pick([p.range(1, 20), p.range(1, 536870911)]);
      const wire = field && p.chance(0.7) ? wireTypeOf(field.kind) : p.pick([0, 1, 2, 5, 0, 2]);
      let payload: Buffer;
      if (wire === 2 && field?.kind === "message" && depth < 4 && p.chance(0.7)) {
        const nested = field.map ? undefined : field.typeName;
        payload = field.map ? this.mapEntryRecords(field) : this.records(nested, depth + 1);
      } else {
        payload = this.payload(wire);
      }
      out.push({ field: number, wire, payload });
    }
    if (p.chance(0.1)) out.push(this.brokenRecord());
    return encodeRecords(out);
  }

  private mapEntryRecords(field: FieldSchema): Buffer {
    const entry: WireRecord[] = [];
    if (this.prng.chance(0.9))
      entry.push({ field: 1, wire: 2, payload: Buffer.from(this.string(), "utf8") });
    if (this.prng.chance(0.9)) {
      const value = field.map?.value;
      entry.push(
        value?.kind === "message"
          ? { field: 2, wire: 2, payload: this.records(value.typeName, 3) }
          : { field: 2, wire: 2, payload: Buffer.from(this.string(), "utf8") },
      );
    }
    return encodeRecords(entry);
  }

  /** A random payload of wire type `wire`. */
  payload(wire: number): Buffer {
    const p = this.prng;
    switch (wire) {
      case 0:
        return p.chance(0.5)
          ? varint(BigInt(p.pick([0, 1, -1, 2 ** 31, -(2 ** 31), 2 ** 32, p.u32()])))
          : varint(BigInt.asUintN(64, (BigInt(p.u32()) << 32n) | BigInt(p.u32())));
      case 1:
        return p.bytes(8);
      case 5:
        return p.bytes(4);
      case 2:
        return p.chance(0.5) ? Buffer.from(this.string(), "utf8") : p.bytes(p.int(48));
      default:
        return Buffer.alloc(0);
    }
  }

  /** A record no decoder should accept: a lying length, a bad wire type, a cut varint. */
  brokenRecord(): WireRecord {
    const p = this.prng;
    const field = p.range(1, 15);
    const tag = (wire: number) => varint((BigInt(field) << 3n) | BigInt(wire));
    const raw = p.pick([
      () => Buffer.concat([tag(2), varint(BigInt(p.range(10, 1_000_000))), p.bytes(p.int(5))]),
      () => tag(p.pick([3, 4, 6, 7])),
      () => Buffer.concat([tag(0), Buffer.alloc(p.range(1, 11), 0xff)]),
      () => Buffer.concat([tag(1), p.bytes(p.int(8))]),
      () => Buffer.concat([tag(5), p.bytes(p.int(4))]),
      () => Buffer.concat([tag(2), Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f])]),
      () => Buffer.from([0x00]),
      () => Buffer.alloc(11, 0x80),
    ])();
    return { field, wire: 2, payload: Buffer.alloc(0), raw };
  }

  /**
   * The encoding of a valid message with one to three changes at the wire level, at the
   * top or inside a nested message: a record dropped, duplicated, given another wire
   * type, its payload replaced or cut, an unknown or broken record inserted.
   */
  mutateWire(bytes: Buffer, typeName: string): Buffer {
    let out = bytes;
    const n = this.prng.range(1, 3);
    for (let i = 0; i < n; i++) out = this.mutateWireOnce(out, typeName, 0);
    return out;
  }

  private mutateWireOnce(bytes: Buffer, typeName: string | undefined, depth: number): Buffer {
    const p = this.prng;
    const records = parseRecords(bytes);
    if (!records) return Buffer.concat([bytes, this.payload(2)]);
    const fields = typeName ? this.schema.fields(typeName) : [];
    const fieldOf = (r: WireRecord) => fields.find((f) => f.number === r.field);
    // descend into a nested message (or map entry) half of the time
    const nested = records.filter((r) => r.wire === 2 && fieldOf(r)?.kind === "message");
    if (nested.length > 0 && depth < 6 && p.chance(0.5)) {
      const target = p.pick(nested);
      const field = fieldOf(target);
      const inner = field?.map ? undefined : field?.typeName;
      target.payload = this.mutateWireOnce(target.payload, inner, depth + 1);
      return encodeRecords(records);
    }
    const at = p.int(records.length + 1);
    const target = records[at];
    switch (p.int(7)) {
      case 0:
        if (target) records.splice(at, 1);
        break;
      case 1:
        if (target) records.splice(at, 0, { ...target });
        break;
      case 2:
        if (target) {
          const wire = p.pick([0, 1, 2, 5].filter((w) => w !== target.wire));
          records[at] = { field: target.field, wire, payload: this.payload(wire) };
        }
        break;
      case 3:
        if (target)
          target.payload = target.wire === 2 ? this.payload(2) : this.payload(target.wire);
        break;
      case 4:
        if (target?.wire === 2 && target.payload.length > 0)
          target.raw = encodeRecords([target]).subarray(0, p.range(1, target.payload.length));
        break;
      case 5: {
        const field =
          p.chance(0.5) && fields.length > 0 ? p.pick(fields).number : p.range(1, 536870911);
        const wire = p.pick([0, 1, 2, 5]);
        records.splice(at, 0, { field, wire, payload: this.payload(wire) });
        break;
      }
      default:
        records.splice(at, 0, this.brokenRecord());
    }
    return encodeRecords(records);
  }
}
