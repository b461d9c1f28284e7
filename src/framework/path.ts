// Declarative paths: one pattern, its fields, and a handler per operation.
import type { Logger } from "../shared/log.ts";
import { ErrorCode, PluginError } from "../shared/errors.ts";
import { type DisplayAttributes, type FieldData, type FieldMap, resolveDefault } from "./field-data.ts";
import type { BackendConfig, Operation, Request, Response, SystemCall, SystemView } from "./logical.ts";

/** What every handler can reach besides the request (whose `storage` is the mount's storage). */
export interface HandlerEnv {
  system: SystemView;
  logger: Logger;
  /** The mount's configuration as given to `setup`. */
  backendConfig: BackendConfig;
}

export type OperationHandler<F extends FieldMap = FieldMap> = (
  request: Request,
  data: FieldData<F>,
  env: HandlerEnv,
) => Promise<Response | null>;

export type ExistenceCheck<F extends FieldMap = FieldMap> = (
  request: Request,
  data: FieldData<F>,
  env: HandlerEnv,
) => Promise<boolean>;

/** The operations a path can handle itself; `help` is always answered by the framework. */
export const PATH_OPERATIONS = ["read", "create", "update", "patch", "delete", "list"] as const;
export type PathOperation = (typeof PATH_OPERATIONS)[number];

/** A response documented in OpenAPI. */
export interface ResponseDoc {
  description: string;
  /** Fields of the response `data`, rendered as a `<OperationId>Response` schema. */
  fields?: FieldMap;
}

/** A handler plus its documentation. */
export interface OperationSpec<F extends FieldMap = FieldMap> {
  handler: OperationHandler<F>;
  /** OpenAPI summary; defaults to the path's help synopsis. */
  summary?: string;
  description?: string;
  deprecated?: boolean;
  /** Leave the operation out of OpenAPI. */
  unpublished?: boolean;
  /** Overrides the path's operationPrefix/Verb/Suffix for this operation. */
  displayAttrs?: DisplayAttributes;
  /** Keyed by HTTP status; by default 200 "OK" (204 "empty body" for delete). */
  responses?: Readonly<Record<number, ResponseDoc>>;
  /**
   * Must run on the active node: on a performance standby (OpenBao 2.5+ serves
   * reads on standbys) the framework answers logical.ErrReadOnly before the
   * handler runs, and the host forwards the request. Set it on every operation
   * that writes storage, creates a lease or has a side effect elsewhere.
   */
  forwardPerformanceStandby?: boolean;
  /** As forwardPerformanceStandby, for a performance secondary cluster (mounts that are not local). */
  forwardPerformanceSecondary?: boolean;
  /**
   * SystemView calls the handler makes on every run, whatever it reads first.
   * For a request that runs alone, the framework sends them while it checks
   * the replication state, so it waits for one round trip to the host instead
   * of two (under load, requests share calls instead). Only calls without side
   * effects: the answer is dropped if the handler never runs.
   */
  systemCallsAhead?: readonly SystemCall[];
}

export interface PathDefinition<F extends FieldMap> {
  /**
   * A JavaScript regular expression source with named groups, matched against
   * the request path below the mount. `^` and `$` are added when missing.
   * List paths must accept a trailing slash (`roles/?`).
   */
  pattern: string;
  fields?: F;
  operations: Partial<Record<PathOperation, OperationHandler<F> | OperationSpec<F>>>;
  /**
   * Says whether the addressed resource exists, so that Vault can ask for
   * `create` rather than `update` capability. Required when `create` is handled.
   */
  existenceCheck?: ExistenceCheck<F>;
  helpSynopsis?: string;
  helpDescription?: string;
  displayAttrs?: DisplayAttributes;
  /** Unknown parameters are expected: no "ignored parameters" warning. */
  takesArbitraryInput?: boolean;
  deprecated?: boolean;
}

