// Field types: how a raw request value (JSON-decoded, or a path capture
// string) becomes the typed value a handler reads. Each type reproduces the
// coercion of the Go SDK's FieldData (mapstructure WeakDecode plus parseutil),
// including its error text, because clients see that text in 400 responses.
// zod carries the coercion (`FieldType.schema`) so engines can reuse a type
// inside their own schemas; Go's strconv spellings come from go-parse.ts.
import * as z from "../shared/schema.ts";
import type { Schema } from "../shared/schema.ts";
import { goKindName, goQuote, goSprintS, goTypeName } from "./go-format.ts";
import { type Parsed, parseGoDuration, parseGoInt } from "./go-parse.ts";
import {
  type Decoded,
  isJsonObject,
  keepAsIs,
  weakBool,
  weakFloat,
  weakInt,
  weakMap,
  weakSlice,
  weakString,
} from "./weak-decode.ts";

/** How a field type is described in OpenAPI (Vault's `convertType`). */
export interface OpenApiType {
  type: string;
  format?: string;
  pattern?: string;
  /** Element type for arrays. */
  items?: string;
}

/** HTTP-style headers: canonical key → values. */
export type HeaderMap = Record<string, string[]>;

export interface FieldType<T> {
  /** The Go SDK constant this type mirrors, e.g. `TypeDurationSecond`. */
  readonly name: string;
  /** The type name printed in path help, e.g. `duration (sec)`. */
  readonly helpName: string;
  readonly openApi: OpenApiType;
  /**
   * Whether a JSON `null` counts as "not supplied" (Go: the duration and time
   * types); for every other type `null` decodes to the zero value and counts
   * as supplied.
   */
  readonly nullIsAbsent: boolean;
  /** The value `get` returns for an absent field without a default. */
  zero(): T;
  /** Coerces a supplied raw value; the failure message is Go's error text. */
  decode(raw: unknown): Parsed<T>;
  /** The same coercion as a zod schema, for reuse in engine-side schemas. */
  readonly schema: Schema<T>;
}

function fromDecoded<T>(decoded: Decoded<T>): Parsed<T> {
  return decoded.ok ? decoded : { ok: false, message: decoded.failure.toString() };
}

function defineType<T>(spec: Omit<FieldType<T>, "schema" | "nullIsAbsent"> & { nullIsAbsent?: boolean }): FieldType<T> {
  const schema = z.pipe(
    z.unknown(),
    z.transform((raw, context): T => {
      const result = spec.decode(raw);
      if (result.ok) return result.value;
      context.issues.push({ code: "custom", message: result.message, input: raw });
      return z.NEVER;
    }),
  );
  return Object.freeze({ ...spec, nullIsAbsent: spec.nullIsAbsent ?? false, schema });
}

const NAME_STRING = /^\w(([\w.-]+)?\w)?$/;

export const TypeString: FieldType<string> = defineType({
  name: "TypeString",
  helpName: "string",
  openApi: { type: "string" },
  zero: () => "",
  decode: (raw) => fromDecoded(weakString("", raw)),
});

export const TypeLowerCaseString: FieldType<string> = defineType({
  name: "TypeLowerCaseString",
  helpName: "lowercase string",
  openApi: { type: "string", format: "lowercase" },
  zero: () => "",
  decode: (raw) => {
    const decoded = weakString("", raw);
    return decoded.ok ? { ok: true, value: decoded.value.toLowerCase() } : fromDecoded(decoded);
  },
});

export const TypeNameString: FieldType<string> = defineType({
  name: "TypeNameString",
  helpName: "name string",
  openApi: { type: "string", pattern: String.raw`\w([\w-.]*\w)?` },
  zero: () => "",
  decode: (raw) => {
    const decoded = weakString("", raw);
    if (!decoded.ok) return fromDecoded(decoded);
    if (!NAME_STRING.test(decoded.value)) return { ok: false, message: "field does not match the formatting rules" };
    return { ok: true, value: decoded.value };
  },
});

export const TypeBool: FieldType<boolean> = defineType({
  name: "TypeBool",
  helpName: "bool",
  openApi: { type: "boolean" },
  zero: () => false,
  decode: (raw) => fromDecoded(weakBool("", raw)),
});

