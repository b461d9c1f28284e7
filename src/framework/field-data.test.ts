// FieldData: absent vs supplied, defaults, and the validation message.
import { describe, expect, it } from "vitest";
import { ErrorCode, PluginError } from "../shared/errors.ts";
import { FieldData, type FieldMap } from "./field-data.ts";
import {
  TypeCommaStringSlice,
  TypeDurationSecond,
  TypeKVPairs,
  TypeMap,
  TypeNameString,
  TypeString,
  TypeTime,
} from "./field-types.ts";

const schema = {
  name: { type: TypeNameString },
  fizz: { type: TypeNameString },
  ttl: { type: TypeDurationSecond, default: "1h" },
  max_ttl: { type: TypeDurationSecond },
  policies: { type: TypeCommaStringSlice, default: ["default"] },
  labels: { type: TypeKVPairs },
  meta: { type: TypeMap, default: { owner: "ops" } },
  when: { type: TypeTime },
  description: { type: TypeString, default: "none" },
  password: { type: TypeString, sensitive: true },
} as const satisfies FieldMap;

describe("get and getOk", () => {
  it("distinguishes a supplied value from an absent one", () => {
    const data = new FieldData({ ttl: 60 }, schema);
    expect(data.getOk("ttl")).toEqual({ ok: true, value: 60 });
    expect(data.getOk("max_ttl")).toEqual({ ok: false, value: undefined });
    expect(data.get("max_ttl")).toBe(0);
  });

  it("applies coerced defaults to absent fields", () => {
    const data = new FieldData({}, schema);
    expect(data.get("ttl")).toBe(3600);
    expect(data.get("policies")).toEqual(["default"]);
    expect(data.get("description")).toBe("none");
    expect(data.get("labels")).toEqual({});
    expect(data.getDefaultOrZero("ttl")).toBe(3600);
  });

  it("hands out defaults that handlers may mutate without affecting later requests", () => {
    const first = new FieldData({}, schema).get("meta");
    first.owner = "changed";
    expect(new FieldData({}, schema).get("meta")).toEqual({ owner: "ops" });
  });

  it("treats null as absent for duration and time fields only (Go)", () => {
    const data = new FieldData({ ttl: null, when: null, description: null }, schema);
    expect(data.getOk("ttl").ok).toBe(false);
    expect(data.get("ttl")).toBe(3600);
    expect(data.getOk("when").ok).toBe(false);
    expect(data.getOk("description")).toEqual({ ok: true, value: "" });
    expect(data.has("ttl")).toBe(true);
  });

  it("returns the first supplied of several names (Go: TestFieldDataGetFirst)", () => {
    const data = new FieldData({ name: "bar", fizz: "buzz" }, schema);
    expect(data.getFirst("name", "fizz")).toEqual({ ok: true, value: "bar" });
    expect(data.getFirst("fizz", "name")).toEqual({ ok: true, value: "buzz" });
    expect(data.getFirst("ttl")).toEqual({ ok: false, value: undefined });
  });

  it("refuses names that are not in the schema", () => {
    const data = new FieldData({ cats: 1 }, schema as FieldMap);
    expect(() => data.get("cats")).toThrowError('field "cats" is not in the schema');
  });

  it("reports an unconvertible value read without prior validation as a bad request", () => {
    const data = new FieldData({ ttl: "soon" }, schema);
    const attempt = (): unknown => data.get("ttl");
    expect(attempt).toThrowError(PluginError);
    try {
      attempt();
    } catch (error) {
      expect(PluginError.is(error, ErrorCode.BadRequest)).toBe(true);
    }
  });
});

describe("validate", () => {
  it("passes when every known field converts and ignores unknown ones", () => {
    expect(new FieldData({ ttl: "5m", unknown: { deep: [] } }, schema).validate()).toBeUndefined();
  });

  it.each<[Record<string, unknown>, string]>([
    [{ ttl: "1.5" }, 'error converting input 1.5 for field "ttl": time: missing unit in duration "1.5"'],
    [{ ttl: -3 }, `error converting input -3 for field "ttl": cannot provide negative value '-3'`],
    [{ name: "bad name" }, 'error converting input bad name for field "name": field does not match the formatting rules'],
    [{ labels: ["x"] }, 'error converting input [x] for field "labels": invalid key pair "x"'],
    [
      { meta: "text" },
      `error converting input text for field "meta": '' expected a map, got 'string'`,
    ],
    [{ ttl: 1e6 + 0.5, name: "" }, 'error converting input  for field "name": field does not match the formatting rules'],
  ])("reports %j as %s", (raw, message) => {
    expect(new FieldData(raw, schema).validate()).toBe(message);
  });

  it("masks sensitive values and the reason that would quote them", () => {
    const message = new FieldData({ password: ["hunter2"] }, schema).validate();
    expect(message).toBe(
      `error converting input <redacted> for field "password": cannot convert a value of type '[]interface {}' to string`,
    );
  });

  it("gives a loggable copy of the input with sensitive fields masked", () => {
    expect(new FieldData({ password: "hunter2", name: "web" }, schema).redactedRaw()).toEqual({
      password: "<redacted>",
      name: "web",
    });
  });
});
