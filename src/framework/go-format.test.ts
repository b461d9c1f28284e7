// Go text forms that end up in client-visible messages.
import { describe, expect, it } from "vitest";
import {
  goDurationString,
  goFormatFloat,
  goHumanDuration,
  goQuote,
  goSprintS,
  goSprintV,
  goStringList,
} from "./go-format.ts";
import { parseGoDuration, parseGoFloat, parseGoInt } from "./go-parse.ts";

const SECOND = 1_000_000_000n;

describe("goSprintV (Go %v of a JSON-decoded value)", () => {
  it.each<[unknown, string]>([
    ["text", "text"],
    [42, "42"],
    [1.5, "1.5"],
    [100000, "100000"],
    [1000000, "1e+06"],
    [1234567, "1.234567e+06"],
    [0.0001, "0.0001"],
    [0.00001, "1e-05"],
    [-2.5e-7, "-2.5e-07"],
    [1e100, "1e+100"],
    [0, "0"],
    [true, "true"],
    [null, "<nil>"],
    [["a", 1, [true]], "[a 1 [true]]"],
    [{ b: 2, a: "x" }, "map[a:x b:2]"],
    [{}, "map[]"],
  ])("%j → %s", (value, text) => {
    expect(goSprintV(value)).toBe(text);
  });
});

describe("goSprintS (Go %s)", () => {
  it.each<[unknown, string]>([
    ["text", "text"],
    [1, "%!s(float64=1)"],
    [true, "%!s(bool=true)"],
    [null, "%!s(<nil>)"],
    [["a", 2], "[a %!s(float64=2)]"],
  ])("%j → %s", (value, text) => {
    expect(goSprintS(value)).toBe(text);
  });
});

describe("goFormatFloat 'f'", () => {
  it.each<[number, string]>([
    [1e21, "1000000000000000000000"],
    [1.25e-7, "0.000000125"],
    [-3.5, "-3.5"],
    [123, "123"],
  ])("%d → %s", (value, text) => {
    expect(goFormatFloat(value, "f")).toBe(text);
  });
});

describe("goQuote (Go %q)", () => {
  it.each([
    ["plain", '"plain"'],
    ['say "hi"', '"say \\"hi\\""'],
    ["tab\there", '"tab\\there"'],
    ["bell\x07", '"bell\\a"'],
    ["nul\x00", '"nul\\x00"'],
    ["名前", '"名前"'],
  ])("%s", (text, quoted) => {
    expect(goQuote(text)).toBe(quoted);
  });
});

describe("goDurationString / goHumanDuration", () => {
  it.each<[bigint, string, string]>([
    [0n, "0s", "0s"],
    [1n, "1ns", "1ns"],
    [1500n, "1.5µs", "1.5µs"],
    [2_000_000n, "2ms", "2ms"],
    [1_500_000_000n, "1.5s", "1.5s"],
    [90n * SECOND, "1m30s", "1m30s"],
    [60n * SECOND, "1m0s", "1m"],
    [3600n * SECOND, "1h0m0s", "1h"],
    [5400n * SECOND, "1h30m0s", "1h30m"],
    [3601n * SECOND, "1h0m1s", "1h1s"],
    [768n * 3600n * SECOND, "768h0m0s", "768h"],
    [-90n * SECOND, "-1m30s", "-1m30s"],
  ])("%d ns → %s (human %s)", (nanos, text, human) => {
    expect(goDurationString(nanos)).toBe(text);
    expect(goHumanDuration(nanos)).toBe(human);
  });
});

it("goStringList prints Go's %v of a []string", () => {
  expect(goStringList(["a", "b"])).toBe("[a b]");
  expect(goStringList([])).toBe("[]");
});

describe("parseGoDuration (time.ParseDuration)", () => {
  it.each<[string, bigint]>([
    ["0", 0n],
    ["-0", 0n],
    ["1ns", 1n],
    ["1.5h", 5400n * SECOND],
    ["1h30m", 5400n * SECOND],
    ["2h45m30.5s", 9930n * SECOND + 500_000_000n],
    ["300ms", 300_000_000n],
    ["-1.5h", -5400n * SECOND],
    [".5s", 500_000_000n],
    ["1.s", SECOND],
    ["1μs", 1000n],
    ["9223372036854775807ns", 9223372036854775807n],
  ])("%s", (text, nanos) => {
    expect(parseGoDuration(text)).toEqual({ ok: true, value: nanos });
  });

  it.each([
    ["", 'time: invalid duration ""'],
    [".s", 'time: invalid duration ".s"'],
    ["1", 'time: missing unit in duration "1"'],
    ["1hh", 'time: unknown unit "hh" in duration "1hh"'],
    ["9223372036854775808ns", 'time: invalid duration "9223372036854775808ns"'],
    ["3000000h", 'time: invalid duration "3000000h"'],
  ])("refuses %j", (text, message) => {
    expect(parseGoDuration(text)).toEqual({ ok: false, message });
  });
});

describe("parseGoInt and parseGoFloat edge cases", () => {
  it("keeps int64 bounds exactly", () => {
    expect(parseGoInt("9223372036854775807", 0)).toEqual({ ok: true, value: 9223372036854775807n });
    expect(parseGoInt("-9223372036854775809", 10)).toEqual({
      ok: false,
      message: 'strconv.ParseInt: parsing "-9223372036854775809": value out of range',
    });
  });

  it("allows underscores only with base 0", () => {
    expect(parseGoInt("1_0", 0)).toEqual({ ok: true, value: 10n });
    expect(parseGoInt("1_0", 10).ok).toBe(false);
    expect(parseGoInt("0x_1f", 0)).toEqual({ ok: true, value: 31n });
  });

  it("parses hex floats and refuses bare prefixes", () => {
    expect(parseGoFloat("0x1.8p1")).toEqual({ ok: true, value: 3 });
    expect(parseGoFloat("0x1.8").ok).toBe(false);
    expect(parseGoFloat("e5").ok).toBe(false);
    expect(parseGoFloat("NaN").ok).toBe(true);
  });
});
