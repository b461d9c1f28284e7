// Go's strconv and time parsers, re-done so that field coercion accepts and
// rejects exactly what a Go plugin accepts, with the same error text.
import * as z from "../shared/schema.ts";
import { goQuote, goTimeQuote } from "./go-format.ts";

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);

/**
 * Go's `underscoreOK`: underscores may only sit between digits, or between a
 * base prefix and a digit.
 */
function underscoresAllowed(text: string): boolean {
  let saw: "^" | "0" | "_" | "!" = "^";
  let body = text;
  if (body.startsWith("-") || body.startsWith("+")) body = body.slice(1);
  let index = 0;
  let hex = false;
  const prefix = body.slice(0, 2).toLowerCase();
  if (body.length >= 2 && (prefix === "0b" || prefix === "0o" || prefix === "0x")) {
    index = 2;
    saw = "0";
    hex = prefix === "0x";
  }
  for (; index < body.length; index++) {
    const char = body[index] ?? "";
    if ((char >= "0" && char <= "9") || (hex && /^[a-fA-F]$/.test(char))) {
      saw = "0";
      continue;
    }
    if (char === "_") {
      if (saw !== "0") return false;
      saw = "_";
      continue;
    }
    if (saw === "_") return false;
    saw = "!";
  }
  return saw !== "_";
}

function numError(func: string, input: string, reason: "invalid syntax" | "value out of range"): string {
  return `strconv.${func}: parsing ${goQuote(input)}: ${reason}`;
}

function digitValue(char: string): number {
  const lower = char.toLowerCase();
  if (lower >= "0" && lower <= "9") return lower.charCodeAt(0) - 48;
  if (lower >= "a" && lower <= "z") return lower.charCodeAt(0) - 87;
  return 99;
}

/**
 * Go's `strconv.ParseInt(text, base, 64)` for base 0 (prefixes `0x`, `0o`,
 * `0b`, a leading `0` for octal, and `_` separators) or base 10.
 */
export function parseGoInt(text: string, base: 0 | 10): Parsed<bigint> {
  const syntax = (): Parsed<bigint> => ({ ok: false, message: numError("ParseInt", text, "invalid syntax") });
  if (text === "") return syntax();
  let body = text;
  let negative = false;
  if (body.startsWith("+")) body = body.slice(1);
  else if (body.startsWith("-")) {
    negative = true;
    body = body.slice(1);
  }
  if (body === "") return syntax();

  let radix = 10;
  if (base === 0) {
    radix = 10;
    if (body.startsWith("0")) {
      const marker = (body[1] ?? "").toLowerCase();
      if (body.length >= 3 && marker === "b") {
        radix = 2;
        body = body.slice(2);
      } else if (body.length >= 3 && marker === "o") {
        radix = 8;
        body = body.slice(2);
      } else if (body.length >= 3 && marker === "x") {
        radix = 16;
        body = body.slice(2);
      } else {
        radix = 8;
        body = body.slice(1);
      }
    }
  }

  let magnitude = 0n;
  let sawUnderscore = false;
  let overflow = false;
  for (const char of body) {
    if (char === "_" && base === 0) {
      sawUnderscore = true;
      continue;
    }
    const digit = digitValue(char);
    if (digit >= radix) return syntax();
    magnitude = magnitude * BigInt(radix) + BigInt(digit);
    if (magnitude > 1n << 64n) overflow = true;
  }
  if (sawUnderscore && !underscoresAllowed(text)) return syntax();
  const value = negative ? -magnitude : magnitude;
  if (overflow || value > INT64_MAX || value < INT64_MIN) {
    return { ok: false, message: numError("ParseInt", text, "value out of range") };
  }
  return { ok: true, value };
}

const DECIMAL_FLOAT = /^[+-]?(?:[0-9_]+(?:\.[0-9_]*)?|\.[0-9_]+)(?:[eE][+-]?[0-9_]+)?$/;
const HEX_FLOAT = /^([+-]?)0[xX]([0-9a-fA-F_]*)(?:\.([0-9a-fA-F_]*))?[pP]([+-]?[0-9_]+)$/;
const SPECIAL_FLOAT = /^([+-]?)(inf|infinity|nan)$/i;

/** Go's `strconv.ParseFloat(text, 64)`, including hex floats, `inf`/`nan` and `_` separators. */
export function parseGoFloat(text: string): Parsed<number> {
  const syntax = (): Parsed<number> => ({ ok: false, message: numError("ParseFloat", text, "invalid syntax") });
  const special = SPECIAL_FLOAT.exec(text);
  if (special) {
    const word = (special[2] ?? "").toLowerCase();
    if (word === "nan") return { ok: true, value: Number.NaN };
    return { ok: true, value: special[1] === "-" ? -Infinity : Infinity };
  }
  if (text.includes("_") && !underscoresAllowed(text)) return syntax();
  const plain = text.replaceAll("_", "");

  let value: number;
  const hex = HEX_FLOAT.exec(text);
  if (hex) {
    const whole = (hex[2] ?? "").replaceAll("_", "");
    const fraction = (hex[3] ?? "").replaceAll("_", "");
    if (whole === "" && fraction === "") return syntax();
    const mantissa = BigInt(`0x${whole}${fraction}`);
    const exponent = Number((hex[4] ?? "0").replaceAll("_", "")) - 4 * fraction.length;
    value = Number(mantissa) * 2 ** exponent * (hex[1] === "-" ? -1 : 1);
  } else if (DECIMAL_FLOAT.test(text) && /[0-9]/.test(plain.split(/[eE]/)[0] ?? "")) {
    value = Number(plain);
  } else {
    return syntax();
  }
  if (!Number.isFinite(value)) return { ok: false, message: numError("ParseFloat", text, "value out of range") };
  return { ok: true, value };
}

