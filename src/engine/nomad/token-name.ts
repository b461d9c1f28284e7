// Nomad token names: `vault-<role>-<display name>-<unique suffix>`. The builtin
// engine cuts the whole name to the cap, which can cut off its UnixNano suffix
// (its own comment admits uniqueness suffers); we cut the middle instead, so the
// suffix always survives. Nomad limits names to 256 bytes (Go len), so we count
// UTF-8 bytes and never split a character.
import { customAlphabet } from "nanoid";

export const NOMAD_MAX_TOKEN_NAME_BYTES = 256;
export const SUFFIX_LENGTH = 10;
/** Below this a name cannot hold "vault-" plus a separator and the suffix. */
export const MIN_TOKEN_NAME_LENGTH = 6 + 1 + SUFFIX_LENGTH;

const uniqueSuffix = customAlphabet("0123456789abcdefghijklmnopqrstuvwxyz", SUFFIX_LENGTH);

function utf8Length(text: string): number {
  return Buffer.byteLength(text, "utf8");
}

function truncateUtf8(text: string, maxBytes: number): string {
  let out = "";
  let used = 0;
  for (const character of text) {
    const size = utf8Length(character);
    if (used + size > maxBytes) break;
    out += character;
    used += size;
  }
  return out;
}

/**
 * @param maxLength the configured cap (`max_token_name_length`); 0 means Nomad's 256.
 */
export function tokenName(role: string, displayName: string, maxLength: number, suffix: string = uniqueSuffix()): string {
  const cap = maxLength > 0 ? Math.min(maxLength, NOMAD_MAX_TOKEN_NAME_BYTES) : NOMAD_MAX_TOKEN_NAME_BYTES;
  const prefix = `vault-${role}-${displayName}`;
  const tail = `-${suffix}`;
  if (utf8Length(prefix) + utf8Length(tail) <= cap) return `${prefix}${tail}`;
  // A cut that lands on a separator would leave "--" before the suffix.
  return `${truncateUtf8(prefix, Math.max(0, cap - utf8Length(tail))).replace(/-+$/, "")}${tail}`;
}
