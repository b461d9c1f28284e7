// The coercion table of reference §9.2, row by row, with Go's exact error
// text. Rows marked "Go:" repeat a case of the Go SDK's field_data_test.go.
import { describe, expect, it } from "vitest";
import {
  parseDurationSecond,
  type FieldType,
  GO_ZERO_TIME_MS,
  TypeBool,
  TypeCommaIntSlice,
  TypeCommaStringSlice,
  TypeDurationSecond,
  TypeFloat,
  TypeHeader,
  TypeInt,
  TypeInt64,
  TypeKVPairs,
  TypeLowerCaseString,
  TypeMap,
  TypeNameString,
  TypeSignedDurationSecond,
  TypeSlice,
  TypeString,
  TypeStringSlice,
  TypeTime,
  canonicalHeaderKey,
} from "./field-types.ts";

type Row = [input: unknown, expected: unknown];
type ErrorRow = [input: unknown, message: string];

function decodeOk<T>(type: FieldType<T>, input: unknown): T {
  const result = type.decode(input);
  if (!result.ok) throw new Error(`expected success, got: ${result.message}`);
  return result.value;
}

function decodeError(type: FieldType<unknown>, input: unknown): string {
  const result = type.decode(input);
  if (result.ok) throw new Error(`expected an error, got ${JSON.stringify(result.value)}`);
  return result.message;
}

function table(type: FieldType<unknown>, accepted: Row[], refused: ErrorRow[] = []): void {
  describe(type.name, () => {
    it.each(accepted)("accepts %j", (input, expected) => {
      expect(decodeOk(type, input)).toEqual(expected);
    });
    if (refused.length > 0) {
      it.each(refused)("refuses %j", (input, message) => {
        expect(decodeError(type, input)).toBe(message);
      });
    }
  });
}

table(
  TypeString,
  [
    ["bar", "bar"], // Go: string type, string value
    [42, "42"], // Go: string type, int value
    [1.5, "1.5"],
    [1e21, "1000000000000000000000"],
    [0.000001, "0.000001"],
    [true, "1"],
    [false, "0"],
    [null, ""],
  ],
  [
    [{ a: "b" }, "'' expected type 'string', got unconvertible type 'map[string]interface {}', value: 'map[a:b]'"],
    [["a", 1], "'' expected type 'string', got unconvertible type '[]interface {}', value: '[a 1]'"],
  ],
);

table(
  TypeLowerCaseString,
  [
    ["bar", "bar"], // Go: lowercase string value
    ["BaR", "bar"], // Go: mixed-case string value
    [42, "42"], // Go: int value
  ],
  [[["A"], "'' expected type 'string', got unconvertible type '[]interface {}', value: '[A]'"]],
);

table(
  TypeNameString,
  [
    ["bar", "bar"], // Go: valid string
    ["bar.baz-bay123", "bar.baz-bay123"], // Go: valid value with special characters
    ["a", "a"],
    [7, "7"],
  ],
  [
    ["bar baz", "field does not match the formatting rules"], // Go: invalid characters
    [".barbaz", "field does not match the formatting rules"], // Go: special character at beginning
    ["barbaz-", "field does not match the formatting rules"], // Go: special character at end
    ["", "field does not match the formatting rules"], // Go: empty string
    [null, "field does not match the formatting rules"],
  ],
);

table(
  TypeBool,
  [
    [false, false], // Go: bool type, bool value
    [true, true],
    ...["1", "t", "T", "TRUE", "true", "True"].map((text): Row => [text, true]),
    ...["0", "f", "F", "FALSE", "false", "False"].map((text): Row => [text, false]),
    ["", false],
    [1, true],
    [-0.5, true],
    [0, false],
    [null, false],
  ],
  [
    ["maybe", `cannot parse '' as bool: strconv.ParseBool: parsing "maybe": invalid syntax`],
    ["tRUE", `cannot parse '' as bool: strconv.ParseBool: parsing "tRUE": invalid syntax`],
    ["yes", `cannot parse '' as bool: strconv.ParseBool: parsing "yes": invalid syntax`],
    [{}, "'' expected type 'bool', got unconvertible type 'map[string]interface {}', value: 'map[]'"],
    [[true], "'' expected type 'bool', got unconvertible type '[]interface {}', value: '[true]'"],
  ],
);