export const TypeInt: FieldType<number> = defineType({
  name: "TypeInt",
  helpName: "int",
  openApi: { type: "integer" },
  zero: () => 0,
  decode: (raw) => fromDecoded(weakInt("", raw, "int")),
});

export const TypeInt64: FieldType<number> = defineType({
  name: "TypeInt64",
  helpName: "int64",
  openApi: { type: "integer", format: "int64" },
  zero: () => 0,
  decode: (raw) => fromDecoded(weakInt("", raw, "int64")),
});

export const TypeFloat: FieldType<number> = defineType({
  name: "TypeFloat",
  helpName: "float",
  openApi: { type: "number", format: "float" },
  zero: () => 0,
  decode: (raw) => fromDecoded(weakFloat("", raw)),
});

const NANOS_PER_SECOND = 1_000_000_000n;
const NANOS_PER_DAY = 86_400n * NANOS_PER_SECOND;

/**
 * parseutil.ParseDurationSecond, in nanoseconds: numbers are seconds (floats
 * truncated first), integer text is seconds, `<int>d` is days, anything else
 * is Go duration syntax.
 */
/** Go's time.Duration is an int64 of nanoseconds; anything larger overflows. */
const MAX_DURATION_NANOS = (1n << 63n) - 1n;

export function parseDurationSecond(raw: unknown): Parsed<bigint> {
  const parsed = parseDurationSecondUnbounded(raw);
  if (parsed.ok && (parsed.value > MAX_DURATION_NANOS || parsed.value < -MAX_DURATION_NANOS)) {
    return { ok: false, message: `time: invalid duration ${goQuote(String(raw))}` };
  }
  return parsed;
}

function parseDurationSecondUnbounded(raw: unknown): Parsed<bigint> {
  if (raw === null || raw === undefined) return { ok: true, value: 0n };
  if (typeof raw === "number") {
    if (!Number.isFinite(raw)) return { ok: false, message: "could not parse duration from input" };
    return { ok: true, value: BigInt(Math.trunc(raw)) * NANOS_PER_SECOND };
  }
  if (typeof raw !== "string") return { ok: false, message: "could not parse duration from input" };
  if (raw === "") return { ok: true, value: 0n };
  const seconds = parseGoInt(raw, 10);
  if (seconds.ok) return { ok: true, value: seconds.value * NANOS_PER_SECOND };
  if (raw.endsWith("d")) {
    const days = parseGoInt(raw.slice(0, -1), 10);
    return days.ok ? { ok: true, value: days.value * NANOS_PER_DAY } : days;
  }
  return parseGoDuration(raw);
}

function durationType(name: string, allowNegative: boolean): FieldType<number> {
  return defineType({
    name,
    helpName: "duration (sec)",
    openApi: { type: "string", format: "duration" },
    nullIsAbsent: true,
    zero: () => 0,
    decode: (raw) => {
      const nanos = parseDurationSecond(raw);
      if (!nanos.ok) return nanos;
      // Go: int(dur.Seconds()) truncates toward zero, as bigint division does.
      const seconds = Number(nanos.value / NANOS_PER_SECOND);
      if (!allowNegative && seconds < 0) return { ok: false, message: `cannot provide negative value '${seconds}'` };
      return { ok: true, value: seconds };
    },
  });
}

/** Whole seconds; accepts 90, "90", "1h30m", "1.5h", "3d". Negative values are rejected. */
export const TypeDurationSecond: FieldType<number> = durationType("TypeDurationSecond", false);
/** As TypeDurationSecond, negatives allowed. */
export const TypeSignedDurationSecond: FieldType<number> = durationType("TypeSignedDurationSecond", true);

// RFC 3339 with or without fractional seconds, as Go's time.RFC3339Nano layout parses it.
const rfc3339 = z.iso.datetime({ offset: true });

/** Go's zero `time.Time` (0001-01-01T00:00:00Z), the zero value of TypeTime. */
export const GO_ZERO_TIME_MS = -62_135_596_800_000;

