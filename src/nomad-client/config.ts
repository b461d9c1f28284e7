// Client settings, their defaults, and the environment fallback Vault's builtin
// engine inherits from Nomad's `api.DefaultConfig()` (reference nomad.md §1.7).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { ErrorCode, PluginError } from "../shared/errors.ts";
import type { Logger } from "../shared/log.ts";

export const DEFAULT_NOMAD_ADDRESS = "http://127.0.0.1:4646";
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/** Same cap as the builtin engine (VAULT-20923); Nomad's per-IP default is 100. */
export const DEFAULT_MAX_CONNECTIONS = 10;

export interface NomadRetryPolicy {
  /** Tries per call, the first one included; 1 turns retries off. */
  maxAttempts: number;
  /** Backoff before the first retry; doubles for each further retry. */
  baseDelayMs: number;
  /** Ceiling for one backoff, also for a server's Retry-After. */
  maxDelayMs: number;
  /** Injectable so tests do not really wait. */
  sleep: (ms: number) => Promise<void>;
  /** Jitter source in [0, 1); injectable for deterministic tests. */
  random: () => number;
}

// Five attempts back off 1.5-3 s in all (200 ms doubling, half jittered): long
// enough to ride out a Nomad leader election, which took 2.3 s in the cluster suite.
export const DEFAULT_RETRY_POLICY: Readonly<NomadRetryPolicy> = Object.freeze({
  maxAttempts: 5,
  baseDelayMs: 200,
  maxDelayMs: 5_000,
  sleep: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
  random: Math.random,
});

/** One finished client call (all its attempts), for metrics. Carries no IDs or secrets. */
export interface NomadCallRecord {
  method: string;
  /** Path with placeholders, e.g. "/v1/acl/token/:accessor". */
  route: string;
  /** Last HTTP status received; undefined when Nomad never answered. */
  status: number | undefined;
  attempts: number;
  durationMs: number;
  /** True when the call threw; an answer the method expects (a 400 for an already-deleted token) is not a failure. */
  failed: boolean;
}

export interface NomadClientConfig {
  /** http(s) URL of a Nomad agent; defaults to http://127.0.0.1:4646. */
  address?: string;
  /** Management token sent as X-Nomad-Token. */
  token?: string;
  /** Sent as `?region=` on every call when set. */
  region?: string;
  /** PEM CA bundle used to verify Nomad's certificate (replaces the system roots). */
  caCert?: string;
  /** PEM client certificate for mutual TLS; needs clientKey. */
  clientCert?: string;
  /** PEM private key for clientCert. */
  clientKey?: string;
  /** Name to verify Nomad's certificate against instead of the address host. */
  tlsServerName?: string;
  /** Accept any server certificate (NOMAD_SKIP_VERIFY); for development only. */
  tlsSkipVerify?: boolean;
  /** `user:password` for HTTP basic auth in front of Nomad (NOMAD_HTTP_AUTH). */
  httpAuth?: string;
  /** Deadline for one attempt, connection wait and body included. */
  requestTimeoutMs?: number;
  /** Most sockets open to Nomad at once; further calls queue. */
  maxConnections?: number;
  retry?: Partial<NomadRetryPolicy>;
  logger?: Logger;
  /** Called once per finished call; must not throw (a throw is logged and ignored). */
  onCall?: (call: NomadCallRecord) => void;
}

export interface ResolvedNomadClientConfig {
  address: string;
  token: string;
  region: string | undefined;
  caCert: string | undefined;
  clientCert: string | undefined;
  clientKey: string | undefined;
  tlsServerName: string | undefined;
  tlsSkipVerify: boolean;
  httpAuth: string | undefined;
  requestTimeoutMs: number;
  maxConnections: number;
  retry: NomadRetryPolicy;
  logger: Logger | undefined;
  onCall: ((call: NomadCallRecord) => void) | undefined;
}

export function resolveNomadClientConfig(config: NomadClientConfig): ResolvedNomadClientConfig {
  const retry: NomadRetryPolicy = { ...DEFAULT_RETRY_POLICY, ...definedOnly(config.retry ?? {}) };
  requirePositiveInteger("retry.maxAttempts", retry.maxAttempts);
  requireNonNegative("retry.baseDelayMs", retry.baseDelayMs);
  requireNonNegative("retry.maxDelayMs", retry.maxDelayMs);
  const requestTimeoutMs = config.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  requirePositiveInteger("requestTimeoutMs", requestTimeoutMs);
  const maxConnections = config.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  requirePositiveInteger("maxConnections", maxConnections);
  return {
    address: nonEmpty(config.address) ?? DEFAULT_NOMAD_ADDRESS,
    token: config.token ?? "",
    region: nonEmpty(config.region),
    caCert: nonEmpty(config.caCert),
    clientCert: nonEmpty(config.clientCert),
    clientKey: nonEmpty(config.clientKey),
    tlsServerName: nonEmpty(config.tlsServerName),
    tlsSkipVerify: config.tlsSkipVerify ?? false,
    httpAuth: nonEmpty(config.httpAuth),
    requestTimeoutMs,
    maxConnections,
    retry,
    logger: config.logger,
    onCall: config.onCall,
  };
}

export type EnvSource = Readonly<Record<string, string | undefined>>;