table(
  TypeInt,
  [
    [42, 42], // Go: int type, int value
    [3.9, 3],
    [-3.9, -3],
    ["42", 42],
    ["-42", -42],
    ["+5", 5],
    ["0x1f", 31],
    ["0X1F", 31],
    ["-0x10", -16],
    ["0o17", 15],
    ["017", 15],
    ["0b101", 5],
    ["1_000", 1000],
    ["0", 0],
    ["", 0],
    [true, 1],
    [false, 0],
    [null, 0],
  ],
  [
    ["abc", `cannot parse '' as int: strconv.ParseInt: parsing "abc": invalid syntax`],
    ["3.9", `cannot parse '' as int: strconv.ParseInt: parsing "3.9": invalid syntax`],
    ["08", `cannot parse '' as int: strconv.ParseInt: parsing "08": invalid syntax`],
    ["0x", `cannot parse '' as int: strconv.ParseInt: parsing "0x": invalid syntax`],
    ["1__0", `cannot parse '' as int: strconv.ParseInt: parsing "1__0": invalid syntax`],
    [" 1", `cannot parse '' as int: strconv.ParseInt: parsing " 1": invalid syntax`],
    ["9223372036854775808", `cannot parse '' as int: strconv.ParseInt: parsing "9223372036854775808": value out of range`],
    [{ a: 1 }, "'' expected type 'int', got unconvertible type 'map[string]interface {}', value: 'map[a:1]'"],
  ],
);

table(
  TypeInt64,
  [
    [42, 42],
    ["0x10", 16],
    ["-9223372036854775808", -9223372036854775808],
  ],
  [[[1], "'' expected type 'int64', got unconvertible type '[]interface {}', value: '[1]'"]],
);

table(
  TypeFloat,
  [
    [1.5, 1.5],
    ["1.5", 1.5],
    ["-2.5e3", -2500],
    [".5", 0.5],
    ["1_000.5", 1000.5],
    ["0x1p-2", 0.25],
    ["inf", Infinity],
    ["-Infinity", -Infinity],
    ["", 0],
    [true, 1],
    [null, 0],
  ],
  [
    ["abc", `cannot parse '' as float: strconv.ParseFloat: parsing "abc": invalid syntax`],
    ["1e400", `cannot parse '' as float: strconv.ParseFloat: parsing "1e400": value out of range`],
    ["1.5s", `cannot parse '' as float: strconv.ParseFloat: parsing "1.5s": invalid syntax`],
    [{}, "'' expected type 'float64', got unconvertible type 'map[string]interface {}', value: 'map[]'"],
  ],
);

table(
  TypeDurationSecond,
  [
    ["42", 42], // Go: duration type, string value
    ["42m", 2520], // Go: string duration value
    [42, 42], // Go: int value
    [42.0, 42], // Go: float value
    [42.9, 42],
    ["90", 90],
    ["90s", 90],
    ["1h30m", 5400],
    ["1.5h", 5400],
    ["1h0.5s", 3600],
    ["500ms", 0],
    ["1500ms", 1],
    ["2us", 0],
    ["2µs", 0],
    ["3d", 259_200],
    ["0", 0],
    ["", 0],
    ["-0.5s", 0],
    ["+5m", 300],
  ],
  [
    ["-5", "cannot provide negative value '-5'"],
    [-5, "cannot provide negative value '-5'"],
    ["-1h", "cannot provide negative value '-3600'"],
    ["-1d", "cannot provide negative value '-86400'"],
    ["1.5", `time: missing unit in duration "1.5"`],
    ["1x", `time: unknown unit "x" in duration "1x"`],
    ["1 h", `time: unknown unit " h" in duration "1 h"`],
    ["abc", `time: invalid duration "abc"`],
    ["h", `time: invalid duration "h"`],
    ["-", `time: invalid duration "-"`],
    ["1.5d", `strconv.ParseInt: parsing "1.5": invalid syntax`],
    ["d", `strconv.ParseInt: parsing "": invalid syntax`],
    ["3µ", `time: unknown unit "\\xc2\\xb5" in duration "3\\xc2\\xb5"`],
    [true, "could not parse duration from input"],
    [["1h"], "could not parse duration from input"],
    [{}, "could not parse duration from input"],
  ],
);

