// When a failed attempt may be tried again, and how long to wait first.
//
// The rule that matters: a retry must never be able to create a second token. So
// this layer resends a create (PUT) only when the failure proves Nomad never acted
// on it: the connection was refused or never came up, or the answer was 429 (a
// rate limiter refuses before the request is handled). A create that failed in a
// way that may have taken effect (5xx, a broken connection after sending) is
// retried one level up, by NomadClient.createToken, which first looks for the
// token by its unique name. GET and DELETE are idempotent here — a DELETE retried
// after a lost answer comes back "nonexistent", which the client reports as
// already gone — so they are also retried on broken connections and 5xx.
// Timeouts are not retried: the attempt already spent the whole deadline, and
// Vault's own revoke loop retries later anyway.
import type { NomadRetryPolicy } from "./config.ts";
import type { NomadFailureDetail } from "./failure.ts";

/** Errors raised before any byte of the request reached Nomad. */
const NEVER_SENT_TRANSIENT = new Set([
  "ECONNREFUSED",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  "UND_ERR_CONNECT_TIMEOUT",
]);

/** Errors before sending that another try will not cure. */
const NEVER_SENT_PERMANENT = new Set(["ENOTFOUND", "ERR_INVALID_URL", "UND_ERR_INVALID_ARG"]);

/** TLS failures: the handshake, not Nomad, refused the request. */
const TLS_ERROR = /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|HOSTNAME|ALTNAME/;

export type TransportFailureKind = "never-sent-transient" | "never-sent-permanent" | "tls" | "maybe-sent";

export function classifyTransportError(code: string | undefined): TransportFailureKind {
  if (code === undefined) return "maybe-sent";
  if (NEVER_SENT_TRANSIENT.has(code)) return "never-sent-transient";
  if (NEVER_SENT_PERMANENT.has(code)) return "never-sent-permanent";
  if (TLS_ERROR.test(code)) return "tls";
  return "maybe-sent";
}

export function shouldRetryTransportError(kind: TransportFailureKind, idempotent: boolean): boolean {
  return kind === "never-sent-transient" || (kind === "maybe-sent" && idempotent);
}

export function shouldRetryStatus(status: number, idempotent: boolean): boolean {
  return status === 429 || (idempotent && status >= 500);
}

/**
 * A failed create worth another try once we know it left no token: Nomad (or a
 * proxy in front of it) answered 5xx, or the connection broke after sending.
 * Timeouts and cancellations are final, 4xx are the caller's to fix.
 */
export function isRetryableCreateFailure(failure: NomadFailureDetail | undefined): boolean {
  if (failure === undefined || failure.timedOut || failure.cancelled) return false;
  if (failure.status === undefined) return failure.mayHaveTakenEffect;
  return failure.status >= 500;
}

/**
 * Nomad's answers when the write never reached a leader: it has none, or the
 * server we asked could not open its forwarding connection to it (Nomad's RPC
 * pool fails with "failed to get conn" before sending). No token can exist, so
 * the look-up before a retry is skipped; during an election it would fail too.
 */
export function provesNothingWritten(failure: NomadFailureDetail): boolean {
  return failure.status !== undefined && /No cluster leader|rpc error: failed to get conn/i.test(failure.body ?? "");
}

/** Whether a wait of `delayMs` still leaves time for another attempt before `deadline` (epoch ms). */
export function fitsBeforeDeadline(delayMs: number, deadline: number | undefined, now = Date.now()): boolean {
  return deadline === undefined || now + delayMs + MIN_ATTEMPT_MS <= deadline;
}

/** Less time than this left for an attempt is not worth starting one. */
export const MIN_ATTEMPT_MS = 250;

/**
 * Exponential backoff with "equal jitter": half the step is fixed, half random, so
 * concurrent callers spread out but nobody retries immediately. `retryNumber` is 1
 * for the first retry. A server's Retry-After wins when it asks for longer, up to
 * maxDelayMs.
 */
export function backoffDelayMs(policy: NomadRetryPolicy, retryNumber: number, retryAfterMs?: number): number {
  const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retryNumber - 1));
  const jittered = step / 2 + policy.random() * (step / 2);
  const wanted = retryAfterMs === undefined ? jittered : Math.max(jittered, retryAfterMs);
  return Math.round(Math.min(policy.maxDelayMs, wanted));
}

/** Retry-After as seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfterMs(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || text.trim() === "") return undefined;
  if (/^\d+$/.test(text.trim())) return Number(text.trim()) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
