// A read cache over a mount's storage for the few keys every request reads
// (config, roles). Each uncached read is a gRPC round trip back into the host,
// the largest cost per request after the request itself.
//
// Why it stays correct:
// - On the active node this backend is the only writer of its own storage view,
//   and every write goes through `put`/`delete` below, which drop the key.
// - Where someone else writes (OpenBao standby reads, Vault performance
//   standbys and secondaries), the host sends InvalidateKey for each replicated
//   key, and `forget` drops it, as the Go SDK's builtin engines do with theirs.
// - A node that changes state (standby to active, seal, reload, unmount) tears
//   its mounts down: `clear` runs from Cleanup, and a new backend starts empty.
// - A read that was in flight while its key was dropped does not fill the cache
//   with what it read, since that may be older than the write that dropped it.
// Writes made around the plugin (`sys/raw`) are seen after `plugin reload`.
import type { Storage, StorageEntry } from "./logical.ts";

export interface StorageCacheOptions {
  /** Keys equal to, or starting with, one of these are cached; others pass through. */
  prefixes: readonly string[];
  /** Entries kept at most, least recently used dropped first. */
  maxEntries?: number;
}

const DEFAULT_MAX_ENTRIES = 1024;

export class StorageReadCache {
  /** Insertion order is recency order: a hit re-inserts its key. */
  private readonly entries = new Map<string, StorageEntry | null>();
  /** Bumped whenever anything is dropped; a read fills only if it did not move. */
  private epoch = 0;
  private readonly prefixes: readonly string[];
  private readonly maxEntries: number;

  constructor(options: StorageCacheOptions) {
    this.prefixes = options.prefixes;
    this.maxEntries = Math.max(1, options.maxEntries ?? DEFAULT_MAX_ENTRIES);
  }

  private covers(key: string): boolean {
    return this.prefixes.some((prefix) => key.startsWith(prefix));
  }

  /** The mount's storage, reading covered keys through the cache. */
  over(storage: Storage): Storage {
    return {
      list: (prefix) => storage.list(prefix),
      get: (key) => this.get(storage, key),
      put: (entry) => this.write(entry.key, () => storage.put(entry)),
      delete: (key) => this.write(key, () => storage.delete(key)),
    };
  }

  /** The host says `key` changed elsewhere (replication). */
  forget(key: string): void {
    this.entries.delete(key);
    this.epoch += 1;
  }

  clear(): void {
    this.entries.clear();
    this.epoch += 1;
  }

  get size(): number {
    return this.entries.size;
  }

  private async get(storage: Storage, key: string): Promise<StorageEntry | null> {
    if (!this.covers(key)) return storage.get(key);
    if (this.entries.has(key)) {
      const hit = this.entries.get(key) ?? null;
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit;
    }
    const epochAtStart = this.epoch;
    const entry = await storage.get(key);
    if (this.epoch === epochAtStart) this.remember(key, entry);
    return entry;
  }

  /**
   * Dropped before the write (reads from now on go to storage) and after it
   * (a read that raced the write may have filled the old value).
   */
  private async write(key: string, run: () => Promise<void>): Promise<void> {
    if (!this.covers(key)) return run();
    this.forget(key);
    try {
      await run();
    } finally {
      this.forget(key);
    }
  }

  private remember(key: string, entry: StorageEntry | null): void {
    this.entries.set(key, entry);
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.entries.delete(oldest.value);
    }
  }
}
