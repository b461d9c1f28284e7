// Secrets with leases: the response that starts a lease, and the renew and
// revoke handlers Vault later calls with that lease's stored secret.
import type { Schema } from "../shared/schema.ts";
import { ErrorCode, PluginError } from "../shared/errors.ts";
import { FieldData, type FieldMap, resolveDefault } from "./field-data.ts";
import { goHumanDuration, goQuote } from "./go-format.ts";
import { NANOS_PER_SECOND, type Request, type Response, type Secret as LeaseSecret, type SystemView } from "./logical.ts";
import type { HandlerEnv } from "./path.ts";

/** The internal-data key that tells the framework which Secret a lease belongs to. */
export const SECRET_TYPE_KEY = "secret_type";

export type InternalData = Record<string, unknown>;

/** Whole seconds → Go nanoseconds (fractions are dropped). */
export function secondsToNanos(seconds: number): bigint {
  return BigInt(Math.trunc(seconds)) * NANOS_PER_SECOND;
}

/** Go nanoseconds → whole seconds (truncated toward zero). */
export function nanosToSeconds(nanos: bigint): number {
  return Number(nanos / NANOS_PER_SECOND);
}

export interface SecretEnv<I> extends HandlerEnv {
  /** The stored lease secret, as Vault sent it. */
  secret: LeaseSecret;
  /** Its internal data, checked against the secret's `internalData` schema when one is given. */
  internal: I;
  /** The renew answer for this lease (see Secret.renewResponse). */
  renewResponse(lease?: RenewLease): Response;
}

export type SecretHandler<I, F extends FieldMap = FieldMap> = (
  request: Request,
  data: FieldData<F>,
  env: SecretEnv<I>,
) => Promise<Response | null>;

export interface SecretDefinition<I extends InternalData, F extends FieldMap> {
  /** Stored in the lease's internal data as `secret_type`; unique per backend. */
  type: string;
  /** Schema for the `data` Vault sends back on renew and revoke (the response data of the lease). */
  fields?: F;
  /** Lease TTL in seconds put on new secrets; 0 lets Vault apply the mount default. */
  defaultDuration?: number;
  /**
   * Checks the internal data of renewed and revoked leases; handlers then get
   * it typed. Messages name the failing key, never its value.
   */
  internalData?: Schema<I>;
  /** Without it the lease is not renewable. */
  renew?: SecretHandler<I, F>;
  revoke?: SecretHandler<I, F>;
}

/** What renewResponse puts on the renewed lease. */
export interface RenewLease {
  /** Seconds; 0 lets Vault apply the mount default (or the requested increment). */
  ttl?: number;
  /** Seconds; 0 means the mount's max TTL. */
  maxTtl?: number;
  /**
   * Data to store with the lease from now on. Vault replaces the lease's data
   * with the renew response's; left out, the lease keeps no data (as with the
   * Go Nomad engine), which keeps issued credentials out of renew answers.
   */
  data?: Record<string, unknown>;
}

/** A secret type of a backend. Create with `defineSecret`. */
export class Secret<I extends InternalData = InternalData> {
  readonly type: string;
  readonly fields: FieldMap;
  readonly defaultDuration: number;
  // Stored without I: a handler's narrower internal-data type would otherwise
  // make Secret<{ accessor_id: string }> unusable where Secret<InternalData> is
  // expected. parseInternal restores I from the schema.
  private readonly definition: SecretDefinition<InternalData, FieldMap>;

  /** @internal Use defineSecret. */
  constructor(definition: SecretDefinition<I, FieldMap>) {
    if (definition.type === "") throw new PluginError(ErrorCode.Config, "secret type cannot be blank");
    this.type = definition.type;
    this.fields = definition.fields ?? {};
    this.defaultDuration = definition.defaultDuration ?? 0;
    for (const [name, schema] of Object.entries(this.fields)) resolveDefault(name, schema);
    this.definition = definition as unknown as SecretDefinition<InternalData, FieldMap>;
  }

  get renewable(): boolean {
    return this.definition.renew !== undefined;
  }

  /**
   * The response that issues this secret: `data` goes to the client,
   * `internal` stays with the lease (plus `secret_type`) and comes back on
   * renew and revoke.
   */
  response(data: Record<string, unknown> | null, internal: I): Response {
    return {
      data,
      secret: {
        leaseOptions: {
          ttl: secondsToNanos(this.defaultDuration),
          maxTtl: 0n,
          renewable: this.renewable,
          increment: 0n,
          issueTime: new Date(),
        },
        internalData: { ...internal, [SECRET_TYPE_KEY]: this.type },
        leaseId: "",
      },
    };
  }

  /**
   * A renew answer that echoes the stored secret (its internal data with
   * `secret_type`, its issue time) with a new TTL. Vault replaces the stored
   * secret with the returned one, so anything left out here is lost for the
   * next renew or revoke.
   */
  renewResponse(request: Request, lease: RenewLease = {}): Response {
    return renewResponse(request, lease, this.type);
  }

  /** @internal Dispatches a renew or revoke for a lease of this type. */
  async handle(operation: "renew" | "revoke", request: Request, env: HandlerEnv): Promise<Response | null> {
    const handler = operation === "renew" ? this.definition.renew : this.definition.revoke;
    if (handler === undefined) throw new PluginError(ErrorCode.UnsupportedOperation, "unsupported operation");
    const secret = request.secret;
    if (secret === null) throw new PluginError(ErrorCode.Internal, "request has no secret");
    const internal = this.parseInternal(secret.internalData);
    const data = new FieldData(request.data ?? {}, this.fields);
    return handler(request, data, {
      ...env,
      secret,
      internal,
      renewResponse: (lease) => renewResponse(request, lease, this.type),
    });
  }

