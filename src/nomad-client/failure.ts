// Turns Nomad answers and transport failures into PluginErrors whose messages are
// safe to show: Nomad's plain-text bodies can echo IDs, so UUIDs are masked unless
// the caller named them (an accessor it passed in), and known secrets are masked.
import { ErrorCode, PluginError } from "../shared/errors.ts";
import { REDACTED, redactText } from "../shared/redact.ts";

const UUID = /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi;
const MAX_BODY_IN_MESSAGE = 500;

export interface NomadFailureDetail {
  method: string;
  /** Request path without the query string. */
  path: string;
  /** Nomad's HTTP status; undefined when no answer arrived. */
  status: number | undefined;
  /** Nomad's error text, masked and on one line. */
  body: string | undefined;
  attempts: number;
  /**
   * True when the request may have reached Nomad and taken effect although no
   * success came back (a 5xx, a timeout or a broken connection after sending).
   * A create in that state may have left a token behind.
   */
  mayHaveTakenEffect: boolean;
  timedOut: boolean;
  /** The caller or the plugin's shutdown aborted the call. */
  cancelled: boolean;
}

const details = new WeakMap<PluginError, NomadFailureDetail>();

/** Structured facts about a failed Nomad call, for callers that branch on them. */
export function nomadFailureDetail(error: unknown): NomadFailureDetail | undefined {
  return error instanceof PluginError ? details.get(error) : undefined;
}

export interface MaskingRules {
  /** UUIDs the caller supplied itself (accessors), safe to show. */
  visibleUuids?: readonly string[];
  /** Exact strings to hide wherever they appear (tokens). */
  secrets?: readonly string[];
}

/** One-line, masked, bounded rendering of text that came from Nomad. */
export function maskNomadText(text: string, rules: MaskingRules = {}): string {
  let masked = redactText(text);
  for (const secret of rules.secrets ?? []) {
    if (secret.length >= 4) masked = masked.split(secret).join(REDACTED);
  }
  const visible = new Set((rules.visibleUuids ?? []).map((id) => id.toLowerCase()));
  masked = masked.replace(UUID, (match) => (visible.has(match.toLowerCase()) ? match : REDACTED));
  masked = masked.replace(/\s+/g, " ").trim();
  return masked.length > MAX_BODY_IN_MESSAGE ? `${masked.slice(0, MAX_BODY_IN_MESSAGE)}…` : masked;
}

export function nomadApiError(detail: Omit<NomadFailureDetail, "timedOut" | "cancelled">, statusText: string): PluginError {
  const shown = detail.body !== undefined && detail.body !== "" ? detail.body : statusText;
  const message = `Nomad API error: ${detail.method} ${detail.path} returned ${detail.status ?? "?"}: ${shown}${retriedSuffix(detail.attempts)}`;
  const error = new PluginError(ErrorCode.NomadApi, message, detail.status === undefined ? {} : { httpStatus: detail.status });
  details.set(error, { ...detail, timedOut: false, cancelled: false });
  return error;
}

export function nomadUnreachableError(
  address: string,
  detail: Omit<NomadFailureDetail, "status" | "body">,
  reason: string,
  cause: unknown,
): PluginError {
  const message = `could not reach Nomad at ${address}: ${reason}${retriedSuffix(detail.attempts)}`;
  const error = new PluginError(ErrorCode.NomadUnreachable, message, { cause });
  details.set(error, { ...detail, status: undefined, body: undefined });
  return error;
}

/** An answer that is not what Nomad documents (wrong JSON shape). */
export function nomadBadResponseError(method: string, path: string, problem: string): PluginError {
  const error = new PluginError(
    ErrorCode.NomadApi,
    `Nomad API error: ${method} ${path} returned an unexpected response: ${problem}`,
  );
  details.set(error, {
    method,
    path,
    status: undefined,
    body: undefined,
    attempts: 1,
    mayHaveTakenEffect: method !== "GET",
    timedOut: false,
    cancelled: false,
  });
  return error;
}

/** An address for messages, without user:password. */
export function displayAddress(address: string): string {
  try {
    const url = new URL(address);
    url.username = "";
    url.password = "";
    return url.toString().replace(/\/$/, "");
  } catch {
    return address.replace(/\/\/[^/@]*@/, "//");
  }
}

function retriedSuffix(attempts: number): string {
  return attempts > 1 ? ` (after ${attempts} attempts)` : "";
}