export interface EnvFileReader {
  readFile(path: string): string;
  /** Regular files under a directory, recursively (NOMAD_CAPATH). */
  listFiles(directory: string): string[];
}

const nodeFileReader: EnvFileReader = {
  readFile: (path) => readFileSync(path, "utf8"),
  listFiles: (directory) => listFilesRecursively(directory),
};

/**
 * The settings Nomad's Go `api.DefaultConfig()` takes from the environment.
 * Certificate variables are file paths there, so the files are read here and the
 * config carries PEM text. An unreadable file is a Config error naming the variable,
 * as the Go client fails to build in that case too.
 */
export function nomadConfigFromEnv(env: EnvSource, files: EnvFileReader = nodeFileReader): NomadClientConfig {
  const config: NomadClientConfig = {};
  const address = nonEmpty(env.NOMAD_ADDR);
  if (address !== undefined) config.address = address;
  const token = nonEmpty(env.NOMAD_TOKEN);
  if (token !== undefined) config.token = token;
  const region = nonEmpty(env.NOMAD_REGION);
  if (region !== undefined) config.region = region;
  const httpAuth = nonEmpty(env.NOMAD_HTTP_AUTH);
  if (httpAuth !== undefined) config.httpAuth = httpAuth;
  const serverName = nonEmpty(env.NOMAD_TLS_SERVER_NAME);
  if (serverName !== undefined) config.tlsServerName = serverName;

  // Go's rootcerts: a CA file wins over a CA directory.
  const caFile = nonEmpty(env.NOMAD_CACERT);
  const caDirectory = nonEmpty(env.NOMAD_CAPATH);
  if (caFile !== undefined) {
    config.caCert = readEnvFile(files, "NOMAD_CACERT", caFile);
  } else if (caDirectory !== undefined) {
    config.caCert = readCaDirectory(files, caDirectory);
  }
  const clientCertFile = nonEmpty(env.NOMAD_CLIENT_CERT);
  if (clientCertFile !== undefined) config.clientCert = readEnvFile(files, "NOMAD_CLIENT_CERT", clientCertFile);
  const clientKeyFile = nonEmpty(env.NOMAD_CLIENT_KEY);
  if (clientKeyFile !== undefined) config.clientKey = readEnvFile(files, "NOMAD_CLIENT_KEY", clientKeyFile);

  const skipVerify = parseGoBool(env.NOMAD_SKIP_VERIFY);
  if (skipVerify !== undefined) config.tlsSkipVerify = skipVerify;
  return config;
}

/**
 * Layers settings: a value in `override` wins when it is set and, for strings, not
 * empty — the builtin engine's rule for stored config/access over the environment.
 */
export function mergeNomadConfig(base: NomadClientConfig, override: NomadClientConfig): NomadClientConfig {
  const merged: NomadClientConfig = { ...base };
  for (const [key, value] of Object.entries(override) as [keyof NomadClientConfig, unknown][]) {
    if (value === undefined || value === "") continue;
    (merged as Record<string, unknown>)[key] = value;
  }
  return merged;
}

/** Go's strconv.ParseBool; anything else is ignored, as DefaultConfig ignores it. */
export function parseGoBool(value: string | undefined): boolean | undefined {
  switch (value) {
    case "1":
    case "t":
    case "T":
    case "true":
    case "TRUE":
    case "True":
      return true;
    case "0":
    case "f":
    case "F":
    case "false":
    case "FALSE":
    case "False":
      return false;
    default:
      return undefined;
  }
}

function readEnvFile(files: EnvFileReader, variable: string, path: string): string {
  try {
    return files.readFile(path);
  } catch (error) {
    throw new PluginError(ErrorCode.Config, `${variable}: could not read ${JSON.stringify(path)}: ${describe(error)}`, {
      cause: error,
    });
  }
}

function readCaDirectory(files: EnvFileReader, directory: string): string {
  let paths: string[];
  try {
    paths = files.listFiles(directory);
  } catch (error) {
    throw new PluginError(ErrorCode.Config, `NOMAD_CAPATH: could not list ${JSON.stringify(directory)}: ${describe(error)}`, {
      cause: error,
    });
  }
  const bundle = paths
    .sort()
    .map((path) => readEnvFile(files, "NOMAD_CAPATH", path))
    .filter((text) => text.includes("-----BEGIN CERTIFICATE-----"));
  if (bundle.length === 0) {
    throw new PluginError(ErrorCode.Config, `NOMAD_CAPATH: no PEM certificates found in ${JSON.stringify(directory)}`);
  }
  return bundle.join("\n");
}

function listFilesRecursively(directory: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(directory)) {
    const path = join(directory, entry);
    const stat = statSync(path);
    if (stat.isDirectory()) found.push(...listFilesRecursively(path));
    else if (stat.isFile()) found.push(path);
  }
  return found;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, inner]) => inner !== undefined)) as Partial<T>;
}

function requirePositiveInteger(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new PluginError(ErrorCode.Config, `Nomad client ${name} must be a positive integer, got ${value}`);
  }
}

function requireNonNegative(name: string, value: number): void {
  if (!Number.isFinite(value) || value < 0) {
    throw new PluginError(ErrorCode.Config, `Nomad client ${name} must be zero or more, got ${value}`);
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
