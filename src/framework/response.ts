// Response helpers (logical.ErrorResponse, ListResponse, HelpResponse) and the
// normalisation that keeps empty responses off the wire.
import type { Response } from "./logical.ts";

/**
 * A user-facing error: Vault answers 400 with `{"errors": [message]}`. Use it
 * for bad input; throw PluginError for internal failures.
 */
export function errorResponse(message: string): Response {
  return { data: { error: message } };
}

/** Whether a response is an error response (its data carries `error`). */
export function isErrorResponse(response: Response | null | undefined): boolean {
  const data = response?.data;
  return data !== null && data !== undefined && Object.hasOwn(data, "error");
}

/**
 * A list answer: `{"keys": [...]}`. With no keys the `keys` member is left
 * out, which Vault answers with 404, as it does for Go engines.
 */
export function listResponse(keys: readonly string[]): Response {
  return { data: keys.length > 0 ? { keys: [...keys] } : {} };
}

/**
 * A list answer with per-key details under `key_info`; only details of listed
 * keys are included, and `key_info` is left out when none are.
 */
export function listResponseWithInfo(keys: readonly string[], keyInfo: Readonly<Record<string, unknown>>): Response {
  const response = listResponse(keys);
  const info: Record<string, unknown> = {};
  for (const key of keys) if (Object.hasOwn(keyInfo, key)) info[key] = keyInfo[key];
  if (Object.keys(info).length === 0) return response;
  return { data: { ...response.data, key_info: info } };
}

/** The data of a help answer (logical.HelpResponse). */
export function helpResponse(help: string, openapi: Record<string, unknown>): Response {
  return { data: { help, see_also: null, openapi } };
}

/** Appends warnings without touching the caller's object. */
export function withWarnings(response: Response, warnings: readonly string[]): Response {
  if (warnings.length === 0) return response;
  return { ...response, warnings: [...(response.warnings ?? []), ...warnings] };
}

/**
 * A response with nothing in it becomes null: an empty-but-present response
 * would be sent as `data: ""`, which Vault cannot decode. A present (even
 * empty) `data` object is kept: it is what list answers without keys carry.
 */
export function normalizeResponse(response: Response | null | undefined): Response | null {
  if (response === null || response === undefined) return null;
  const hasData = response.data !== null && response.data !== undefined;
  const hasWarnings = (response.warnings?.length ?? 0) > 0;
  const hasHeaders = Object.keys(response.headers ?? {}).length > 0;
  const hasRedirect = (response.redirect ?? "") !== "";
  if (!hasData && !hasWarnings && !hasHeaders && !hasRedirect && response.secret === undefined) return null;
  return response;
}
