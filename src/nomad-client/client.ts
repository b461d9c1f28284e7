// A thin client for the Nomad ACL endpoints the engine uses, over one undici Pool
// per client (capped sockets, TLS from PEM text, TLS 1.2 minimum as in the builtin).
import { STATUS_CODES } from "node:http";
import type { ConnectionOptions } from "node:tls";
// undici's index loads every dispatcher, the mocks, the cache and fetch, none
// of which the client uses, and every mount compiles and evaluates whatever
// the engine bundle holds (docs/performance.md). These two modules are all the
// client needs: the Pool, and the request() that the index would attach to it.
import type { Pool } from "undici";
import PoolClass from "undici/lib/dispatcher/pool.js";
import poolRequest from "undici/lib/api/api-request.js";
import type { Schema } from "../shared/schema.ts";
import { ErrorCode, PluginError } from "../shared/errors.ts";
import {
  resolveNomadClientConfig,
  type NomadCallRecord,
  type NomadClientConfig,
  type ResolvedNomadClientConfig,
} from "./config.ts";
import {
  displayAddress,
  maskNomadText,
  nomadApiError,
  nomadBadResponseError,
  nomadFailureDetail,
  nomadUnreachableError,
  type MaskingRules,
} from "./failure.ts";
import {
  backoffDelayMs,
  classifyTransportError,
  fitsBeforeDeadline,
  isRetryableCreateFailure,
  parseRetryAfterMs,
  provesNothingWritten,
  shouldRetryStatus,
  shouldRetryTransportError,
} from "./retry.ts";
import {
  agentSelfSchema,
  roleSchema,
  tokenSchema,
  tokenStubListSchema,
  type NomadAclRole,
  type NomadAclToken,
  type NomadAclTokenStub,
  type NomadAgentSelf,
  type NomadTokenType,
} from "./types.ts";
import { attemptSignal } from "./attempt-signal.ts";
import { validateAccessConfig, validateNomadAddress } from "./validate.ts";

export interface CreateTokenRequest {
  /** Aborts the call when whoever asked for the token stops waiting. */
  signal?: AbortSignal;
  /** When whoever asked stops waiting (epoch ms): no retry is started that could not finish before it. */
  deadline?: number;
  name: string;
  type: NomadTokenType;
  policies?: readonly string[];
  /** ACL role names (Nomad ≥ 1.4); sent as links by Name, which Nomad resolves to IDs. */
  roles?: readonly string[];
  global?: boolean;
  /**
   * Nomad-side lifetime (Nomad ≥ 1.4), within the server's
   * token_min/max_expiration_ttl (default 1m..24h). Older servers silently ignore it.
   */
  expirationTTLSeconds?: number;
}

export interface DeleteTokenResult {
  /** True when Nomad no longer knew the accessor: revoked or garbage-collected earlier. */
  alreadyGone: boolean;
}

type HttpMethod = "GET" | "PUT" | "DELETE";

interface CallSpec {
  method: HttpMethod;
  path: string;
  /** Query parameters besides ?region=. */
  query?: Record<string, string>;
  /** The path with IDs as placeholders, for observation without high cardinality. */
  route: string;
  body?: unknown;
  /** Safe to send twice; decides which failures are retried. */
  idempotent: boolean;
  /** UUIDs the caller gave us, which error messages may show. */
  visibleUuids?: readonly string[];
  /** Extra strings to mask in messages (e.g. a chosen bootstrap secret). */
  secrets?: readonly string[];
  /** The caller gave up; the call is aborted. */
  signal?: AbortSignal;
  /** The caller's deadline (epoch ms): caps each attempt's timeout and rules out retries that cannot fit. */
  deadline?: number;
}

interface NomadAnswer {
  status: number;
  text: string;
  attempts: number;
}

export class NomadClient {
  /** The configured address, without any user:password, for messages and logs. */
  readonly address: string;
  readonly region: string | undefined;
  private readonly config: ResolvedNomadClientConfig;
  private readonly pool: Pool;
  private readonly basePath: string;
  private readonly baseHeaders: Record<string, string>;
  private closed = false;

