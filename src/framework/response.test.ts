// Response helpers: what Vault turns each shape into.
import { describe, expect, it } from "vitest";
import {
  errorResponse,
  isErrorResponse,
  listResponse,
  listResponseWithInfo,
  normalizeResponse,
  withWarnings,
} from "./response.ts";

describe("response helpers", () => {
  it("builds an error response Vault answers with 400", () => {
    expect(errorResponse("missing role")).toEqual({ data: { error: "missing role" } });
    expect(isErrorResponse(errorResponse("x"))).toBe(true);
    expect(isErrorResponse({ data: { keys: [] } })).toBe(false);
    expect(isErrorResponse(null)).toBe(false);
  });

  it("omits keys from an empty list so that Vault answers 404", () => {
    expect(listResponse([])).toEqual({ data: {} });
    expect(listResponse(["a", "b"])).toEqual({ data: { keys: ["a", "b"] } });
  });

  it("adds key_info only for listed keys, and only when there is some", () => {
    expect(listResponseWithInfo(["a"], { a: { ttl: 1 }, z: { ttl: 2 } })).toEqual({
      data: { keys: ["a"], key_info: { a: { ttl: 1 } } },
    });
    expect(listResponseWithInfo(["a"], { z: 1 })).toEqual({ data: { keys: ["a"] } });
    expect(listResponseWithInfo([], { a: 1 })).toEqual({ data: {} });
  });

  it.each([
    [{}, null],
    [{ data: null }, null],
    [{ warnings: [] }, null],
    [{ headers: {} }, null],
    [{ redirect: "" }, null],
    [{ data: {} }, { data: {} }],
    [{ warnings: ["w"] }, { warnings: ["w"] }],
    [{ redirect: "/v1/x" }, { redirect: "/v1/x" }],
  ])("normalises %j to %j", (response, expected) => {
    expect(normalizeResponse(response)).toEqual(expected);
  });

  it("appends warnings without changing the given response", () => {
    const original = { data: { a: 1 }, warnings: ["first"] };
    expect(withWarnings(original, ["second"])).toEqual({ data: { a: 1 }, warnings: ["first", "second"] });
    expect(original.warnings).toEqual(["first"]);
  });
});
