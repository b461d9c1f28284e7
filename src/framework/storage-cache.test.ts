import { describe, expect, it } from "vitest";
import type { Storage, StorageEntry } from "./logical.ts";
import { StorageReadCache } from "./storage-cache.ts";
import { InMemoryStorage } from "./testing.ts";

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (entry: StorageEntry | null): string | null => (entry === null ? null : new TextDecoder().decode(entry.value));

/** In-memory storage that counts reads and can hold a read until released. */
class CountingStorage extends InMemoryStorage {
  reads = 0;
  private gate: Promise<void> | null = null;
  private open: (() => void) | null = null;

  holdReads(): () => void {
    this.gate = new Promise((resolve) => (this.open = resolve));
    return () => {
      this.gate = null;
      this.open?.();
    };
  }

  override async get(key: string): Promise<StorageEntry | null> {
    this.reads += 1;
    const value = await super.get(key);
    if (this.gate !== null) await this.gate;
    return value;
  }
}

function setup(maxEntries?: number): { storage: CountingStorage; cache: StorageReadCache; view: Storage } {
  const storage = new CountingStorage();
  const cache = new StorageReadCache({ prefixes: ["config/", "role/"], ...(maxEntries === undefined ? {} : { maxEntries }) });
  return { storage, cache, view: cache.over(storage) };
}

describe("storage read cache", () => {
  it("answers a covered key from memory after the first read, including an absent one", async () => {
    const { storage, view } = setup();
    await storage.put({ key: "role/a", value: bytes("1") });
    expect(text(await view.get("role/a"))).toBe("1");
    expect(text(await view.get("role/a"))).toBe("1");
    expect(await view.get("role/missing")).toBeNull();
    expect(await view.get("role/missing")).toBeNull();
    expect(storage.reads).toBe(2);
  });

  it("always reads keys it does not cover", async () => {
    const { storage, view } = setup();
    await storage.put({ key: "other", value: bytes("x") });
    await view.get("other");
    await view.get("other");
    expect(storage.reads).toBe(2);
  });

  it("reads again after a put or delete through it", async () => {
    const { view } = setup();
    await view.put({ key: "role/a", value: bytes("1") });
    expect(text(await view.get("role/a"))).toBe("1");
    await view.put({ key: "role/a", value: bytes("2") });
    expect(text(await view.get("role/a"))).toBe("2");
    await view.delete("role/a");
    expect(await view.get("role/a")).toBeNull();
  });

  it("keeps serving what it read until the host invalidates the key, then reads the new value", async () => {
    const { storage, cache, view } = setup();
    await storage.put({ key: "config/lease", value: bytes("old") });
    expect(text(await view.get("config/lease"))).toBe("old");
    await storage.put({ key: "config/lease", value: bytes("new") }); // a replicated write, around the plugin
    expect(text(await view.get("config/lease"))).toBe("old");
    cache.forget("config/lease");
    expect(text(await view.get("config/lease"))).toBe("new");
  });

  it.each<[string, (parts: ReturnType<typeof setup>) => Promise<void>]>([
    [
      "its key was invalidated",
      async ({ storage, cache }) => {
        await storage.put({ key: "role/a", value: bytes("new") });
        cache.forget("role/a");
      },
    ],
    ["a write of it was running", ({ view }) => view.put({ key: "role/a", value: bytes("new") })],
  ])("does not keep a value read while %s", async (_, change) => {
    const parts = setup();
    await parts.storage.put({ key: "role/a", value: bytes("old") });
    const release = parts.storage.holdReads();
    const inFlight = parts.view.get("role/a");
    await change(parts);
    release();
    expect(text(await inFlight)).toBe("old");
    expect(text(await parts.view.get("role/a"))).toBe("new");
  });

  it("drops the key when a write fails, and never caches a failed read", async () => {
    const { storage, view } = setup();
    await storage.put({ key: "role/a", value: bytes("1") });
    await view.get("role/a");
    storage.setReadOnly(true);
    await expect(view.put({ key: "role/a", value: bytes("2") })).rejects.toThrow();
    storage.setReadOnly(false);
    const before = storage.reads;
    await view.get("role/a");
    expect(storage.reads).toBe(before + 1);

    const failing: Storage = {
      list: (prefix) => storage.list(prefix),
      put: (entry) => storage.put(entry),
      delete: (key) => storage.delete(key),
      get: () => Promise.reject(new Error("storage unavailable")),
    };
    const cache = new StorageReadCache({ prefixes: ["role/"] });
    await expect(cache.over(failing).get("role/a")).rejects.toThrow("storage unavailable");
    expect(cache.size).toBe(0);
  });

  it("holds at most maxEntries, dropping the least recently used", async () => {
    const { storage, cache, view } = setup(2);
    for (const name of ["a", "b", "c"]) await storage.put({ key: `role/${name}`, value: bytes(name) });
    await view.get("role/a");
    await view.get("role/b");
    await view.get("role/a"); // a is now the most recent
    await view.get("role/c"); // drops b
    expect(cache.size).toBe(2);
    const before = storage.reads;
    await view.get("role/a");
    await view.get("role/c");
    expect(storage.reads).toBe(before);
    await view.get("role/b");
    expect(storage.reads).toBe(before + 1);
  });

  it("starts over after clear (Cleanup)", async () => {
    const { storage, cache, view } = setup();
    await storage.put({ key: "role/a", value: bytes("1") });
    await view.get("role/a");
    await storage.put({ key: "role/a", value: bytes("2") });
    cache.clear();
    expect(text(await view.get("role/a"))).toBe("2");
  });
});