export const TypeTime: FieldType<Date> = defineType({
  name: "TypeTime",
  helpName: "time",
  openApi: { type: "string", format: "date-time" },
  nullIsAbsent: true,
  zero: () => new Date(GO_ZERO_TIME_MS),
  decode: (raw) => {
    if (typeof raw === "string") {
      if (rfc3339.safeParse(raw).success) return { ok: true, value: new Date(raw) };
      const epoch = parseGoInt(raw, 10);
      if (epoch.ok) return { ok: true, value: new Date(Number(epoch.value) * 1000) };
      return { ok: false, message: "could not parse string as date and time" };
    }
    // The reference table accepts integer Unix seconds as a JSON number. A Go
    // plugin would refuse them (its JSON numbers are float64, which
    // parseutil.ParseAbsoluteTime does not take); integral numbers are
    // accepted here as documented, fractions are refused.
    if (typeof raw === "number" && Number.isInteger(raw)) return { ok: true, value: new Date(raw * 1000) };
    return { ok: false, message: "could not parse time from input type" };
  },
});

export const TypeMap: FieldType<Record<string, unknown>> = defineType({
  name: "TypeMap",
  helpName: "map",
  openApi: { type: "object", format: "map" },
  zero: () => ({}),
  decode: (raw) => fromDecoded(weakMap("", raw, keepAsIs)),
});

export const TypeSlice: FieldType<unknown[]> = defineType({
  name: "TypeSlice",
  helpName: "slice",
  openApi: { type: "array", items: "object" },
  zero: () => [],
  decode: (raw) => fromDecoded(weakSlice("", raw, keepAsIs)),
});

function trimAll(values: readonly string[]): string[] {
  // Go's strings.TrimSpace trims Unicode white space, as String.prototype.trim does.
  return values.map((value) => value.trim());
}

/** A list of strings; a single string becomes a one-element list (no comma splitting). */
export const TypeStringSlice: FieldType<string[]> = defineType({
  name: "TypeStringSlice",
  helpName: "slice",
  openApi: { type: "array", items: "string" },
  zero: () => [],
  decode: (raw) => {
    if (raw === "") return { ok: true, value: [] };
    const decoded = weakSlice("", raw, weakString);
    return decoded.ok ? { ok: true, value: trimAll(decoded.value) } : fromDecoded(decoded);
  },
});

/** A list of strings; a string is split on commas and each element trimmed (empty elements kept). */
export const TypeCommaStringSlice: FieldType<string[]> = defineType({
  name: "TypeCommaStringSlice",
  helpName: "slice",
  openApi: { type: "array", items: "string" },
  zero: () => [],
  decode: (raw) => {
    if (raw === "") return { ok: true, value: [] };
    const decoded = weakSlice("", raw, weakString, { splitCommas: true });
    return decoded.ok ? { ok: true, value: trimAll(decoded.value) } : fromDecoded(decoded);
  },
});

/**
 * A list of ints; a string is split on commas. As in Go, elements are not
 * trimmed, so "1, 2" is an error; an empty element is 0.
 */
export const TypeCommaIntSlice: FieldType<number[]> = defineType({
  name: "TypeCommaIntSlice",
  helpName: "slice",
  openApi: { type: "array", items: "integer" },
  zero: () => [],
  decode: (raw) => fromDecoded(weakSlice("", raw, (name, input) => weakInt(name, input, "int"), { splitCommas: true })),
});

/** An object of strings, or a list of `key=value` strings. */
export const TypeKVPairs: FieldType<Record<string, string>> = defineType({
  name: "TypeKVPairs",
  helpName: "keypair",
  openApi: { type: "object", format: "kvpairs" },
  zero: () => ({}),
  decode: (raw) => {
    const asMap = weakMap("", raw, weakString);
    if (asMap.ok) return asMap;
    const asList = weakSlice("", raw, weakString);
    if (!asList.ok) return fromDecoded(asList);
    const result: Record<string, string> = {};
    for (const pair of asList.value) {
      const separator = pair.indexOf("=");
      if (separator <= 0) return { ok: false, message: `invalid key pair ${goQuote(pair)}` };
      result[pair.slice(0, separator)] = pair.slice(separator + 1);
    }
    return { ok: true, value: result };
  },
});

const HEADER_TOKEN_BYTE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]$/;

/** Go's textproto.CanonicalMIMEHeaderKey: `content-type` → `Content-Type`; keys with invalid bytes stay as they are. */
export function canonicalHeaderKey(key: string): string {
  for (const char of key) if (!HEADER_TOKEN_BYTE.test(char)) return key;
  let upper = true;
  let out = "";
  for (const char of key) {
    out += upper ? char.toUpperCase() : char.toLowerCase();
    upper = char === "-";
  }
  return out;
}