table(
  TypeSignedDurationSecond,
  [
    ["-1h", -3600],
    [-5, -5],
    ["-5", -5],
    ["-2d", -172_800],
    ["10m", 600],
  ],
  [["1.5", `time: missing unit in duration "1.5"`]],
);

describe("TypeTime", () => {
  it.each([
    ["2016-09-30T04:31:21Z", "2016-09-30T04:31:21.000Z"],
    ["2016-09-30T04:31:21.5Z", "2016-09-30T04:31:21.500Z"],
    ["2016-09-30T06:31:21.123456789+02:00", "2016-09-30T04:31:21.123Z"],
    ["1475209881", "2016-09-30T04:31:21.000Z"],
    [1475209881, "2016-09-30T04:31:21.000Z"],
    ["-1", "1969-12-31T23:59:59.000Z"],
  ])("accepts %j as UTC", (input, iso) => {
    expect(decodeOk(TypeTime, input).toISOString()).toBe(iso);
  });

  it.each([
    ["yesterday", "could not parse string as date and time"],
    ["2016-09-30 04:31:21Z", "could not parse string as date and time"],
    ["2016-02-30T00:00:00Z", "could not parse string as date and time"],
    ["", "could not parse string as date and time"],
    [1.5, "could not parse time from input type"],
    [true, "could not parse time from input type"],
  ])("refuses %j", (input, message) => {
    expect(decodeError(TypeTime, input)).toBe(message);
  });

  it("has Go's zero time as zero value", () => {
    expect(TypeTime.zero().getTime()).toBe(GO_ZERO_TIME_MS);
    expect(TypeTime.zero().toISOString()).toBe("0001-01-01T00:00:00.000Z");
  });
});

table(
  TypeMap,
  [
    [{ child: true }, { child: true }], // Go: map type, map value
    [{}, {}],
    [[], {}],
    [[{ a: 1 }, { b: 2 }], { a: 1, b: 2 }],
    [null, {}],
  ],
  [
    ["x", "'' expected a map, got 'string'"],
    [5, "'' expected a map, got 'float64'"],
    [[1], "'[0]' expected a map, got 'float64'"],
    [[{ a: 1 }, "b"], "'[1]' expected a map, got 'string'"],
  ],
);

table(TypeSlice, [
  [[], []], // Go: slice type, empty slice
  [[123, "abc"], [123, "abc"]], // Go: filled, mixed slice
  ["abc", ["abc"]],
  [{}, []],
  [{ a: 1 }, [{ a: 1 }]],
  [[null], [null]],
  [null, []],
]);

table(
  TypeStringSlice,
  [
    [[123, "abc"], ["123", "abc"]], // Go: string slice type, filled slice
    ["abc", ["abc"]], // Go: single value
    ["", []], // Go: empty string
    ["a,b", ["a,b"]],
    [[" a ", "b\t"], ["a", "b"]],
    [[true, false], ["1", "0"]],
    [5, ["5"]],
    [{}, []],
    [null, []],
  ],
  [
    [
      [{ a: 1 }],
      "1 error(s) decoding:\n\n* '[0]' expected type 'string', got unconvertible type 'map[string]interface {}', value: 'map[a:1]'",
    ],
  ],
);

