// FrameworkBackend: a LogicalBackend assembled from declared paths and
// secrets, doing what the Go SDK's framework.Backend does: routing, field
// validation, warnings, help and OpenAPI, and lease dispatch.
import { ErrorCode, PluginError, toPluginError } from "../shared/errors.ts";
import type { Logger } from "../shared/log.ts";
import { processMetrics } from "../shared/metrics.ts";
import { FieldData, fieldSchemaOf } from "./field-data.ts";
import { goStringList } from "./go-format.ts";
import { pathHelpText, rootHelpText } from "./help.ts";
import {
  type BackendConfig,
  BackendType,
  type ExistenceCheckResult,
  type LogicalBackend,
  type Request,
  type Response,
  type SpecialPaths,
  type Storage,
  type SystemView,
} from "./logical.ts";
import { refuseOnWrongNode } from "./replication.ts";
import { documentPaths, type OpenApiInfo } from "./openapi.ts";
import type { HandlerEnv, Path } from "./path.ts";
import { errorResponse, helpResponse, normalizeResponse, withWarnings } from "./response.ts";
import { SECRET_TYPE_KEY, type Secret } from "./secret.ts";
import { type RequestSystemView, SharedSystemCalls } from "./shared-system-view.ts";
import { StorageReadCache, type StorageCacheOptions } from "./storage-cache.ts";

export interface BackendHooks {
  /** After the framework stored the config. Storage is read-only here. */
  setup?(config: BackendConfig): Promise<void>;
  /** Once the mount is ready; storage is writable. */
  initialize?(storage: Storage, env: HandlerEnv): Promise<void>;
  /** A storage key changed under the mount (replication); drop caches of it. */
  invalidate?(key: string): Promise<void>;
  /** The backend is being unloaded (unmount, seal, reload). */
  clean?(): Promise<void>;
  /** Runs on Vault's periodic `rollback` request (every minute). */
  periodic?(request: Request, env: HandlerEnv): Promise<void>;
}

/** A backend: its paths and secrets plus the lifecycle hooks (all optional). */
export interface BackendDefinition extends BackendHooks {
  /** Backend description shown by root help. */
  help: string;
  /** Matched in order; the first match wins. */
  paths: readonly Path[];
  secrets?: readonly Secret[];
  /** Defaults to Logical (a secrets engine). */
  backendType?: BackendType;
  specialPaths?: Partial<SpecialPaths>;
  /** OpenAPI operationPrefix for paths whose displayAttrs set none (e.g. `nomad`). */
  operationPrefix?: string;
  /** OpenAPI title/description; Vault's by default. */
  openApiInfo?: OpenApiInfo;
  /** Storage keys read through a cache kept right by writes, InvalidateKey and Cleanup (see storage-cache.ts). */
  storageCache?: StorageCacheOptions;
}

const EMPTY_SPECIAL_PATHS: SpecialPaths = { root: [], unauthenticated: [], localStorage: [], sealWrapStorage: [] };

export class FrameworkBackend implements LogicalBackend {
  readonly paths: readonly Path[];
  private readonly secretsByType: ReadonlyMap<string, Secret>;
  private readonly special: SpecialPaths;
  private readonly definition: BackendDefinition;
  private env: HandlerEnv | undefined;
  private sharedSystem: SharedSystemCalls | undefined;
  private readonly cache: StorageReadCache | undefined;
  /** One cached view per host storage (one per backend instance), not one per request. */
  private readonly cachedViews = new WeakMap<Storage, Storage>();
  /** Requests being handled now; calls are sent ahead only for a request that runs alone. */
  private requestsRunning = 0;

  constructor(definition: BackendDefinition) {
    this.definition = definition;
    this.cache = definition.storageCache === undefined ? undefined : new StorageReadCache(definition.storageCache);
    this.paths = [...definition.paths];
    const secrets = new Map<string, Secret>();
    for (const secret of definition.secrets ?? []) {
      if (secrets.has(secret.type)) {
        throw new PluginError(ErrorCode.Config, `secret type ${secret.type} is declared twice`);
      }
      secrets.set(secret.type, secret);
    }
    this.secretsByType = secrets;
    this.special = { ...EMPTY_SPECIAL_PATHS, ...definition.specialPaths };
  }

  /** The system view; available once `setup` ran. */
  get system(): SystemView {
    return this.requireEnv().system;
  }

  get logger(): Logger {
    return this.requireEnv().logger;
  }

  get backendConfig(): BackendConfig {
    return this.requireEnv().backendConfig;
  }