  private parseInternal(internalData: InternalData): InternalData {
    const schema = this.definition.internalData;
    if (schema === undefined) return internalData;
    const parsed = schema.safeParse(internalData);
    if (parsed.success) return parsed.data;
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`);
    throw new PluginError(
      ErrorCode.Internal,
      `internal data of secret type ${goQuote(this.type)} is malformed: ${problems.join("; ")}`,
    );
  }
}

/**
 * A renew answer that echoes the stored secret of `request` (its internal
 * data with `secret_type`, its issue time) with a new TTL. Vault replaces the
 * stored secret with the returned one, so anything left out here would be
 * lost for the next renew or revoke.
 */
export function renewResponse(request: Request, lease: RenewLease = {}, secretType?: string): Response {
  const stored = request.secret;
  if (stored === null) throw new PluginError(ErrorCode.Internal, "request has no secret");
  const internalData = { ...stored.internalData };
  if (secretType !== undefined) internalData[SECRET_TYPE_KEY] = secretType;
  const response: Response = {
    secret: {
      ...stored,
      leaseOptions: {
        ...stored.leaseOptions,
        ttl: secondsToNanos(lease.ttl ?? 0),
        maxTtl: secondsToNanos(lease.maxTtl ?? 0),
        issueTime: stored.leaseOptions.issueTime ?? new Date(),
      },
      internalData,
    },
  };
  if (lease.data !== undefined) response.data = lease.data;
  return response;
}

/** Declares a secret type; its handlers see `env.internal` typed by `internalData`. */
export function defineSecret<I extends InternalData = InternalData, const F extends FieldMap = FieldMap>(
  definition: SecretDefinition<I, F>,
): Secret<I> {
  // As with definePath: the FieldData handed to the handlers is built from this `fields` map.
  return new Secret<I>(definition as unknown as SecretDefinition<I, FieldMap>);
}

export interface TtlInputs {
  /** Requested increment in seconds (a renew's `increment`); wins when > 0. */
  increment?: number;
  /** The backend's TTL in seconds, used when there is no increment. */
  backendTtl?: number;
  /** A periodic TTL in seconds; when > 0 it replaces the TTL and is only capped by explicitMaxTtl. */
  period?: number;
  /** The backend's max TTL in seconds; lowers the mount's max when smaller. */
  backendMaxTtl?: number;
  /** An explicit max TTL in seconds; lowers the max further when smaller. */
  explicitMaxTtl?: number;
  /** When the lease was issued; the max TTL counts from here. Null means now. */
  startTime?: Date | null;
  /** The current time (for tests). */
  now?: Date;
}

export interface TtlResult {
  /** Seconds. */
  ttl: number;
  warnings: string[];
}

function truncateToSecond(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

function humanSeconds(seconds: number): string {
  return goHumanDuration(secondsToNanos(seconds));
}

/**
 * The TTL a lease should get, as the Go SDK's framework.CalculateTTL computes
 * it: the increment if given, else the backend TTL, else the mount default;
 * the max is the smallest of the mount max, backendMaxTtl and explicitMaxTtl,
 * counted from `startTime`; a TTL past it is capped with a warning. All in
 * whole seconds (Go truncates times to the second too).
 */
export async function calculateTtl(system: SystemView, inputs: TtlInputs = {}): Promise<TtlResult> {
  const now = truncateToSecond(inputs.now ?? new Date());
  const start = inputs.startTime ? truncateToSecond(inputs.startTime) : now;
  const warnings: string[] = [];

  let maxTtl = nanosToSeconds(await system.maxLeaseTtl());
  const backendMaxTtl = inputs.backendMaxTtl ?? 0;
  const explicitMaxTtl = inputs.explicitMaxTtl ?? 0;
  if (backendMaxTtl > 0 && backendMaxTtl < maxTtl) maxTtl = backendMaxTtl;
  if (explicitMaxTtl > 0 && explicitMaxTtl < maxTtl) maxTtl = explicitMaxTtl;
  if (maxTtl <= 0) throw new PluginError(ErrorCode.Internal, "max TTL must be greater than zero");

  let ttl: number;
  let maxValidUntil: number | undefined;
  let period = inputs.period ?? 0;
  if (period > 0) {
    if (period > maxTtl) {
      warnings.push(
        `period of ${goQuote(humanSeconds(period))} exceeded the effective max_ttl of ${goQuote(humanSeconds(maxTtl))}; period value is capped accordingly`,
      );
      period = maxTtl;
    }
    ttl = period;
    if (explicitMaxTtl > 0) maxValidUntil = start + explicitMaxTtl;
  } else {
    const increment = inputs.increment ?? 0;
    const backendTtl = inputs.backendTtl ?? 0;
    if (increment > 0) ttl = increment;
    else if (backendTtl > 0) ttl = backendTtl;
    else ttl = nanosToSeconds(await system.defaultLeaseTtl());
    maxValidUntil = start + maxTtl;
  }

  if (maxValidUntil !== undefined) {
    const maxValidTtl = maxValidUntil - now;
    if (maxValidTtl <= 0) throw new PluginError(ErrorCode.Internal, "past the max TTL, cannot renew");
    if (maxValidTtl < ttl) {
      warnings.push(
        `TTL of ${goQuote(humanSeconds(ttl))} exceeded the effective max_ttl of ${goQuote(humanSeconds(maxValidTtl))}; TTL value is capped accordingly`,
      );
      ttl = maxValidTtl;
    }
  }
  return { ttl, warnings };
}