table(
  TypeCommaStringSlice,
  [
    ["", []], // Go: empty string
    ["value1", ["value1"]], // Go: comma string with one value
    ["value1,value2,value3", ["value1", "value2", "value3"]], // Go: multi value
    [["value1"], ["value1"]], // Go: string slice with one value
    [["value1", "value2", "value3"], ["value1", "value2", "value3"]], // Go: multi value slice
    [[], []], // Go: empty string slice value
    [" a , b ", ["a", "b"]],
    ["a,,b", ["a", "", "b"]],
    [["a,b", " c "], ["a,b", "c"]],
    [5, ["5"]],
    [1.25, ["1.25"]],
    [true, ["1"]],
    [null, []],
  ],
  [
    [
      [{}, "x", []],
      "2 error(s) decoding:\n\n* '[0]' expected type 'string', got unconvertible type 'map[string]interface {}', value: 'map[]'\n* '[2]' expected type 'string', got unconvertible type '[]interface {}', value: '[]'",
    ],
  ],
);

table(
  TypeCommaIntSlice,
  [
    [1, [1]], // Go: comma int with one value
    [[1, 2, 3], [1, 2, 3]], // Go: multi value slice
    ["1,2,3", [1, 2, 3]], // Go: comma int with multi value
    ["", []], // Go: nil int slice value
    [["1"], [1]], // Go: int slice with one value
    [["1", "2", "3"], [1, 2, 3]], // Go: multi value strings
    [[], []], // Go: empty int slice value
    ["1,,2", [1, 0, 2]],
    ["0x10,010", [16, 8]],
    [[1.9, true], [1, 1]],
  ],
  [
    ["1, 2", `1 error(s) decoding:\n\n* cannot parse '[1]' as int: strconv.ParseInt: parsing " 2": invalid syntax`],
    [
      "b,a",
      `2 error(s) decoding:\n\n* cannot parse '[0]' as int: strconv.ParseInt: parsing "b": invalid syntax\n* cannot parse '[1]' as int: strconv.ParseInt: parsing "a": invalid syntax`,
    ],
    [
      [{ a: 1 }],
      "1 error(s) decoding:\n\n* '[0]' expected type 'int', got unconvertible type 'map[string]interface {}', value: 'map[a:1]'",
    ],
  ],
);

table(
  TypeKVPairs,
  [
    [
      { key1: "value1", key2: "value2", key3: 1 },
      { key1: "value1", key2: "value2", key3: "1" },
    ], // Go: valid value map type
    [
      ["key1=value1", "key2=value2", "key3=1"],
      { key1: "value1", key2: "value2", key3: "1" },
    ], // Go: list of equal sign delim key pairs
    ["key1=value1", { key1: "value1" }], // Go: single equal sign delim value
    ["a=b=c", { a: "b=c" }],
    ["a=", { a: "" }],
    [{ flag: true }, { flag: "1" }],
    [[{ a: "b" }, { c: "d" }], { a: "b", c: "d" }],
    [[], {}],
    [null, {}],
  ],
  [
    [["=value1", "key2=value2", "key3=1"], 'invalid key pair "=value1"'], // Go: csv version empty key name
    [["key1"], 'invalid key pair "key1"'],
    ["", 'invalid key pair ""'],
    [5, 'invalid key pair "5"'],
    [
      { a: { b: 1 } },
      "1 error(s) decoding:\n\n* '[0]' expected type 'string', got unconvertible type 'map[string]interface {}', value: 'map[a:map[b:1]]'",
    ],
  ],
);