function addHeader(headers: HeaderMap, key: string, value: string): void {
  const canonical = canonicalHeaderKey(key);
  (headers[canonical] ??= []).push(value);
}

/**
 * The SDK's `toHeader`. `numbersAsText` reflects where the map came from: a
 * JSON string is decoded with UseNumber (numbers are json.Number, kept as
 * text) while the request body's numbers are float64 (refused).
 */
function toHeader(source: Record<string, unknown>, numbersAsText: boolean): Parsed<HeaderMap> {
  const headers: HeaderMap = {};
  const text = (value: unknown): string | undefined => {
    if (typeof value === "string") return value;
    if (numbersAsText && typeof value === "number") return String(value);
    return undefined;
  };
  for (const [key, group] of Object.entries(source)) {
    const single = text(group);
    if (single !== undefined) {
      addHeader(headers, key, single);
      continue;
    }
    if (Array.isArray(group)) {
      for (const item of group) {
        const value = text(item);
        if (value === undefined) {
          return { ok: false, message: `received non-string value for header key:${key}, val:${goSprintS(group)}` };
        }
        addHeader(headers, key, value);
      }
      continue;
    }
    return { ok: false, message: `unrecognized type for ${goSprintS(group)}` };
  }
  return { ok: true, value: headers };
}

const STANDARD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function decodeHeaderJson(text: string): Parsed<HeaderMap> {
  // base64.StdEncoding ignores CR/LF and otherwise insists on padded standard base64.
  const compact = text.replace(/[\r\n]/g, "");
  const json = STANDARD_BASE64.test(compact) ? Buffer.from(compact, "base64").toString("utf8") : text;
  if (json === "") return { ok: false, message: "'data' being decoded is nil" };
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (error) {
    // Go's json error texts are not reproduced; this says the same thing.
    return { ok: false, message: `invalid JSON: ${error instanceof Error ? error.message : String(error)}` };
  }
  if (parsed === null) return { ok: true, value: {} };
  if (!isJsonObject(parsed)) {
    const kind = Array.isArray(parsed) ? "array" : goKindName(parsed) === "float64" ? "number" : goKindName(parsed);
    return { ok: false, message: `json: cannot unmarshal ${kind} into Go value of type map[string]interface {}` };
  }
  return toHeader(parsed, true);
}

/**
 * Headers: an object of string or string-list values; a JSON object as a
 * string (optionally standard base64); or a list of `key:value` strings.
 */
export const TypeHeader: FieldType<HeaderMap> = defineType({
  name: "TypeHeader",
  helpName: "header",
  openApi: { type: "string" },
  zero: () => ({}),
  decode: (raw) => {
    const asMap = weakMap("", raw, keepAsIs);
    if (asMap.ok) return toHeader(asMap.value, false);
    if (typeof raw === "string") return decodeHeaderJson(raw);
    const asList = weakSlice("", raw, keepAsIs);
    if (!asList.ok) return { ok: false, message: `${goSprintS(raw)} not provided an expected format` };
    const headers: HeaderMap = {};
    for (const item of asList.value) {
      // Go quotes the failed type assertion's zero value, hence `""` for non-strings.
      if (typeof item !== "string") return { ok: false, message: `invalid key pair ""` };
      const separator = item.indexOf(":");
      if (separator <= 0) return { ok: false, message: `invalid key pair ${goQuote(item)}` };
      addHeader(headers, item.slice(0, separator), item.slice(separator + 1));
    }
    return { ok: true, value: headers };
  },
});

/** Every field type, by Go constant name. */
export const FIELD_TYPES: readonly FieldType<unknown>[] = [
  TypeString,
  TypeLowerCaseString,
  TypeNameString,
  TypeBool,
  TypeInt,
  TypeInt64,
  TypeFloat,
  TypeDurationSecond,
  TypeSignedDurationSecond,
  TypeTime,
  TypeMap,
  TypeSlice,
  TypeStringSlice,
  TypeCommaStringSlice,
  TypeCommaIntSlice,
  TypeKVPairs,
  TypeHeader,
];

/** A short, value-free reason for a failed coercion, used for sensitive fields. */
export function redactedReason(type: FieldType<unknown>, raw: unknown): string {
  return `cannot convert a value of type '${goTypeName(raw)}' to ${type.helpName}`;
}