/** A defined path, ready for routing. Create with `definePath`. */
export class Path {
  /** The pattern with `^…$` anchors, as shown in help. */
  readonly anchoredPattern: string;
  readonly fields: FieldMap;
  readonly operations: ReadonlyMap<PathOperation, OperationSpec>;
  readonly existenceCheck: ExistenceCheck | undefined;
  readonly helpSynopsis: string;
  readonly helpDescription: string;
  readonly displayAttrs: DisplayAttributes | undefined;
  readonly takesArbitraryInput: boolean;
  readonly deprecated: boolean;
  private readonly regex: RegExp;

  /** @internal Use definePath, which keeps the field types of the handlers. */
  constructor(definition: PathDefinition<FieldMap>) {
    if (definition.pattern === "") throw new PluginError(ErrorCode.Config, "routing pattern cannot be blank");
    let anchored = definition.pattern;
    if (!anchored.startsWith("^")) anchored = `^${anchored}`;
    if (!anchored.endsWith("$")) anchored = `${anchored}$`;
    try {
      this.regex = new RegExp(anchored, "u");
    } catch (error) {
      throw new PluginError(ErrorCode.Config, `invalid pattern ${anchored}`, { cause: error });
    }
    this.anchoredPattern = anchored;
    this.fields = definition.fields ?? {};
    const operations = new Map<PathOperation, OperationSpec>();
    for (const operation of PATH_OPERATIONS) {
      const entry = definition.operations[operation];
      if (entry === undefined) continue;
      operations.set(operation, typeof entry === "function" ? { handler: entry } : entry);
    }
    if (operations.has("create") && definition.existenceCheck === undefined) {
      // Without an existence check Vault never sends `create`; the Go SDK panics here too.
      throw new PluginError(ErrorCode.Config, `pattern ${anchored} defines a create operation but no existenceCheck`);
    }
    for (const [name, schema] of Object.entries(this.fields)) resolveDefault(name, schema);
    this.operations = operations;
    this.existenceCheck = definition.existenceCheck;
    this.helpSynopsis = definition.helpSynopsis ?? "";
    this.helpDescription = definition.helpDescription ?? "";
    this.displayAttrs = definition.displayAttrs;
    this.takesArbitraryInput = definition.takesArbitraryInput ?? false;
    this.deprecated = definition.deprecated ?? false;
  }

  /**
   * The named captures when the path matches, else undefined. A group that
   * took no part in the match captures "" (as Go's regexp reports it).
   */
  match(requestPath: string): Record<string, string> | undefined {
    const match = this.regex.exec(requestPath);
    if (match === null) return undefined;
    const captures: Record<string, string> = {};
    for (const [name, value] of Object.entries(match.groups ?? {})) captures[name] = value ?? "";
    return captures;
  }

  handlerFor(operation: Operation): OperationSpec | undefined {
    return (PATH_OPERATIONS as readonly string[]).includes(operation)
      ? this.operations.get(operation as PathOperation)
      : undefined;
  }
}

/** Declares a path; handlers see `data.get(...)` typed by `fields`. */
export function definePath<const F extends FieldMap>(definition: PathDefinition<F>): Path {
  // Handlers typed for FieldData<F> are stored as handlers of FieldData<FieldMap>:
  // the FieldData they receive is always built from this very `fields` map, so
  // the narrower type they expect holds.
  return new Path(definition as unknown as PathDefinition<FieldMap>);
}

/** `(?<name>\w(([\w.-]+)?\w)?)`: a name of word characters, with `.` and `-` inside. */
export function genericNameRegex(name: string): string {
  return String.raw`(?<${name}>\w(([\w.-]+)?\w)?)`;
}

/** As genericNameRegex, also allowing `@` inside. */
export function genericNameWithAtRegex(name: string): string {
  return String.raw`(?<${name}>\w(([\w.@-]+)?\w)?)`;
}

/** `(/(?<name>.+))?`: an optional trailing `/value`. */
export function optionalParamRegex(name: string): string {
  return `(/(?<${name}>.+))?`;
}

/** `(?<name>.*)`: the rest of the path. */
export function matchAllRegex(name: string): string {
  return `(?<${name}>.*)`;
}