describe("TypeHeader", () => {
  // Go: "type header, b64 string" (the same base64 document).
  const awsHeaders =
    "eyJDb250ZW50LUxlbmd0aCI6IFsiNDMiXSwgIlVzZXItQWdlbnQiOiBbImF3cy1zZGstZ28vMS40LjEyIChnbzEuNy4xOyBsaW51eDsgYW1kNjQpIl0sICJYLVZhdWx0LUFXU0lBTS1TZXJ2ZXItSWQiOiBbInZhdWx0LmV4YW1wbGUuY29tIl0sICJYLUFtei1EYXRlIjogWyIyMDE2MDkzMFQwNDMxMjFaIl0sICJDb250ZW50LVR5cGUiOiBbImFwcGxpY2F0aW9uL3gtd3d3LWZvcm0tdXJsZW5jb2RlZDsgY2hhcnNldD11dGYtOCJdLCAiQXV0aG9yaXphdGlvbiI6IFsiQVdTNC1ITUFDLVNIQTI1NiBDcmVkZW50aWFsPWZvby8yMDE2MDkzMC91cy1lYXN0LTEvc3RzL2F3czRfcmVxdWVzdCwgU2lnbmVkSGVhZGVycz1jb250ZW50LWxlbmd0aDtjb250ZW50LXR5cGU7aG9zdDt4LWFtei1kYXRlO3gtdmF1bHQtc2VydmVyLCBTaWduYXR1cmU9YTY5ZmQ3NTBhMzQ0NWM0ZTU1M2UxYjNlNzlkM2RhOTBlZWY1NDA0N2YxZWI0ZWZlOGZmYmM5YzQyOGMyNjU1YiJdLCAiRm9vIjogNDJ9";

  it.each<Row>([
    [
      ["key1:value1", "key2:value2", "key3:1"],
      { Key1: ["value1"], Key2: ["value2"], Key3: ["1"] },
    ], // Go: keypair string array
    [
      ["key1:value1", "key2:value2", "key3:1", "key3:true"],
      { Key1: ["value1"], Key2: ["value2"], Key3: ["1", "true"] },
    ], // Go: keypair string array with dupe key
    [
      { key1: ["value1"], key2: ["value2"], key3: ["1"] },
      { Key1: ["value1"], Key2: ["value2"], Key3: ["1"] },
    ], // Go: map string slice
    [
      '{"hello":"world","bonjour":["monde","dieu"], "Guten Tag": 42, "你好": ["10", 20, 3.14]}',
      { Hello: ["world"], Bonjour: ["monde", "dieu"], "Guten Tag": ["42"], 你好: ["10", "20", "3.14"] },
    ], // Go: json string
    [
      awsHeaders,
      {
        "Content-Length": ["43"],
        "User-Agent": ["aws-sdk-go/1.4.12 (go1.7.1; linux; amd64)"],
        "X-Vault-Awsiam-Server-Id": ["vault.example.com"],
        "X-Amz-Date": ["20160930T043121Z"],
        "Content-Type": ["application/x-www-form-urlencoded; charset=utf-8"],
        Authorization: [
          "AWS4-HMAC-SHA256 Credential=foo/20160930/us-east-1/sts/aws4_request, SignedHeaders=content-length;content-type;host;x-amz-date;x-vault-server, Signature=a69fd750a3445c4e553e1b3e79d3da90eef54047f1eb4efe8ffbc9c428c2655b",
        ],
        Foo: ["42"],
      },
    ], // Go: b64 string
    [{ "content-type": "text/json" }, { "Content-Type": ["text/json"] }],
    ["{}", {}],
    [[], {}],
    [null, {}],
  ])("accepts %j", (input, expected) => {
    expect(decodeOk(TypeHeader, input)).toEqual(expected);
  });

  it.each<ErrorRow>([
    [{ a: 1 }, "unrecognized type for %!s(float64=1)"],
    [{ a: [1] }, "received non-string value for header key:a, val:[%!s(float64=1)]"],
    [{ a: true }, "unrecognized type for %!s(bool=true)"],
    [["novalue"], 'invalid key pair "novalue"'],
    [[":value"], 'invalid key pair ":value"'],
    [[1], 'invalid key pair ""'],
    [5, 'invalid key pair ""'],
    ['["a"]', "json: cannot unmarshal array into Go value of type map[string]interface {}"],
    ['"text"', "json: cannot unmarshal string into Go value of type map[string]interface {}"],
    ["", "'data' being decoded is nil"],
  ])("refuses %j", (input, message) => {
    expect(decodeError(TypeHeader, input)).toBe(message);
  });

  it("refuses text that is neither base64 nor JSON", () => {
    expect(decodeError(TypeHeader, "not json")).toMatch(/^invalid JSON: /);
  });

  it("decodes 4-character words as base64 first, as Go does (so \"null\" is not JSON null)", () => {
    expect(decodeError(TypeHeader, "null")).toMatch(/^invalid JSON: /);
  });
});

