// Go's fmt/strconv/time text forms, re-done for the few messages that must read
// exactly as a Go plugin's would: field-validation errors, the "ignored
// parameters" warnings and lease-capping warnings. Values handled here are the
// ones a Go plugin sees after json.Unmarshal into interface{}: string,
// float64, bool, nil, []interface{} and map[string]interface{}.

/** Go's `strconv.Quote` (what `%q` prints for a string). */
export function goQuote(text: string): string {
  let out = '"';
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    switch (char) {
      case '"':
        out += '\\"';
        continue;
      case "\\":
        out += "\\\\";
        continue;
      case "\x07":
        out += "\\a";
        continue;
      case "\b":
        out += "\\b";
        continue;
      case "\f":
        out += "\\f";
        continue;
      case "\n":
        out += "\\n";
        continue;
      case "\r":
        out += "\\r";
        continue;
      case "\t":
        out += "\\t";
        continue;
      case "\v":
        out += "\\v";
        continue;
    }
    if (code < 0x20 || code === 0x7f) {
      out += `\\x${code.toString(16).padStart(2, "0")}`;
    } else if (code >= 0x80 && code < 0xa0) {
      out += `\\u${code.toString(16).padStart(4, "0")}`;
    } else {
      out += char;
    }
  }
  return `${out}"`;
}

/**
 * The `quote` of Go's time package, used in ParseDuration errors: non-ASCII
 * and control characters become `\xNN` escapes of their UTF-8 bytes.
 */
export function goTimeQuote(text: string): string {
  let out = '"';
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    if (code >= 0x80 || code < 0x20) {
      for (const byte of Buffer.from(char, "utf8")) out += `\\x${byte.toString(16).padStart(2, "0")}`;
    } else {
      if (char === '"' || char === "\\") out += "\\";
      out += char;
    }
  }
  return `${out}"`;
}

interface ShortestDigits {
  negative: boolean;
  /** Significant decimal digits, no leading or trailing zeros ("" for zero). */
  digits: string;
  /** Position of the decimal point relative to `digits` (Go's decimalSlice.dp). */
  pointAt: number;
}

// JavaScript's toExponential() without an argument yields the same shortest
// round-trip digits as Go's strconv with precision -1.
function shortestDigits(value: number): ShortestDigits {
  const negative = value < 0 || Object.is(value, -0);
  if (value === 0) return { negative, digits: "", pointAt: 0 };
  const [mantissa = "", exponent = "0"] = Math.abs(value).toExponential().split("e");
  return { negative, digits: mantissa.replace(".", ""), pointAt: Number(exponent) + 1 };
}

function digitAt(digits: string, index: number): string {
  return index >= 0 && index < digits.length ? (digits[index] ?? "0") : "0";
}

function formatFixed({ negative, digits, pointAt }: ShortestDigits): string {
  let out = negative ? "-" : "";
  if (pointAt > 0) {
    for (let i = 0; i < pointAt; i++) out += digitAt(digits, i);
  } else {
    out += "0";
  }
  const fractionDigits = Math.max(digits.length - pointAt, 0);
  if (fractionDigits > 0) {
    out += ".";
    for (let i = 0; i < fractionDigits; i++) out += digitAt(digits, pointAt + i);
  }
  return out;
}

function formatExponent({ negative, digits, pointAt }: ShortestDigits): string {
  let out = negative ? "-" : "";
  out += digits.length === 0 ? "0" : (digits[0] ?? "0");
  if (digits.length > 1) out += `.${digits.slice(1)}`;
  const exponent = digits.length === 0 ? 0 : pointAt - 1;
  const magnitude = Math.abs(exponent).toString().padStart(2, "0");
  return `${out}e${exponent < 0 ? "-" : "+"}${magnitude}`;
}

/** Go's `strconv.FormatFloat(value, format, -1, 64)` for `'f'` and `'g'`. */
export function goFormatFloat(value: number, format: "f" | "g"): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  const shortest = shortestDigits(value);
  if (format === "f") return formatFixed(shortest);
  // %g with the shortest precision switches to exponent form at 1e+06 and
  // below 1e-04 (Go uses precision 6 for that decision).
  const exponent = shortest.pointAt - 1;
  if (shortest.digits.length > 0 && (exponent < -4 || exponent >= 6)) return formatExponent(shortest);
  return formatFixed(shortest);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

function sortedKeys(record: Record<string, unknown>): string[] {
  // Go's fmt sorts map keys; string keys sort bytewise, which matches UTF-16
  // order for the ASCII keys that occur in practice.
  return Object.keys(record).sort();
}

