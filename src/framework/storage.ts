// JSON storage entries (logical.StorageEntryJSON): engines keep their config
// and roles as JSON under a key, and read them back through a zod schema.
import type { Schema } from "../shared/schema.ts";
import { ErrorCode, PluginError, toPluginError } from "../shared/errors.ts";
import type { Storage, StorageEntry } from "./logical.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** A storage entry holding `value` as JSON. */
export function jsonStorageEntry(key: string, value: unknown, options: { sealWrap?: boolean } = {}): StorageEntry {
  const json = JSON.stringify(value);
  if (json === undefined) throw new PluginError(ErrorCode.Storage, `cannot store ${key}: value is not JSON`);
  const entry: StorageEntry = { key, value: encoder.encode(json) };
  if (options.sealWrap === true) entry.sealWrap = true;
  return entry;
}

/**
 * Decodes a JSON entry through `schema`. Malformed entries fail with a
 * message naming the key and the failing members, never the stored values.
 */
export function decodeJsonEntry<T>(entry: StorageEntry, schema: Schema<T>): T {
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(entry.value));
  } catch (error) {
    throw new PluginError(ErrorCode.Storage, `stored entry ${entry.key} is not valid JSON`, { cause: error });
  }
  const result = schema.safeParse(parsed);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`);
  throw new PluginError(ErrorCode.Storage, `stored entry ${entry.key} is malformed: ${problems.join("; ")}`);
}

/** Reads `key` as JSON checked by `schema`; null when there is no entry. */
export async function getJSON<T>(storage: Storage, key: string, schema: Schema<T>): Promise<T | null> {
  let entry: StorageEntry | null;
  try {
    entry = await storage.get(key);
  } catch (error) {
    throw toPluginError(error, ErrorCode.Storage);
  }
  return entry === null ? null : decodeJsonEntry(entry, schema);
}

/** Writes `value` as JSON under `key`. */
export async function putJSON(
  storage: Storage,
  key: string,
  value: unknown,
  options: { sealWrap?: boolean } = {},
): Promise<void> {
  const entry = jsonStorageEntry(key, value, options);
  try {
    await storage.put(entry);
  } catch (error) {
    throw toPluginError(error, ErrorCode.Storage);
  }
}
