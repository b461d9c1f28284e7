// JSON storage entries and the in-memory storage used by tests.
import { describe, expect, it } from "vitest";
import * as z from "../shared/schema.ts";
import { ErrorCode, PluginError } from "../shared/errors.ts";
import { getJSON, jsonStorageEntry, putJSON } from "./storage.ts";
import { InMemoryStorage } from "./testing.ts";

const accessConfig = z.object({ address: z.string(), max_token_name_length: z._default(z.number(), 0) });

describe("getJSON / putJSON", () => {
  it("round-trips a value through storage and applies the schema", async () => {
    const storage = new InMemoryStorage();
    await putJSON(storage, "config/access", { address: "http://127.0.0.1:4646" });
    expect(await getJSON(storage, "config/access", accessConfig)).toEqual({
      address: "http://127.0.0.1:4646",
      max_token_name_length: 0,
    });
    const entry = await storage.get("config/access");
    expect(new TextDecoder().decode(entry?.value)).toBe('{"address":"http://127.0.0.1:4646"}');
  });

  it("answers null for a missing key", async () => {
    expect(await getJSON(new InMemoryStorage(), "nothing", accessConfig)).toBeNull();
  });

  it("reports a malformed entry by key and member, never by stored value", async () => {
    const storage = new InMemoryStorage();
    await putJSON(storage, "config/access", { address: 4646, token: "s3cr3t-token" });
    const error = await getJSON(storage, "config/access", accessConfig).catch((caught: unknown) => caught);
    expect(PluginError.is(error, ErrorCode.Storage)).toBe(true);
    const message = (error as PluginError).message;
    // zod's English text: src/shared/schema.ts configures the locale that zod/mini leaves out.
    expect(message).toBe("stored entry config/access is malformed: address: Invalid input: expected string, received number");
    expect(message).not.toContain("s3cr3t");
  });

  it("reports an entry that is not JSON", async () => {
    const storage = new InMemoryStorage();
    await storage.put({ key: "k", value: new TextEncoder().encode("{nope") });
    await expect(getJSON(storage, "k", z.unknown())).rejects.toThrowError("stored entry k is not valid JSON");
  });

  it("wraps storage failures as storage errors", async () => {
    const storage = new InMemoryStorage();
    storage.setReadOnly(true);
    const error = await putJSON(storage, "k", {}).catch((caught: unknown) => caught);
    expect(PluginError.is(error, ErrorCode.Storage)).toBe(true);
    expect((error as PluginError).message).toBe("cannot write to storage during setup");
  });

  it("marks seal-wrapped entries", () => {
    expect(jsonStorageEntry("config/access", {}, { sealWrap: true }).sealWrap).toBe(true);
    expect(jsonStorageEntry("k", {}).sealWrap).toBeUndefined();
  });
});

describe("InMemoryStorage", () => {
  it("lists one level below a prefix, folders with a trailing slash, sorted", async () => {
    const storage = new InMemoryStorage();
    for (const key of ["role/b", "role/a", "role/sub/x", "role/sub/y", "config/access"]) {
      await storage.put({ key, value: new Uint8Array() });
    }
    expect(await storage.list("role/")).toEqual(["a", "b", "sub/"]);
    expect(await storage.list("")).toEqual(["config/", "role/"]);
    expect(await storage.list("none/")).toEqual([]);
  });

  it("copies values in and out", async () => {
    const storage = new InMemoryStorage();
    const value = new Uint8Array([1, 2]);
    await storage.put({ key: "k", value });
    value[0] = 9;
    const read = await storage.get("k");
    expect([...(read?.value ?? [])]).toEqual([1, 2]);
  });

  it("deletes", async () => {
    const storage = new InMemoryStorage();
    await storage.put({ key: "k", value: new Uint8Array() });
    await storage.delete("k");
    expect(await storage.get("k")).toBeNull();
    expect(storage.keys()).toEqual([]);
  });
});