/** What Go's `%v` prints for a JSON-decoded value. */
export function goSprintV(value: unknown): string {
  if (value === null || value === undefined) return "<nil>";
  if (typeof value === "string") return value;
  if (typeof value === "number") return goFormatFloat(value, "g");
  if (typeof value === "boolean" || typeof value === "bigint") return String(value);
  if (Array.isArray(value)) return `[${value.map(goSprintV).join(" ")}]`;
  if (value instanceof Date) return value.toISOString();
  if (isPlainObject(value)) {
    return `map[${sortedKeys(value)
      .map((key) => `${key}:${goSprintV(value[key])}`)
      .join(" ")}]`;
  }
  return String(value);
}

/** What Go's `%s` prints for a JSON-decoded value (with `%!s(...)` for non-strings). */
export function goSprintS(value: unknown): string {
  if (typeof value === "string") return value;
  if (Array.isArray(value)) return `[${value.map(goSprintS).join(" ")}]`;
  if (isPlainObject(value)) {
    return `map[${sortedKeys(value)
      .map((key) => `${key}:${goSprintS(value[key])}`)
      .join(" ")}]`;
  }
  if (value === null || value === undefined) return "%!s(<nil>)";
  return `%!s(${goTypeName(value)}=${goSprintV(value)})`;
}

/** The Go type name (`reflect.Type.String()`) of a JSON-decoded value. */
export function goTypeName(value: unknown): string {
  if (value === null || value === undefined) return "<nil>";
  if (typeof value === "string") return "string";
  if (typeof value === "number") return "float64";
  if (typeof value === "boolean") return "bool";
  if (Array.isArray(value)) return "[]interface {}";
  return "map[string]interface {}";
}

/** The Go kind name (`reflect.Kind.String()`) of a JSON-decoded value. */
export function goKindName(value: unknown): string {
  if (value === null || value === undefined) return "invalid";
  if (typeof value === "string") return "string";
  if (typeof value === "number") return "float64";
  if (typeof value === "boolean") return "bool";
  if (Array.isArray(value)) return "slice";
  return "map";
}

/** Go's `%v` for a `[]string`: `[a b c]`. */
export function goStringList(items: readonly string[]): string {
  return `[${items.join(" ")}]`;
}

const NANOS_PER_MICRO = 1_000n;
const NANOS_PER_MILLI = 1_000_000n;
const NANOS_PER_SEC = 1_000_000_000n;

/** `value / unit` as decimal text with trailing zeros (and a bare ".") dropped. */
function fractionText(value: bigint, unit: bigint): string {
  const whole = value / unit;
  const remainder = value % unit;
  if (remainder === 0n) return whole.toString();
  const width = unit.toString().length - 1;
  return `${whole}.${remainder.toString().padStart(width, "0").replace(/0+$/, "")}`;
}

/** Go's `time.Duration.String()` for a duration in nanoseconds, e.g. `1h0m0s`, `1.5s`, `300ms`. */
export function goDurationString(nanos: bigint): string {
  if (nanos === 0n) return "0s";
  const sign = nanos < 0n ? "-" : "";
  const magnitude = nanos < 0n ? -nanos : nanos;
  if (magnitude < NANOS_PER_MICRO) return `${sign}${magnitude}ns`;
  if (magnitude < NANOS_PER_MILLI) return `${sign}${fractionText(magnitude, NANOS_PER_MICRO)}µs`;
  if (magnitude < NANOS_PER_SEC) return `${sign}${fractionText(magnitude, NANOS_PER_MILLI)}ms`;
  const totalSeconds = magnitude / NANOS_PER_SEC;
  const seconds = `${fractionText(magnitude % (60n * NANOS_PER_SEC), NANOS_PER_SEC)}s`;
  const totalMinutes = totalSeconds / 60n;
  if (totalMinutes === 0n) return `${sign}${seconds}`;
  const hours = totalMinutes / 60n;
  const minutes = `${totalMinutes % 60n}m`;
  return hours === 0n ? `${sign}${minutes}${seconds}` : `${sign}${hours}h${minutes}${seconds}`;
}

/**
 * The SDK's `humanDuration`: Duration.String() without zero minutes/seconds
 * (`1h0m0s` → `1h`, `1h30m0s` → `1h30m`), as used in TTL-capping warnings.
 */
export function goHumanDuration(nanos: bigint): string {
  let text = goDurationString(nanos);
  if (text.endsWith("m0s")) text = text.slice(0, -2);
  const zeroMinutes = text.indexOf("h0m");
  if (zeroMinutes > 0) text = text.slice(0, zeroMinutes + 1) + text.slice(zeroMinutes + 3);
  return text;
}