// Go's strconv.ParseBool spellings, case-sensitive: "tRUE" is an error.
const goBoolString = z.stringbool({
  truthy: ["1", "t", "T", "TRUE", "true", "True"],
  falsy: ["0", "f", "F", "FALSE", "false", "False"],
  case: "sensitive",
});

/** Go's `strconv.ParseBool`. */
export function parseGoBool(text: string): Parsed<boolean> {
  const result = goBoolString.safeParse(text);
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, message: numError("ParseBool", text, "invalid syntax") };
}

const NANOS_PER_UNIT: ReadonlyMap<string, bigint> = new Map([
  ["ns", 1n],
  ["us", 1_000n],
  ["µs", 1_000n], // U+00B5 micro sign
  ["μs", 1_000n], // U+03BC Greek mu
  ["ms", 1_000_000n],
  ["s", 1_000_000_000n],
  ["m", 60_000_000_000n],
  ["h", 3_600_000_000_000n],
]);

const UINT63 = 1n << 63n;

/**
 * Go's `time.ParseDuration`, returning nanoseconds: a possibly signed sequence
 * of decimal numbers with optional fractions and a unit each (`1h30m`, `1.5h`,
 * `-300ms`). `"0"` is the only unit-less value it accepts.
 */
export function parseGoDuration(text: string): Parsed<bigint> {
  const invalid = (): Parsed<bigint> => ({ ok: false, message: `time: invalid duration ${goTimeQuote(text)}` });
  let rest = text;
  let negative = false;
  if (rest.startsWith("-") || rest.startsWith("+")) {
    negative = rest.startsWith("-");
    rest = rest.slice(1);
  }
  if (rest === "0") return { ok: true, value: 0n };
  if (rest === "") return invalid();

  let total = 0n;
  while (rest !== "") {
    const first = rest[0] ?? "";
    if (!(first === "." || (first >= "0" && first <= "9"))) return invalid();

    // Integer part; Go rejects it once it passes 2^63.
    let whole = 0n;
    let index = 0;
    while (index < rest.length && (rest[index] ?? "") >= "0" && (rest[index] ?? "") <= "9") {
      if (whole > UINT63 / 10n) return invalid();
      whole = whole * 10n + BigInt((rest[index] ?? "0").charCodeAt(0) - 48);
      if (whole > UINT63) return invalid();
      index++;
    }
    const sawWhole = index > 0;
    rest = rest.slice(index);

    // Fraction; digits past what fits in an int64 are dropped, as Go does.
    let fraction = 0n;
    let scale = 1;
    let sawFraction = false;
    if (rest.startsWith(".")) {
      rest = rest.slice(1);
      let fractionIndex = 0;
      let saturated = false;
      while (
        fractionIndex < rest.length &&
        (rest[fractionIndex] ?? "") >= "0" &&
        (rest[fractionIndex] ?? "") <= "9"
      ) {
        if (!saturated) {
          if (fraction > INT64_MAX / 10n) {
            saturated = true;
          } else {
            const next = fraction * 10n + BigInt((rest[fractionIndex] ?? "0").charCodeAt(0) - 48);
            if (next > INT64_MAX) saturated = true;
            else {
              fraction = next;
              scale *= 10;
            }
          }
        }
        fractionIndex++;
      }
      sawFraction = fractionIndex > 0;
      rest = rest.slice(fractionIndex);
    }
    if (!sawWhole && !sawFraction) return invalid();

    let unitLength = 0;
    while (unitLength < rest.length) {
      const char = rest[unitLength] ?? "";
      if (char === "." || (char >= "0" && char <= "9")) break;
      unitLength++;
    }
    if (unitLength === 0) return { ok: false, message: `time: missing unit in duration ${goTimeQuote(text)}` };
    const unitName = rest.slice(0, unitLength);
    rest = rest.slice(unitLength);
    const unit = NANOS_PER_UNIT.get(unitName);
    if (unit === undefined) {
      return { ok: false, message: `time: unknown unit ${goTimeQuote(unitName)} in duration ${goTimeQuote(text)}` };
    }
    if (whole > UINT63 / unit) return invalid();
    let value = whole * unit;
    if (fraction > 0n) {
      // Go computes the fractional part in float64 (nanosecond-accurate up to hours).
      value += BigInt(Math.trunc(Number(fraction) * (Number(unit) / scale)));
      if (value > UINT63) return invalid();
    }
    total += value;
    if (total > UINT63) return invalid();
  }
  if (negative) return { ok: true, value: -total };
  if (total > INT64_MAX) return invalid();
  return { ok: true, value: total };
}
