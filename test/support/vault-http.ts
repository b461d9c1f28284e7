// What a user sees over Vault's HTTP API for a backend answer, following Vault's
// rules (vault-plugin-protocol.md §8.3): so engine tests can assert statuses and
// bodies rather than internal shapes.
import { ErrorCode, PluginError } from "../../src/shared/errors.ts";
import type { Operation, Response } from "../../src/framework/logical.ts";

export interface HttpOutcome {
  status: number;
  data?: Record<string, unknown> | null;
  errors?: string[];
  warnings?: string[];
  response?: Response;
}

export async function asHttp(operation: Operation, call: () => Promise<Response | null>): Promise<HttpOutcome> {
  let response: Response | null;
  try {
    response = await call();
  } catch (error) {
    const code = PluginError.is(error) ? error.code : ErrorCode.Internal;
    const message = error instanceof Error ? error.message : String(error);
    const status =
      code === ErrorCode.UnsupportedPath ? 404 : code === ErrorCode.UnsupportedOperation ? 405 : code === ErrorCode.BadRequest || code === ErrorCode.InvalidRequest ? 400 : code === ErrorCode.PermissionDenied ? 403 : 500;
    return { status, errors: [message] };
  }
  if (response === null) return { status: operation === "read" || operation === "list" ? 404 : 204 };
  const data = response.data ?? null;
  if (data !== null && typeof data.error === "string" && Object.keys(data).every((key) => key === "error" || key === "data")) {
    return { status: 400, errors: [data.error], response };
  }
  if (operation === "list" && (data === null || !Array.isArray(data.keys) || data.keys.length === 0)) {
    return { status: 404, response };
  }
  const outcome: HttpOutcome = { status: 200, data, response };
  if (response.warnings !== undefined && response.warnings.length > 0) outcome.warnings = response.warnings;
  return outcome;
}
