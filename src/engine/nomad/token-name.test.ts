import { describe, expect, it } from "vitest";
import { tokenName } from "./token-name.ts";

const bytes = (text: string) => Buffer.byteLength(text, "utf8");

describe("Nomad token names", () => {
  // The builtin's cases (Default, ConfigOverride 64, long role name, no trim), plus ours.
  it.each([
    { case: "default cap", role: "admin", display: "token", cap: 0, expected: "vault-admin-token-abcdefghij" },
    { case: "fits under the override", role: "admin", display: "token", cap: 64, expected: "vault-admin-token-abcdefghij" },
    { case: "exactly the cap", role: "r", display: "d", cap: 20, expected: "vault-r-d-abcdefghij" },
    { case: "cut in the middle, suffix kept", role: "dispatch", display: "approle", cap: 20, expected: "vault-dis-abcdefghij" },
  ])("$case", ({ role, display, cap, expected }) => {
    expect(tokenName(role, display, cap, "abcdefghij")).toBe(expected);
  });

  it("never exceeds the cap and always keeps the unique suffix for long role names", () => {
    const role = "r".repeat(300);
    for (const cap of [17, 32, 64, 255, 256, 0]) {
      const name = tokenName(role, "userpass-alice", cap, "0123456789");
      expect(bytes(name)).toBeLessThanOrEqual(cap === 0 ? 256 : cap);
      expect(name.endsWith("-0123456789")).toBe(true);
    }
  });

  it("counts UTF-8 bytes as Nomad does and never splits a character", () => {
    const name = tokenName("rôle", "ユーザー".repeat(40), 64, "0123456789");
    expect(bytes(name)).toBeLessThanOrEqual(64);
    expect(name).not.toContain("\uFFFD");
    expect(Buffer.from(name, "utf8").toString("utf8")).toBe(name);
  });

  it("makes a different name for every token of the same role", () => {
    const names = new Set(Array.from({ length: 1000 }, () => tokenName("admin", "token", 32)));
    expect(names.size).toBe(1000);
  });

  it("caps at Nomad's 256 bytes even when configured higher", () => {
    expect(bytes(tokenName("x".repeat(400), "d", 1000))).toBe(256);
  });
});
