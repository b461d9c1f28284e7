// Masks secrets before anything reaches a log line or an error message.

const SECRET_KEYS = new Set([
  "token",
  "secret_id",
  "secretid",
  "client_key",
  "x-nomad-token",
  "x-vault-token",
  "authorization",
  "bootstrapsecret",
  "management_token",
  "password",
]);

const PEM_PRIVATE_KEY = /-----BEGIN ([A-Z ]*)PRIVATE KEY-----[\s\S]*?-----END \1PRIVATE KEY-----/g;
const UUID = /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi;

export const REDACTED = "<redacted>";

export function isSecretKey(key: string): boolean {
  return SECRET_KEYS.has(key.toLowerCase());
}

/** Removes PEM private keys from free text. */
export function redactText(text: string): string {
  return text.replace(PEM_PRIVATE_KEY, `-----BEGIN $1PRIVATE KEY-----${REDACTED}-----END $1PRIVATE KEY-----`);
}

/**
 * Removes anything shaped like a Nomad secret (a UUID) from text that came from
 * outside, such as a Nomad error body. Accessor IDs are UUIDs too, so only use
 * this on text that may echo a secret back.
 */
export function redactUuids(text: string): string {
  return redactText(text).replace(UUID, REDACTED);
}

/** Deep copy of a value with secret-named keys masked and PEM keys removed. */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 8) return REDACTED;
  if (typeof value === "string") return redactText(value);
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1));
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) {
      out[key] = isSecretKey(key) ? REDACTED : redact(inner, depth + 1);
    }
    return out;
  }
  return value;
}