  async setup(config: BackendConfig): Promise<void> {
    this.env = { system: config.system, logger: config.logger, backendConfig: config };
    this.sharedSystem = new SharedSystemCalls(config.system);
    await this.definition.setup?.(config);
  }

  async initialize(storage: Storage): Promise<void> {
    await this.definition.initialize?.(this.storageView(storage), this.requireEnv());
  }

  specialPaths(): SpecialPaths {
    return {
      root: [...this.special.root],
      unauthenticated: [...this.special.unauthenticated],
      localStorage: [...this.special.localStorage],
      sealWrapStorage: [...this.special.sealWrapStorage],
    };
  }

  type(): BackendType {
    return this.definition.backendType ?? BackendType.Logical;
  }

  async invalidateKey(key: string): Promise<void> {
    // First, so that a hook rebuilding from storage reads the new value.
    this.cache?.forget(key);
    await this.definition.invalidate?.(key);
  }

  async cleanup(): Promise<void> {
    this.cache?.clear();
    await this.definition.clean?.();
  }

  /** The secret type registered under `type`. */
  secret(type: string): Secret | undefined {
    return this.secretsByType.get(type);
  }

  /** The first path matching `requestPath`, with its captures. */
  route(requestPath: string): { path: Path; captures: Record<string, string> } | undefined {
    for (const path of this.paths) {
      const captures = path.match(requestPath);
      if (captures !== undefined) return { path, captures };
    }
    return undefined;
  }

  async handleRequest(request: Request): Promise<Response | null> {
    try {
      this.requestsRunning++;
      const system = this.sharedSystem?.viewForRequest();
      return await this.dispatch(this.withCachedStorage(request), this.requestEnv(system), system);
    } catch (error) {
      throw toPluginError(error);
    } finally {
      this.requestsRunning--;
    }
  }

  async handleExistenceCheck(request: Request): Promise<ExistenceCheckResult> {
    try {
      if (request.operation !== "create" && request.operation !== "update") {
        throw new PluginError(
          ErrorCode.Internal,
          `incorrect operation type ${request.operation} for an existence check`,
        );
      }
      const routed = this.route(request.path);
      if (routed === undefined) throw new PluginError(ErrorCode.UnsupportedPath, "unsupported path");
      const check = routed.path.existenceCheck;
      if (check === undefined) return { checkFound: false, exists: false };
      const data = new FieldData({ ...request.data, ...routed.captures }, routed.path.fields);
      const invalid = data.validate();
      if (invalid !== undefined) throw new PluginError(ErrorCode.UserError, invalid);
      const exists = await check(this.withCachedStorage(request), data, this.requestEnv(this.sharedSystem?.viewForRequest()));
      return { checkFound: true, exists };
    } catch (error) {
      throw toPluginError(error);
    }
  }

  private async dispatch(request: Request, env: HandlerEnv, system: RequestSystemView | undefined): Promise<Response | null> {
    switch (request.operation) {
      case "renew":
      case "revoke":
        return this.handleLease(request.operation, request, env);
      case "rollback":
        await this.definition.periodic?.(request, env);
        return null;
      default:
        break;
    }
    if (request.path === "" && request.operation === "help") return this.rootHelp(request);

    const routed = this.route(request.path);
    if (routed === undefined) throw new PluginError(ErrorCode.UnsupportedPath, "unsupported path");
    const { path, captures } = routed;

    const body = request.data ?? {};
    const ignored = path.takesArbitraryInput
      ? []
      : Object.keys(body).filter((key) => fieldSchemaOf(path.fields, key) === undefined);
    const replaced = Object.keys(captures).filter(
      (key) => Object.hasOwn(body, key) && body[key] !== null && body[key] !== undefined,
    );
    const data = new FieldData({ ...body, ...captures }, path.fields);

    let response: Response | null;
    if (request.operation === "help") {
      response = await this.pathHelp(path, request);
    } else {
      const spec = path.handlerFor(request.operation);
      if (spec === undefined) throw new PluginError(ErrorCode.UnsupportedOperation, "unsupported operation");
      // Under load the calls overlap and the request shares one sent for another;
      // sending ahead then adds calls, and CPU is what limits there.
      if (spec.systemCallsAhead !== undefined && this.requestsRunning === 1) system?.sendAhead(spec.systemCallsAhead);
      // Before validation, as in the Go SDK: the active node answers bad input too.
      await refuseOnWrongNode(spec, env.system, env.logger);
      const invalid = data.validate();
      if (invalid !== undefined) return errorResponse(`Field validation failed: ${invalid}`);
      response = await spec.handler(request, data, env);
      if (response?.secret !== undefined && request.signal?.aborted === true) {
        return this.revokeUndelivered(request, response.secret, response.data ?? null, env);
      }
    }

    if (response !== null && response !== undefined) {
      const warnings: string[] = [];
      if (ignored.length > 0) {
        warnings.push(`Endpoint ignored these unrecognized parameters: ${goStringList(ignored.sort())}`);
      }
      if (replaced.length > 0) {
        warnings.push(
          `Endpoint replaced the value of these parameters with the values captured from the endpoint's path: ${goStringList(replaced.sort())}`,
        );
      }
      response = withWarnings(response, warnings);
    }
    return normalizeResponse(response);
  }

