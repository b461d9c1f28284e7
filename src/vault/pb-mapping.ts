// Translation between Vault's protobuf messages and the logical contract.
// Rules that matter on the wire: durations are int64 nanoseconds (bigint here,
// never JS numbers); a present lease always carries issue_time; JSON-in-string
// fields are always valid JSON; messages with nothing to say stay unset.
import { ErrorCode, PluginError, toPluginError } from "../shared/errors.ts";
import type { Timestamp } from "../generated/google/protobuf/timestamp.ts";
import type {
  Header,
  LeaseOptions as PbLeaseOptions,
  Paths,
  ProtoError,
  Request as PbRequest,
  Response as PbResponse,
  Secret as PbSecret,
} from "../generated/sdk/plugin/pb/backend.ts";
import type {
  LeaseOptions,
  Operation,
  Request,
  Response,
  Secret,
  SpecialPaths,
  Storage,
} from "../framework/logical.ts";

/** Go's zero time.Time (0001-01-01T00:00:00Z), which Vault uses for "unset". */
export const GO_ZERO_TIME_SECONDS = -62135596800n;

export function timestampToDate(timestamp: Timestamp | undefined): Date | null {
  if (timestamp === undefined || timestamp.seconds <= GO_ZERO_TIME_SECONDS) return null;
  return new Date(Number(timestamp.seconds) * 1000 + Math.floor(timestamp.nanos / 1_000_000));
}

export function dateToTimestamp(date: Date | null): Timestamp {
  if (date === null) return { seconds: GO_ZERO_TIME_SECONDS, nanos: 0 };
  const millis = date.getTime();
  const seconds = Math.floor(millis / 1000);
  return { seconds: BigInt(seconds), nanos: (millis - seconds * 1000) * 1_000_000 };
}

function parseJsonObject(text: string, field: string): Record<string, unknown> | null {
  if (text === "" || text === "null") return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new PluginError(ErrorCode.InvalidRequest, `${field} is not valid JSON`, { cause: error });
  }
  if (parsed === null) return null;
  if (typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new PluginError(ErrorCode.InvalidRequest, `${field} is not a JSON object`);
  }
  return parsed as Record<string, unknown>;
}

function leaseFromPb(options: PbLeaseOptions | undefined): LeaseOptions {
  return {
    ttl: options?.TTL ?? 0n,
    maxTtl: options?.MaxTTL ?? 0n,
    renewable: options?.renewable ?? false,
    increment: options?.increment ?? 0n,
    issueTime: timestampToDate(options?.issueTime),
  };
}

function leaseToPb(options: LeaseOptions): PbLeaseOptions {
  return {
    TTL: options.ttl,
    MaxTTL: options.maxTtl,
    renewable: options.renewable,
    increment: options.increment,
    issueTime: dateToTimestamp(options.issueTime),
  };
}

export function secretFromPb(secret: PbSecret): Secret {
  return {
    leaseOptions: leaseFromPb(secret.leaseOptions),
    internalData: parseJsonObject(secret.internalData, "secret internal data") ?? {},
    leaseId: secret.leaseId,
  };
}

export function secretToPb(secret: Secret): PbSecret {
  return {
    leaseOptions: leaseToPb(secret.leaseOptions),
    internalData: JSON.stringify(secret.internalData),
    leaseId: secret.leaseId,
  };
}

function headersFromPb(headers: { [key: string]: Header }): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(headers)) out[name] = [...value.header];
  return out;
}

function headersToPb(headers: Record<string, string[]> | undefined): { [key: string]: Header } {
  const out: { [key: string]: Header } = {};
  for (const [name, values] of Object.entries(headers ?? {})) out[name] = { header: [...values] };
  return out;
}

export function requestFromPb(request: PbRequest, storage: Storage): Request {
  return {
    id: request.id,
    operation: request.operation as Operation,
    path: request.path,
    data: parseJsonObject(request.data, "request data"),
    secret: request.secret === undefined ? null : secretFromPb(request.secret),
    headers: headersFromPb(request.headers),
    displayName: request.displayName,
    mountPoint: request.mountPoint,
    mountType: request.mountType,
    mountAccessor: request.mountAccessor,
    entityId: request.entityId,
    clientTokenAccessor: request.clientTokenAccessor,
    storage,
  };
}

/** null stays null: an empty-but-present Response would reach the client as a failure. */
export function responseToPb(response: Response | null): PbResponse | undefined {
  if (response === null) return undefined;
  return {
    secret: response.secret === undefined ? undefined : secretToPb(response.secret),
    data: JSON.stringify(response.data ?? null),
    redirect: response.redirect ?? "",
    warnings: [...(response.warnings ?? [])],
    headers: headersToPb(response.headers),
    mountType: "",
  };
}

export function specialPathsToPb(paths: SpecialPaths): Paths {
  return {
    root: [...paths.root],
    unauthenticated: [...paths.unauthenticated],
    localStorage: [...paths.localStorage],
    sealWrapStorage: [...paths.sealWrapStorage],
    writeForwardedStorage: [],
    binary: [],
    limited: [],
    allowSnapshotRead: [],
  };
}

/** Vault's logical error types (sdk/plugin/pb translation), which decide the HTTP status. */
export const ProtoErrorType = {
  Unknown: 0,
  UserError: 1,
  InternalError: 2,
  CodedError: 3,
  StatusBadRequest: 4,
  UnsupportedOperation: 5,
  UnsupportedPath: 6,
  InvalidRequest: 7,
  PermissionDenied: 8,
} as const;

const ERROR_TYPE_BY_CODE: Partial<Record<ErrorCode, number>> = {
  [ErrorCode.UserError]: ProtoErrorType.UserError,
  [ErrorCode.Coded]: ProtoErrorType.CodedError,
  [ErrorCode.BadRequest]: ProtoErrorType.StatusBadRequest,
  [ErrorCode.UnsupportedOperation]: ProtoErrorType.UnsupportedOperation,
  [ErrorCode.UnsupportedPath]: ProtoErrorType.UnsupportedPath,
  [ErrorCode.InvalidRequest]: ProtoErrorType.InvalidRequest,
  [ErrorCode.PermissionDenied]: ProtoErrorType.PermissionDenied,
};

export function errorToPb(error: unknown): ProtoError {
  const pluginError = toPluginError(error);
  const errType = ERROR_TYPE_BY_CODE[pluginError.code] ?? ProtoErrorType.Unknown;
  return {
    errType,
    errMsg: pluginError.message,
    errCode: errType === ProtoErrorType.CodedError ? BigInt(pluginError.httpStatus ?? 500) : 0n,
  };
}
