// Test doubles for backends built on the framework: in-memory storage, a
// configurable system view, and request/backend set-up helpers. Used by the
// framework's tests and by engines' tests (the analogue of the Go SDK's
// logical.InmemStorage, logical.TestSystemView and logical.TestBackendConfig).
import { randomUUID } from "node:crypto";
import { ErrorCode, PluginError } from "../shared/errors.ts";
import { memoryLogger, type Logger } from "../shared/log.ts";
import {
  type BackendConfig,
  type LogicalBackend,
  NANOS_PER_SECOND,
  type PluginEnvironment,
  type Request,
  type Storage,
  type StorageEntry,
  type SystemView,
} from "./logical.ts";

/** Storage in a Map. Values are copied in and out, as a real store would. */
export class InMemoryStorage implements Storage {
  private readonly entries = new Map<string, StorageEntry>();
  private readOnly = false;

  /** Makes writes fail as Vault's storage does during Setup. */
  setReadOnly(readOnly: boolean): void {
    this.readOnly = readOnly;
  }

  async list(prefix: string): Promise<string[]> {
    const children = new Set<string>();
    for (const key of this.entries.keys()) {
      if (!key.startsWith(prefix)) continue;
      const rest = key.slice(prefix.length);
      const slash = rest.indexOf("/");
      children.add(slash < 0 ? rest : rest.slice(0, slash + 1));
    }
    return [...children].sort();
  }

  async get(key: string): Promise<StorageEntry | null> {
    const entry = this.entries.get(key);
    return entry === undefined ? null : copyEntry(entry);
  }

  async put(entry: StorageEntry): Promise<void> {
    if (this.readOnly) throw new PluginError(ErrorCode.Storage, "cannot write to storage during setup");
    this.entries.set(entry.key, copyEntry(entry));
  }

  async delete(key: string): Promise<void> {
    if (this.readOnly) throw new PluginError(ErrorCode.Storage, "cannot write to storage during setup");
    this.entries.delete(key);
  }

  /** Every stored key, sorted (for assertions). */
  keys(): string[] {
    return [...this.entries.keys()].sort();
  }
}

function copyEntry(entry: StorageEntry): StorageEntry {
  const copy: StorageEntry = { key: entry.key, value: new Uint8Array(entry.value) };
  if (entry.sealWrap !== undefined) copy.sealWrap = entry.sealWrap;
  return copy;
}

export interface FakeSystemViewOptions {
  /** Mount default lease TTL in seconds (Vault's default: 32 days). */
  defaultLeaseTtlSeconds?: number;
  /** Mount max lease TTL in seconds (Vault's default: 32 days). */
  maxLeaseTtlSeconds?: number;
  vaultVersion?: string;
  /** Makes pluginEnv() fail, as it does when the broker connection is gone. */
  pluginEnvError?: Error;
  tainted?: boolean;
  localMount?: boolean;
  replicationState?: number;
  mlockEnabled?: boolean;
}

const THIRTY_TWO_DAYS = 32 * 24 * 3600;

/** A SystemView with fixed answers; fields may be changed between calls. */
export class FakeSystemView implements SystemView {
  defaultLeaseTtlSeconds: number;
  maxLeaseTtlSeconds: number;
  vaultVersion: string;
  pluginEnvError: Error | undefined;
  isTainted: boolean;
  isLocalMount: boolean;
  replication: number;
  mlock: boolean;

  constructor(options: FakeSystemViewOptions = {}) {
    this.defaultLeaseTtlSeconds = options.defaultLeaseTtlSeconds ?? THIRTY_TWO_DAYS;
    this.maxLeaseTtlSeconds = options.maxLeaseTtlSeconds ?? THIRTY_TWO_DAYS;
    this.vaultVersion = options.vaultVersion ?? "1.21.0";
    this.pluginEnvError = options.pluginEnvError;
    this.isTainted = options.tainted ?? false;
    this.isLocalMount = options.localMount ?? false;
    this.replication = options.replicationState ?? 0;
    this.mlock = options.mlockEnabled ?? false;
  }

  async defaultLeaseTtl(): Promise<bigint> {
    return BigInt(this.defaultLeaseTtlSeconds) * NANOS_PER_SECOND;
  }

  async maxLeaseTtl(): Promise<bigint> {
    return BigInt(this.maxLeaseTtlSeconds) * NANOS_PER_SECOND;
  }

  async tainted(): Promise<boolean> {
    return this.isTainted;
  }

  async localMount(): Promise<boolean> {
    return this.isLocalMount;
  }

  async replicationState(): Promise<number> {
    return this.replication;
  }

  async mlockEnabled(): Promise<boolean> {
    return this.mlock;
  }

  async pluginEnv(): Promise<PluginEnvironment> {
    if (this.pluginEnvError !== undefined) throw this.pluginEnvError;
    return { vaultVersion: this.vaultVersion, vaultVersionPrerelease: "", vaultVersionMetadata: "" };
  }
}

export interface TestBackendConfigOptions {
  storage?: Storage;
  system?: SystemView;
  logger?: Logger;
  config?: Record<string, string>;
}

/** A BackendConfig for tests; log lines are kept in `lines`. */
export function testBackendConfig(options: TestBackendConfigOptions = {}): { config: BackendConfig; lines: string[] } {
  const memory = memoryLogger("trace");
  const config: BackendConfig = {
    storage: options.storage ?? new InMemoryStorage(),
    system: options.system ?? new FakeSystemView(),
    logger: options.logger ?? memory.logger,
    config: { plugin_name: "nomad", plugin_type: "secret", plugin_version: "", ...options.config },
    backendUuid: randomUUID(),
  };
  return { config, lines: memory.lines };
}

/** A request with harmless defaults; pass what the test is about. */
export function testRequest(overrides: Partial<Request> & Pick<Request, "operation">): Request {
  return {
    id: randomUUID(),
    path: "",
    data: null,
    secret: null,
    headers: {},
    displayName: "token",
    mountPoint: "nomad/",
    mountType: "nomad",
    mountAccessor: "nomad_0000",
    entityId: "",
    clientTokenAccessor: "",
    storage: new InMemoryStorage(),
    ...overrides,
  };
}

export interface TestBackend<B extends LogicalBackend> {
  backend: B;
  storage: InMemoryStorage;
  system: FakeSystemView;
  /** Log lines the backend wrote. */
  logs: string[];
  /** Sends a request against the shared storage. */
  request(overrides: Partial<Request> & Pick<Request, "operation">): ReturnType<B["handleRequest"]>;
}

/** Runs setup and initialize as Vault does on mount, over fresh in-memory storage. */
export async function setupTestBackend<B extends LogicalBackend>(
  backend: B,
  options: FakeSystemViewOptions & { config?: Record<string, string> } = {},
): Promise<TestBackend<B>> {
  const storage = new InMemoryStorage();
  const system = new FakeSystemView(options);
  const { config, lines } = testBackendConfig({ storage, system, config: options.config ?? {} });
  storage.setReadOnly(true);
  await backend.setup(config);
  storage.setReadOnly(false);
  await backend.initialize(storage);
  return {
    backend,
    storage,
    system,
    logs: lines,
    request: (overrides) =>
      backend.handleRequest(testRequest({ storage, ...overrides })) as ReturnType<B["handleRequest"]>,
  };
}