  /**
   * The host stopped waiting (client gone, deadline) while the handler made a
   * secret: no lease will ever track it, so it is revoked here, as the host
   * revokes a secret whose lease it fails to store.
   */
  private async revokeUndelivered(
    request: Request,
    secret: NonNullable<Response["secret"]>,
    data: Record<string, unknown> | null,
    env: HandlerEnv,
  ): Promise<never> {
    const { signal: _cancelled, deadline: _deadline, ...unbounded } = request;
    let revoked = false;
    try {
      await this.handleLease("revoke", { ...unbounded, operation: "revoke", secret, data }, env);
      revoked = true;
    } catch (error) {
      env.logger.warn("could not revoke a secret the host stopped waiting for; only its own expiry ends it", {
        path: request.path,
        error: error instanceof Error ? error.message : String(error),
      });
    }
    processMetrics.recordOrphan(revoked);
    throw new PluginError(
      ErrorCode.Internal,
      `the request was cancelled before its secret could be delivered; the secret was ${revoked ? "revoked" : "left to expire"}`,
    );
  }

  private async handleLease(operation: "renew" | "revoke", request: Request, env: HandlerEnv): Promise<Response | null> {
    // Plain (internal) errors, as the Go SDK returns them: Vault answers 500.
    const secret = request.secret;
    if (secret === null) throw new PluginError(ErrorCode.Internal, "request has no secret");
    const type = secret.internalData[SECRET_TYPE_KEY];
    const definition = typeof type === "string" ? this.secretsByType.get(type) : undefined;
    if (definition === undefined) throw new PluginError(ErrorCode.Internal, "secret is unsupported by this backend");
    return normalizeResponse(await definition.handle(operation, request, env));
  }

  private async vaultVersion(): Promise<string> {
    // Help must never fail: `sys/internal/specs/openapi` fails as a whole if one mount errors.
    if (this.env === undefined) return "";
    try {
      return (await this.env.system.pluginEnv()).vaultVersion;
    } catch (error) {
      this.env.logger.warn("could not read the Vault version for OpenAPI", {
        error: error instanceof Error ? error.message : String(error),
      });
      return "";
    }
  }

  private async openApi(paths: readonly Path[], request: Request): Promise<Record<string, unknown>> {
    const prefix = request.data?.requestResponsePrefix;
    const document = documentPaths(paths, {
      specialPaths: this.special,
      backendType: this.type(),
      requestResponsePrefix: typeof prefix === "string" ? prefix : "",
      operationPrefix: this.definition.operationPrefix,
      vaultVersion: await this.vaultVersion(),
      info: this.definition.openApiInfo,
      logger: this.env?.logger,
    });
    // The document is plain JSON; its interface type only lacks an index signature.
    return document as unknown as Record<string, unknown>;
  }

  private async rootHelp(request: Request): Promise<Response> {
    const text = rootHelpText(this.definition.help, this.paths);
    return helpResponse(text, await this.openApi(this.paths, request));
  }

  private async pathHelp(path: Path, request: Request): Promise<Response> {
    return helpResponse(pathHelpText(path, request.path), await this.openApi([path], request));
  }

  private withCachedStorage(request: Request): Request {
    return this.cache === undefined ? request : { ...request, storage: this.storageView(request.storage) };
  }

  private storageView(storage: Storage): Storage {
    if (this.cache === undefined) return storage;
    let view = this.cachedViews.get(storage);
    if (view === undefined) {
      view = this.cache.over(storage);
      this.cachedViews.set(storage, view);
    }
    return view;
  }

  /** The set-up env, with a system view whose answers are never older than this request. */
  private requestEnv(system: RequestSystemView | undefined): HandlerEnv {
    const env = this.requireEnv();
    return system === undefined ? env : { ...env, system };
  }

  private requireEnv(): HandlerEnv {
    if (this.env === undefined) throw new PluginError(ErrorCode.Internal, "backend is not set up");
    return this.env;
  }
}