describe("zero values (Go: \"<type>, not supplied\" rows)", () => {
  it.each<[FieldType<unknown>, unknown]>([
    [TypeString, ""],
    [TypeLowerCaseString, ""],
    [TypeNameString, ""],
    [TypeInt, 0],
    [TypeInt64, 0],
    [TypeFloat, 0],
    [TypeBool, false],
    [TypeMap, {}],
    [TypeDurationSecond, 0],
    [TypeSignedDurationSecond, 0],
    [TypeSlice, []],
    [TypeStringSlice, []],
    [TypeCommaStringSlice, []],
    [TypeCommaIntSlice, []],
    [TypeKVPairs, {}],
    [TypeHeader, {}],
  ])("%s has zero value %j", (type, zero) => {
    expect(type.zero()).toEqual(zero);
  });

  it("hands out a fresh zero object each time", () => {
    const first = TypeMap.zero();
    first.mutated = true;
    expect(TypeMap.zero()).toEqual({});
  });
});

describe("help names (path help shows them)", () => {
  it.each<[FieldType<unknown>, string]>([
    [TypeString, "string"],
    [TypeLowerCaseString, "lowercase string"],
    [TypeNameString, "name string"],
    [TypeInt, "int"],
    [TypeInt64, "int64"],
    [TypeBool, "bool"],
    [TypeMap, "map"],
    [TypeKVPairs, "keypair"],
    [TypeDurationSecond, "duration (sec)"],
    [TypeSignedDurationSecond, "duration (sec)"],
    [TypeSlice, "slice"],
    [TypeStringSlice, "slice"],
    [TypeCommaStringSlice, "slice"],
    [TypeCommaIntSlice, "slice"],
    [TypeHeader, "header"],
    [TypeFloat, "float"],
    [TypeTime, "time"],
  ])("%s is shown as %s", (type, name) => {
    expect(type.helpName).toBe(name);
  });
});

describe("zod schema of a field type", () => {
  it("coerces like decode and reports Go's message as the issue", () => {
    expect(TypeDurationSecond.schema.parse("1h")).toBe(3600);
    const failed = TypeDurationSecond.schema.safeParse("1.5");
    expect(failed.success).toBe(false);
    expect(failed.error?.issues[0]?.message).toBe('time: missing unit in duration "1.5"');
  });
});

describe("canonicalHeaderKey", () => {
  it.each([
    ["content-type", "Content-Type"],
    ["X-VAULT-TOKEN", "X-Vault-Token"],
    ["x-amz-date", "X-Amz-Date"],
    ["Guten Tag", "Guten Tag"],
    ["a:b", "a:b"],
  ])("%s → %s", (input, canonical) => {
    expect(canonicalHeaderKey(input)).toBe(canonical);
  });
});

describe("durations beyond Go's time.Duration", () => {
  it.each([1e300, "9999999999d", "9999999999999999999", 9.3e9 * 1e9])("rejects %s instead of storing a number no reader can load", (input) => {
    const parsed = parseDurationSecond(input);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.message).toMatch(/^time: invalid duration /);
  });

  it("still accepts the largest whole-second duration Go can hold", () => {
    expect(parseDurationSecond(9_223_372_036)).toEqual({ ok: true, value: 9_223_372_036n * 1_000_000_000n });
  });
});