  /** Aborts every in-flight call once close() runs out of patience. */
  private readonly stopping = new AbortController();

  constructor(config: NomadClientConfig = {}) {
    this.config = resolveNomadClientConfig(config);
    const addressProblem = validateNomadAddress(this.config.address);
    if (addressProblem !== undefined) throw new PluginError(ErrorCode.Config, addressProblem);
    const url = new URL(this.config.address);
    this.address = displayAddress(this.config.address);
    this.region = this.config.region;
    this.basePath = url.pathname.replace(/\/+$/, "");
    this.baseHeaders = this.buildBaseHeaders(url);
    this.pool = new PoolClass(url.origin, {
      connections: this.config.maxConnections,
      pipelining: 1,
      // Nomad speaks HTTP/1.1 to the Go client; h2 would multiplex past the socket cap.
      allowH2: false,
      connectTimeout: this.config.requestTimeoutMs,
      headersTimeout: this.config.requestTimeoutMs,
      bodyTimeout: this.config.requestTimeoutMs,
      ...(url.protocol === "https:" ? { connect: this.tlsOptions() } : {}),
    });
  }

  /**
   * Releases sockets; calls after this fail. In-flight calls may finish for
   * `graceMs`; after that they are aborted, so a stopping plugin never waits
   * out Nomad's timeout. Safe to call twice.
   */
  async close(graceMs: number = Number.POSITIVE_INFINITY): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const drained = this.pool.close().then(() => true);
    const inTime = Number.isFinite(graceMs)
      ? await Promise.race([drained, new Promise<false>((resolve) => setTimeout(resolve, graceMs, false).unref())])
      : await drained;
    if (!inTime) {
      this.stopping.abort();
      await this.pool.destroy().catch(() => undefined);
    }
  }

  /**
   * PUT /v1/acl/token. A 429 is resent as is; a 5xx or a connection lost after
   * sending is retried with backoff only after a look-up by the token's name
   * (unique per request) shows the failed attempt left no token. If it did, that
   * token is adopted, so one request never yields two tokens.
   */
  async createToken(request: CreateTokenRequest): Promise<NomadAclToken> {
    const spec = this.createTokenSpec(request);
    const { retry } = this.config;
    let earlierAttemptMayHaveWritten = false;
    for (let attempt = 1; ; attempt++) {
      try {
        const created = await this.perform(spec, (answer) => this.expectJson(spec, answer, tokenSchema));
        if (earlierAttemptMayHaveWritten) await this.removeDuplicates(request.name, created.AccessorID);
        return created;
      } catch (error) {
        const failure = nomadFailureDetail(error);
        if (failure === undefined || !isRetryableCreateFailure(failure) || attempt >= retry.maxAttempts) throw error;
        const delayMs = backoffDelayMs(retry, attempt);
        if (!fitsBeforeDeadline(delayMs, request.deadline)) throw error;
        if (!provesNothingWritten(failure)) {
          earlierAttemptMayHaveWritten = true;
          const adopted = await this.adoptToken(request.name).catch(() => {
            // Without an answer we cannot rule out a token from the failed attempt.
            throw error;
          });
          if (adopted !== undefined) return adopted;
        }
        await this.sleepBeforeRetry(spec, attempt, delayMs, failure.status === undefined ? "the answer was lost" : `status ${failure.status}`);
      }
    }
  }

  /** The token a failed create left behind under `name`, with its SecretID; undefined when there is none. */
  private async adoptToken(name: string): Promise<NomadAclToken | undefined> {
    const [found] = await this.tokensNamed(name);
    if (found === undefined) return undefined;
    const token = await this.readToken(found.AccessorID);
    if (token === undefined) return undefined;
    this.config.logger?.info("a create whose answer failed had made the token; using it", { accessor_id: token.AccessorID });
    return token;
  }

  /**
   * A 5xx can come back although the write committed later (a Raft apply that
   * outlived the leader's timeout); then the retry made a second token under the
   * same name, which no lease would ever revoke.
   */
  private async removeDuplicates(name: string, keepAccessor: string): Promise<void> {
    try {
      for (const duplicate of await this.tokensNamed(name)) {
        if (duplicate.AccessorID === keepAccessor) continue;
        await this.deleteToken(duplicate.AccessorID);
        this.config.logger?.warn("deleted a duplicate Nomad token left by a failed create", { accessor_id: duplicate.AccessorID });
      }
    } catch (error) {
      this.config.logger?.warn("could not check for a duplicate token after a retried create; its expiration will end it", {
        error: (error as Error).message,
      });
    }
  }

  /** Tokens with exactly this name; Nomad filters server-side when it can, and we filter again for older servers. */
  async tokensNamed(name: string): Promise<NomadAclTokenStub[]> {
    const filter = `Name == "${name.replace(/["\\]/g, "\\$&")}"`;
    const spec: CallSpec = {
      method: "GET",
      path: "/v1/acl/tokens",
      query: { filter },
      route: "/v1/acl/tokens",
      idempotent: true,
    };
    const stubs = await this.perform(spec, (answer) => this.expectJson(spec, answer, tokenStubListSchema));
    return stubs.filter((token) => token.Name === name);
  }

  private createTokenSpec(request: CreateTokenRequest): CallSpec {
    const body: Record<string, unknown> = {
      Name: request.name,
      Type: request.type,
      Policies: [...(request.policies ?? [])],
      Global: request.global ?? false,
    };
    if (request.roles !== undefined && request.roles.length > 0) {
      body.Roles = request.roles.map((name) => ({ Name: name }));
    }
    if (request.expirationTTLSeconds !== undefined) {
      // A Go duration string; Nomad also takes nanoseconds, which overflow doubles sooner.
      body.ExpirationTTL = `${request.expirationTTLSeconds}s`;
    }
    return {
      method: "PUT",
      path: "/v1/acl/token",
      route: "/v1/acl/token",
      body,
      idempotent: false,
      ...(request.signal === undefined ? {} : { signal: request.signal }),
      ...(request.deadline === undefined ? {} : { deadline: request.deadline }),
    };
  }

  /** GET /v1/acl/token/:accessor; undefined when Nomad does not know the accessor. */
  async readToken(accessorId: string): Promise<NomadAclToken | undefined> {
    const spec: CallSpec = {
      method: "GET",
      path: `/v1/acl/token/${encodeURIComponent(accessorId)}`,
      route: "/v1/acl/token/:accessor",
      idempotent: true,
      visibleUuids: [accessorId],
    };
    return this.perform(spec, (answer) => {
      if (answer.status === 404 && /ACL token not found/i.test(answer.text)) return undefined;
      return this.expectJson(spec, answer, tokenSchema);
    });
  }

  /** GET /v1/acl/token/self: the token this client authenticates with. */
  async selfToken(): Promise<NomadAclToken> {
    const spec: CallSpec = { method: "GET", path: "/v1/acl/token/self", route: "/v1/acl/token/self", idempotent: true };
    return this.perform(spec, (answer) => this.expectJson(spec, answer, tokenSchema));
  }

  /**
   * DELETE /v1/acl/token/:accessor, idempotent: Nomad's 400 "Cannot delete
   * nonexistent tokens" and a 404 "not found" mean the token is already gone.
   */
  async deleteToken(accessorId: string): Promise<DeleteTokenResult> {
    const spec: CallSpec = {
      method: "DELETE",
      path: `/v1/acl/token/${encodeURIComponent(accessorId)}`,
      route: "/v1/acl/token/:accessor",
      idempotent: true,
      visibleUuids: [accessorId],
    };
    return this.perform(spec, (answer): DeleteTokenResult => {
      if (answer.status >= 200 && answer.status < 300) return { alreadyGone: false };
      if (answer.status === 400 && /^Cannot delete nonexistent tokens:/i.test(answer.text.trim())) {
        return { alreadyGone: true };
      }
      // Only Nomad's own "not found" counts; a bare 404 from a proxy or a wrong
      // address must fail, or a live token would be reported revoked.
      if (answer.status === 404 && /not found/i.test(answer.text)) return { alreadyGone: true };
      throw this.apiError(spec, answer);
    });
  }

  /** GET /v1/acl/tokens (management token needed). */
  async listTokens(): Promise<NomadAclTokenStub[]> {
    const spec: CallSpec = { method: "GET", path: "/v1/acl/tokens", route: "/v1/acl/tokens", idempotent: true };
    return this.perform(spec, (answer) => this.expectJson(spec, answer, tokenStubListSchema));
  }

  /**
   * PUT /v1/acl/bootstrap. Not retried after it may have reached Nomad: a second
   * bootstrap fails with "ACL bootstrap already done".
   */
  async bootstrap(bootstrapSecret?: string): Promise<NomadAclToken> {
    const spec: CallSpec = {
      method: "PUT",
      path: "/v1/acl/bootstrap",
      route: "/v1/acl/bootstrap",
      idempotent: false,
      ...(bootstrapSecret === undefined
        ? {}
        : { body: { BootstrapSecret: bootstrapSecret }, secrets: [bootstrapSecret] }),
    };
    return this.perform(spec, (answer) => this.expectJson(spec, answer, tokenSchema));
  }

  /** GET /v1/acl/role/name/:name (Nomad ≥ 1.4); undefined when no such role. */
  async readRoleByName(name: string): Promise<NomadAclRole | undefined> {
    const spec: CallSpec = {
      method: "GET",
      path: `/v1/acl/role/name/${encodeURIComponent(name)}`,
      route: "/v1/acl/role/name/:name",
      idempotent: true,
    };
    return this.perform(spec, (answer) => {
      // A bare 404 (no such route: Nomad < 1.4) must not read as "no such role".
      if (answer.status === 404 && /ACL role not found/i.test(answer.text)) return undefined;
      return this.expectJson(spec, answer, roleSchema);
    });
  }

  /** GET /v1/agent/self, reduced to version and location (needs agent:read). */
  async agentSelf(): Promise<NomadAgentSelf> {
    const spec: CallSpec = { method: "GET", path: "/v1/agent/self", route: "/v1/agent/self", idempotent: true };
    return this.perform(spec, (answer) => this.expectJson(spec, answer, agentSelfSchema));
  }

  /** GET /v1/status/leader: the leader's RPC address; needs no token, so a cheap reachability probe. */
  async statusLeader(): Promise<string> {
    const spec: CallSpec = { method: "GET", path: "/v1/status/leader", route: "/v1/status/leader", idempotent: true };
    return this.perform(spec, (answer) => {
      const leader: unknown = this.expectJson(spec, answer, undefined);
      if (typeof leader !== "string") throw nomadBadResponseError(spec.method, spec.path, "expected a JSON string");
      return leader;
    });
  }

  /** Runs one logical call (retries included) and reports it to `onCall`. */
  private async perform<T>(spec: CallSpec, interpret: (answer: NomadAnswer) => T): Promise<T> {
    const started = Date.now();
    let answer: NomadAnswer | undefined;
    let failure: unknown;
    try {
      answer = await this.exchange(spec);
      return interpret(answer);
    } catch (error) {
      failure = error;
      throw error;
    } finally {
      this.observe({
        method: spec.method,
        route: spec.route,
        status: answer?.status,
        attempts: answer?.attempts ?? nomadFailureDetail(failure)?.attempts ?? 1,
        durationMs: Date.now() - started,
        failed: failure !== undefined,
      });
    }
  }

  private observe(call: NomadCallRecord): void {
    try {
      this.config.onCall?.(call);
    } catch (error) {
      // An observer's bug must not turn a finished Nomad call into a failure.
      this.config.logger?.warn("nomad onCall observer threw", { error: String(error) });
    }
  }

  /** Sends one call, retrying what is safe to retry; returns any HTTP answer. */
  private async exchange(spec: CallSpec): Promise<NomadAnswer> {
    if (this.closed) throw new PluginError(ErrorCode.Internal, "the Nomad client was closed");
    const { retry, requestTimeoutMs, logger } = this.config;
    const body = spec.body === undefined ? undefined : JSON.stringify(spec.body);
    const headers = body === undefined ? this.baseHeaders : { ...this.baseHeaders, "content-type": "application/json" };

    for (let attempt = 1; ; attempt++) {
      const attemptTimeoutMs =
        spec.deadline === undefined ? requestTimeoutMs : Math.max(1, Math.min(requestTimeoutMs, spec.deadline - Date.now()));
      const deadline = attemptSignal(attemptTimeoutMs, this.stopping.signal, spec.signal);
      const started = Date.now();
      let answer: NomadAnswer & { retryAfterMs: number | undefined };
      try {
        const response = await poolRequest.call(this.pool, {
          method: spec.method,
          path: this.requestPath(spec.path, spec.query),
          headers,
          body: body ?? null,
          signal: deadline.signal,
        });
        const text = await response.body.text();
        answer = {
          status: response.statusCode,
          text,
          attempts: attempt,
          retryAfterMs: parseRetryAfterMs(response.headers["retry-after"]),
        };
      } catch (error) {
        const timedOut = deadline.timedOut;
        const cancelled = !timedOut && (this.stopping.signal.aborted || spec.signal?.aborted === true);
        const code = timedOut || cancelled ? undefined : transportErrorCode(error);
        const kind = classifyTransportError(code);
        const reason = cancelled
          ? `${spec.method} ${spec.path} was cancelled (${this.stopping.signal.aborted ? "the plugin is stopping" : "the caller stopped waiting"})`
          : timedOut
          ? `${spec.method} ${spec.path} got no answer within ${attemptTimeoutMs}ms`
          : kind === "tls"
            ? `TLS handshake failed: ${transportErrorText(error)}`
            : transportErrorText(error);
        if (
          !timedOut &&
          !cancelled &&
          shouldRetryTransportError(kind, spec.idempotent) &&
          attempt < retry.maxAttempts &&
          (await this.backoff(spec, attempt, reason))
        ) {
          continue;
        }
        const neverSent = kind === "never-sent-transient" || kind === "never-sent-permanent" || kind === "tls";
        throw nomadUnreachableError(
          this.address,
          {
            method: spec.method,
            path: spec.path,
            attempts: attempt,
            mayHaveTakenEffect: spec.method !== "GET" && !neverSent,
            timedOut,
            cancelled,
          },
          reason,
          error,
        );
      } finally {
        deadline.dispose();
      }
      logger?.debug("nomad request", {
        method: spec.method,
        path: spec.path,
        status: answer.status,
        attempt,
        duration_ms: Date.now() - started,
      });
      if (
        shouldRetryStatus(answer.status, spec.idempotent) &&
        attempt < retry.maxAttempts &&
        (await this.backoff(spec, attempt, `status ${answer.status}`, answer.retryAfterMs))
      ) {
        continue;
      }
      return answer;
    }
  }

  /** Waits before the next attempt; false (without waiting) when the caller's deadline leaves no room for one. */
  private async backoff(spec: CallSpec, attempt: number, reason: string, retryAfterMs?: number): Promise<boolean> {
    const delayMs = backoffDelayMs(this.config.retry, attempt, retryAfterMs);
    if (!fitsBeforeDeadline(delayMs, spec.deadline)) return false;
    await this.sleepBeforeRetry(spec, attempt, delayMs, reason);
    return true;
  }

  private async sleepBeforeRetry(spec: CallSpec, attempt: number, delayMs: number, reason: string): Promise<void> {
    this.config.logger?.warn("retrying nomad request", {
      method: spec.method,
      path: spec.path,
      attempt,
      delay_ms: delayMs,
      reason: this.mask(spec, reason),
    });
    await this.config.retry.sleep(delayMs);
  }

  private expectJson<T>(spec: CallSpec, answer: NomadAnswer, schema: Schema<T>): T;
  private expectJson(spec: CallSpec, answer: NomadAnswer, schema: undefined): unknown;
  private expectJson<T>(spec: CallSpec, answer: NomadAnswer, schema: Schema<T> | undefined): T | unknown {
    if (answer.status < 200 || answer.status >= 300) throw this.apiError(spec, answer);
    let json: unknown;
    try {
      json = JSON.parse(answer.text);
    } catch {
      throw nomadBadResponseError(spec.method, spec.path, "the body is not JSON");
    }
    if (schema === undefined) return json;
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue === undefined || issue.path.length === 0 ? "" : ` at ${issue.path.join(".")}`;
      throw nomadBadResponseError(spec.method, spec.path, `${issue?.message ?? "invalid shape"}${where}`);
    }
    return parsed.data;
  }

  private apiError(spec: CallSpec, answer: NomadAnswer): PluginError {
    return nomadApiError(
      {
        method: spec.method,
        path: spec.path,
        status: answer.status,
        body: this.mask(spec, answer.text),
        attempts: answer.attempts,
        mayHaveTakenEffect: spec.method !== "GET" && answer.status >= 500,
      },
      STATUS_CODES[answer.status] ?? "no message",
    );
  }

  private mask(spec: CallSpec, text: string): string {
    const rules: MaskingRules = {
      visibleUuids: spec.visibleUuids ?? [],
      secrets: [this.config.token, ...(spec.secrets ?? []), ...basicAuthSecrets(this.config.httpAuth)],
    };
    return maskNomadText(text, rules);
  }

  private requestPath(path: string, extra: Record<string, string> = {}): string {
    const query = new URLSearchParams(extra);
    if (this.config.region !== undefined) query.set("region", this.config.region);
    const text = query.toString();
    return `${this.basePath}${path}${text === "" ? "" : `?${text}`}`;
  }

  private buildBaseHeaders(url: URL): Record<string, string> {
    const headers: Record<string, string> = { accept: "application/json" };
    if (this.config.token !== "") headers["x-nomad-token"] = this.config.token;
    const userInfo =
      this.config.httpAuth ?? (url.username === "" ? undefined : `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`);
    if (userInfo !== undefined) headers.authorization = `Basic ${Buffer.from(userInfo).toString("base64")}`;
    return headers;
  }

  private tlsOptions(): ConnectionOptions {
    const { caCert, clientCert, clientKey, tlsServerName, tlsSkipVerify } = this.config;
    const problems = validateAccessConfig({ ca_cert: caCert, client_cert: clientCert, client_key: clientKey });
    if (problems.length > 0) {
      throw new PluginError(ErrorCode.Config, `invalid TLS settings for Nomad: ${problems.join("; ")}`);
    }
    return {
      minVersion: "TLSv1.2",
      rejectUnauthorized: !tlsSkipVerify,
      ...(caCert === undefined ? {} : { ca: caCert }),
      ...(clientCert === undefined ? {} : { cert: clientCert }),
      ...(clientKey === undefined ? {} : { key: clientKey }),
      ...(tlsServerName === undefined ? {} : { servername: tlsServerName }),
    };
  }
}

function basicAuthSecrets(httpAuth: string | undefined): string[] {
  if (httpAuth === undefined) return [];
  const colon = httpAuth.indexOf(":");
  return colon < 0 ? [httpAuth] : [httpAuth, httpAuth.slice(colon + 1)];
}

/** The errno-style code of a transport error; Node's happy-eyeballs wraps them in AggregateError. */
function transportErrorCode(error: unknown): string | undefined {
  const direct = (error as { code?: unknown } | null)?.code;
  if (typeof direct === "string") return direct;
  if (error instanceof AggregateError) {
    for (const inner of error.errors) {
      const code = (inner as { code?: unknown } | null)?.code;
      if (typeof code === "string") return code;
    }
  }
  const cause = (error as { cause?: unknown } | null)?.cause;
  const causeCode = (cause as { code?: unknown } | null)?.code;
  return typeof causeCode === "string" ? causeCode : undefined;
}

function transportErrorText(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) {
    return error.errors.map((inner) => (inner instanceof Error ? inner.message : String(inner))).join("; ");
  }
  if (error instanceof Error && error.message !== "") return error.message;
  return transportErrorCode(error) ?? String(error);
}
