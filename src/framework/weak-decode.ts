// The "weakly typed" decoding that Vault's FieldData does with mapstructure
// (WeakDecode) on values a Go plugin got from json.Unmarshal. Reproduced
// behaviour for behaviour, including error text, because clients see those
// messages in 400 responses. The `name` threaded through is mapstructure's
// field path: "" at the top, "[0]" for a slice element, "[key]" in a map.
import { goFormatFloat, goKindName, goSprintV, goTypeName } from "./go-format.ts";
import { parseGoBool, parseGoFloat, parseGoInt } from "./go-parse.ts";

/** One or more decode failures; several print as mapstructure's `*Error` does. */
export class DecodeFailure {
  private constructor(
    readonly messages: readonly string[],
    private readonly aggregate: boolean,
  ) {}

  static single(message: string): DecodeFailure {
    return new DecodeFailure([message], false);
  }

  static many(messages: readonly string[]): DecodeFailure {
    return new DecodeFailure(messages, true);
  }

  toString(): string {
    if (!this.aggregate) return this.messages[0] ?? "";
    const points = this.messages.map((message) => `* ${message}`).sort();
    return `${this.messages.length} error(s) decoding:\n\n${points.join("\n")}`;
  }
}

export type Decoded<T> = { ok: true; value: T } | { ok: false; failure: DecodeFailure };
export type ElementDecoder<T> = (name: string, input: unknown) => Decoded<T>;

const success = <T>(value: T): Decoded<T> => ({ ok: true, value });
const failure = <T>(message: string): Decoded<T> => ({ ok: false, failure: DecodeFailure.single(message) });

function isNil(input: unknown): input is null | undefined {
  return input === null || input === undefined;
}

export function isJsonObject(input: unknown): input is Record<string, unknown> {
  return typeof input === "object" && input !== null && !Array.isArray(input);
}

function unconvertible<T>(name: string, target: string, input: unknown): Decoded<T> {
  return failure(
    `'${name}' expected type '${target}', got unconvertible type '${goTypeName(input)}', value: '${goSprintV(input)}'`,
  );
}

/** WeakDecode into a Go `string`. */
export function weakString(name: string, input: unknown): Decoded<string> {
  if (isNil(input)) return success("");
  if (typeof input === "string") return success(input);
  if (typeof input === "boolean") return success(input ? "1" : "0");
  if (typeof input === "number") return success(goFormatFloat(input, "f"));
  return unconvertible(name, "string", input);
}

/** WeakDecode into a Go `int`/`int64` (64-bit): floats truncate, strings parse with base 0. */
export function weakInt(name: string, input: unknown, target: "int" | "int64" = "int"): Decoded<number> {
  if (isNil(input)) return success(0);
  if (typeof input === "number") return success(Math.trunc(input) || 0);
  if (typeof input === "boolean") return success(input ? 1 : 0);
  if (typeof input === "string") {
    const parsed = parseGoInt(input === "" ? "0" : input, 0);
    if (!parsed.ok) return failure(`cannot parse '${name}' as int: ${parsed.message}`);
    // Beyond 2^53 a JavaScript number cannot hold every int64; the nearest value is kept.
    return success(Number(parsed.value));
  }
  return unconvertible(name, target, input);
}

/** WeakDecode into a Go `float64`. */
export function weakFloat(name: string, input: unknown): Decoded<number> {
  if (isNil(input)) return success(0);
  if (typeof input === "number") return success(input);
  if (typeof input === "boolean") return success(input ? 1 : 0);
  if (typeof input === "string") {
    const parsed = parseGoFloat(input === "" ? "0" : input);
    if (!parsed.ok) return failure(`cannot parse '${name}' as float: ${parsed.message}`);
    return success(parsed.value);
  }
  return unconvertible(name, "float64", input);
}

/** WeakDecode into a Go `bool`: ParseBool spellings, "" is false, numbers are `!= 0`. */
export function weakBool(name: string, input: unknown): Decoded<boolean> {
  if (isNil(input)) return success(false);
  if (typeof input === "boolean") return success(input);
  if (typeof input === "number") return success(input !== 0);
  if (typeof input === "string") {
    if (input === "") return success(false);
    const parsed = parseGoBool(input);
    if (!parsed.ok) return failure(`cannot parse '${name}' as bool: ${parsed.message}`);
    return success(parsed.value);
  }
  return unconvertible(name, "bool", input);
}

/** An element decoder for `interface{}` targets: the value is kept as it is. */
export const keepAsIs: ElementDecoder<unknown> = (_name, input) => success(isNil(input) ? null : input);

/**
 * WeakDecode into a Go `map[string]T`. A list of maps is merged into one map
 * (mapstructure's weak slice-to-map rule); an empty list is an empty map.
 */
export function weakMap<T>(name: string, input: unknown, element: ElementDecoder<T>): Decoded<Record<string, T>> {
  const result: Record<string, T> = {};
  const merged = mergeInto(result, name, input, element);
  return merged === undefined ? success(result) : { ok: false, failure: merged };
}

function mergeInto<T>(
  target: Record<string, T>,
  name: string,
  input: unknown,
  element: ElementDecoder<T>,
): DecodeFailure | undefined {
  if (isNil(input)) return undefined;
  if (isJsonObject(input)) {
    const messages: string[] = [];
    for (const [key, value] of Object.entries(input)) {
      const decoded = element(`${name}[${key}]`, value);
      if (decoded.ok) target[key] = decoded.value;
      else messages.push(...decoded.failure.messages);
    }
    return messages.length > 0 ? DecodeFailure.many(messages) : undefined;
  }
  if (Array.isArray(input)) {
    for (const [index, item] of input.entries()) {
      const problem = mergeInto(target, `${name}[${index}]`, item, element);
      if (problem !== undefined) return problem;
    }
    return undefined;
  }
  return DecodeFailure.single(`'${name}' expected a map, got '${goKindName(input)}'`);
}

export interface SliceOptions {
  /** mapstructure's StringToSliceHookFunc(","): a string input is split on commas first. */
  splitCommas?: boolean;
}

/**
 * WeakDecode into a Go `[]T`: a non-list value is lifted into a one-element
 * list (an empty map becomes an empty list); element failures are collected.
 */
export function weakSlice<T>(
  name: string,
  input: unknown,
  element: ElementDecoder<T>,
  options: SliceOptions = {},
): Decoded<T[]> {
  if (isNil(input)) return success([]);
  let items: readonly unknown[];
  if (options.splitCommas === true && typeof input === "string") {
    items = input === "" ? [] : input.split(",");
  } else if (Array.isArray(input)) {
    items = input;
  } else if (isJsonObject(input) && Object.keys(input).length === 0) {
    items = [];
  } else {
    items = [input];
  }
  const values: T[] = [];
  const messages: string[] = [];
  for (const [index, item] of items.entries()) {
    const decoded = element(`${name}[${index}]`, item);
    if (decoded.ok) values.push(decoded.value);
    else messages.push(...decoded.failure.messages);
  }
  if (messages.length > 0) return { ok: false, failure: DecodeFailure.many(messages) };
  return success(values);
}
