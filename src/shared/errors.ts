// One error type for the whole plugin. Callers branch on `code`, never on the
// message; messages are for humans and must never carry secrets.

export const ErrorCode = {
  /** The request names a path no backend path matches (Vault: 404). */
  UnsupportedPath: "ERR_UNSUPPORTED_PATH",
  /** The path exists but has no handler for the operation (Vault: 405). */
  UnsupportedOperation: "ERR_UNSUPPORTED_OPERATION",
  /** Vault's `invalid request` sentinel (400). */
  InvalidRequest: "ERR_INVALID_REQUEST",
  /** Vault's `permission denied` sentinel (403). */
  PermissionDenied: "ERR_PERMISSION_DENIED",
  /** Bad input from the caller, reported as Vault's UserError. */
  UserError: "ERR_USER",
  /** A 400 with the given message (logical.StatusBadRequest). */
  BadRequest: "ERR_BAD_REQUEST",
  /** An error carrying its own HTTP status (logical.CodedError). */
  Coded: "ERR_CODED",
  Internal: "ERR_INTERNAL",
  /**
   * logical.ErrReadOnly: this node must not run the operation. The host matches
   * the message text ("cannot write to readonly storage") and forwards the
   * request to the active node, so the text must stay exactly as Vault's.
   */
  ReadOnly: "ERR_READ_ONLY",
  Storage: "ERR_STORAGE",
  NomadApi: "ERR_NOMAD_API",
  NomadUnreachable: "ERR_NOMAD_UNREACHABLE",
  Config: "ERR_CONFIG",
  Handshake: "ERR_HANDSHAKE",
  Tls: "ERR_TLS",
  Broker: "ERR_BROKER",
  Multiplex: "ERR_MULTIPLEX",
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface PluginErrorOptions {
  cause?: unknown;
  /** HTTP status for ErrorCode.Coded. */
  httpStatus?: number;
}

export class PluginError extends Error {
  readonly code: ErrorCode;
  readonly httpStatus: number | undefined;

  constructor(code: ErrorCode, message: string, options: PluginErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "PluginError";
    this.code = code;
    this.httpStatus = options.httpStatus;
  }

  static is(value: unknown, code?: ErrorCode): value is PluginError {
    return value instanceof PluginError && (code === undefined || value.code === code);
  }
}

/** Vault's logical.ErrReadOnly text, which hosts match to forward a request. */
export const READ_ONLY_MESSAGE = "cannot write to readonly storage";

/** Normalises anything thrown into a PluginError, keeping the original as `cause`. */
export function toPluginError(value: unknown, code: ErrorCode = ErrorCode.Internal): PluginError {
  if (value instanceof PluginError) return value;
  if (value instanceof Error) return new PluginError(code, value.message, { cause: value });
  return new PluginError(code, String(value));
}
