// The contract between the Vault transport (src/vault) and a backend: the
// TypeScript analogue of Vault's sdk/logical. Nothing here knows about gRPC.
// Lease durations are bigint nanoseconds (Go time.Duration) so that nothing is
// lost between the wire and the backend; the framework converts to seconds.
import type { Logger } from "../shared/log.ts";

export type Operation =
  | "create"
  | "read"
  | "update"
  | "patch"
  | "delete"
  | "list"
  | "help"
  | "alias-lookahead"
  | "resolve-role"
  | "header"
  | "revoke"
  | "renew"
  | "rollback"
  | "scan";

export const NANOS_PER_SECOND = 1_000_000_000n;

export interface StorageEntry {
  key: string;
  value: Uint8Array;
  sealWrap?: boolean;
}

/** The mount's storage view, reached through the broker. Keys are relative to the mount. */
export interface Storage {
  list(prefix: string): Promise<string[]>;
  get(key: string): Promise<StorageEntry | null>;
  put(entry: StorageEntry): Promise<void>;
  delete(key: string): Promise<void>;
}

export interface PluginEnvironment {
  vaultVersion: string;
  vaultVersionPrerelease: string;
  vaultVersionMetadata: string;
}

/** What the host tells a backend about the mount and the server. */
export interface SystemView {
  /** Mount default lease TTL, nanoseconds. */
  defaultLeaseTtl(): Promise<bigint>;
  /** Mount max lease TTL, nanoseconds. */
  maxLeaseTtl(): Promise<bigint>;
  tainted(): Promise<boolean>;
  localMount(): Promise<boolean>;
  replicationState(): Promise<number>;
  mlockEnabled(): Promise<boolean>;
  pluginEnv(): Promise<PluginEnvironment>;
}

/** The name of one SystemView call. */
export type SystemCall = keyof SystemView;

export interface LeaseOptions {
  /** nanoseconds; 0 = let Vault apply the mount default. */
  ttl: bigint;
  /** nanoseconds; 0 = the mount max applies. */
  maxTtl: bigint;
  renewable: boolean;
  /** Requested renew increment, nanoseconds (renew only). */
  increment: bigint;
  /** When the lease was issued; Vault always needs one on the wire. */
  issueTime: Date | null;
}

export interface Secret {
  leaseOptions: LeaseOptions;
  /** Never shown to the client; the framework keeps `secret_type` here. */
  internalData: Record<string, unknown>;
  leaseId: string;
}

export interface Request {
  id: string;
  operation: Operation;
  /** Path below the mount, "" for the mount root. */
  path: string;
  /** The request body or query (JSON); null when Vault sent none. */
  data: Record<string, unknown> | null;
  /** Set on renew and revoke. */
  secret: Secret | null;
  headers: Record<string, string[]>;
  displayName: string;
  mountPoint: string;
  mountType: string;
  mountAccessor: string;
  entityId: string;
  clientTokenAccessor: string;
  /** The mount's storage for this request. */
  storage: Storage;
  /** Aborted when the host gives up on the request (client gone, deadline, plugin stopping). */
  signal?: AbortSignal;
  /** When the host stops waiting for the answer (epoch ms), if it set a deadline. */
  deadline?: number;
}

export interface Response {
  secret?: Secret;
  /** JSON object returned to the client under `data`; `null`/absent = no data. */
  data?: Record<string, unknown> | null;
  warnings?: string[];
  redirect?: string;
  headers?: Record<string, string[]>;
}

export interface SpecialPaths {
  root: string[];
  unauthenticated: string[];
  localStorage: string[];
  sealWrapStorage: string[];
}

export const BackendType = { Unknown: 0, Logical: 1, Credential: 2 } as const;
export type BackendType = (typeof BackendType)[keyof typeof BackendType];

export interface ExistenceCheckResult {
  /** The path has an existence check. */
  checkFound: boolean;
  exists: boolean;
}

export interface BackendConfig {
  storage: Storage;
  system: SystemView;
  logger: Logger;
  /** Mount options plus plugin_name, plugin_type, plugin_version. */
  config: Record<string, string>;
  backendUuid: string;
}

/**
 * A backend instance for one mount. Errors are thrown as PluginError; the
 * transport maps their codes onto Vault's error types.
 */
export interface LogicalBackend {
  /** Storage is read-only during setup. */
  setup(config: BackendConfig): Promise<void>;
  initialize(storage: Storage): Promise<void>;
  handleRequest(request: Request): Promise<Response | null>;
  handleExistenceCheck(request: Request): Promise<ExistenceCheckResult>;
  specialPaths(): SpecialPaths;
  type(): BackendType;
  invalidateKey(key: string): Promise<void>;
  cleanup(): Promise<void>;
}

export type BackendFactory = () => LogicalBackend;
