// An in-process stand-in for a Nomad agent's ACL HTTP API, answering as Nomad does
// (reference nomad.md §2; behaviour traced to hashicorp/nomad command/agent/http.go,
// command/agent/acl_endpoint.go, nomad/acl_endpoint.go, nomad/auth/auth.go and
// nomad/structs/acl.go). Error bodies are plain text, as Nomad writes them.
//
// Deliberate simplifications, each marked where it happens:
// - policy Rules are stored, never parsed, so non-management tokens are only ever
//   authorised for what their own token/role/policy objects allow (no capability math);
// - one region, one server, no replication; `?region=` naming another region fails
//   like an unreachable region does;
// - Hash is a SHA-256 (Nomad uses BLAKE2b-256) — it is opaque to clients either way;
// - client-token upload with chosen IDs (Nomad 2.0.3) is not emulated.
//
// It also lets tests inject faults (latency, canned failures, dropped connections,
// the whole server going away) and inspect what it received and what tokens exist.
import { execFileSync } from "node:child_process";
import {
  createHash,
  generateKeyPairSync,
  randomBytes,
  randomUUID,
  sign,
  type KeyObject,
} from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import type { AddressInfo, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TLSSocket } from "node:tls";

// ---------------------------------------------------------------------------
// Public types

export interface NomadFakeOptions {
  /** What /v1/agent/self reports and which features exist; below 1.4.0 there are no roles or token TTLs. */
  version?: string;
  region?: string;
  datacenter?: string;
  /** Start already bootstrapped (default) so `managementToken` is usable at once. */
  bootstrapped?: boolean;
  /** SecretID for the initial bootstrap token; random when omitted. */
  bootstrapSecret?: string;
  /** Server `acl.token_min_expiration_ttl`, default 1 minute. */
  tokenMinExpirationTtlMs?: number;
  /** Server `acl.token_max_expiration_ttl`, default 24 hours. */
  tokenMaxExpirationTtlMs?: number;
  /** Serve HTTPS. With `clientCa`, a client certificate signed by it is required. */
  tls?: { cert: string; key: string; clientCa?: string };
  /** Clock in epoch milliseconds, for expiry. */
  now?: () => number;
}

/**
 * The one go-bexpr form the engine sends, `Name == "<quoted>"`; anything else is
 * refused as Nomad refuses an expression it cannot parse.
 */
function nameFilter(filter: string | null): string | undefined {
  if (filter === null || filter === "") return undefined;
  const parsed = /^Name == "((?:[^"\\]|\\.)*)"$/.exec(filter);
  if (parsed === null) fail(400, `failed to read filter expression: ${filter}`);
  return (parsed[1] as string).replace(/\\(.)/g, "$1");
}

/** Which requests a fault or a count applies to. `path` matches the concrete path or the route, e.g. "/v1/acl/token/:accessor". */
export interface RequestMatch {
  method?: string;
  path?: string | RegExp;
}

export interface InjectedFailure extends RequestMatch {
  status: number;
  body?: string;
  headers?: Record<string, string>;
  /** How many matching requests fail; default 1. */
  times?: number;
  /** Perform the operation, then answer with the failure: "Nomad did it but reported an error". */
  afterProcessing?: boolean;
}

export interface InjectedDrop extends RequestMatch {
  times?: number;
  /** Perform the operation, then destroy the socket: "Nomad did it but the answer was lost". */
  afterProcessing?: boolean;
}

export interface RecordedRequest {
  method: string;
  path: string;
  /** Route pattern, e.g. "DELETE /v1/acl/token/:accessor". */
  route: string;
  region: string | undefined;
  /** Where the token came from; the value itself is not kept. */
  tokenSource: "x-nomad-token" | "authorization-bearer" | "none";
  /** Subject CN of the TLS client certificate, when one was presented. */
  clientCertificateCn: string | undefined;
  /** Status sent, or "dropped" when the socket was destroyed instead. */
  outcome: number | "dropped" | "pending";
}

/** A token as Nomad's JSON shows it (Roles resolved to current names). */
export interface FakeTokenJson {
  AccessorID: string;
  SecretID: string;
  Name: string;
  Type: string;
  Policies: string[] | null;
  Roles?: { ID: string; Name: string }[] | null;
  Global: boolean;
  Hash: string;
  CreateTime: string;
  ExpirationTime?: string | null;
  ExpirationTTL?: string;
  CreateIndex: number;
  ModifyIndex: number;
}

export interface FakeRoleJson {
  ID: string;
  Name: string;
  Description: string;
  Policies: { Name: string }[];
  Hash: string;
  CreateIndex: number;
  ModifyIndex: number;
}

export interface IssueTokenInput {
  name?: string;
  type?: "client" | "management";
  policies?: string[];
  /** Role names. */
  roles?: string[];
  global?: boolean;
  ttlMs?: number;
}

// ---------------------------------------------------------------------------
// Nomad constants (nomad/structs)

const PERMISSION_DENIED = "Permission denied";
const TOKEN_NOT_FOUND = "ACL token not found";
const TOKEN_EXPIRED = "ACL token expired";
const INVALID_METHOD = "Invalid method";
const MAX_TOKEN_NAME_BYTES = 256;
const MAX_DESCRIPTION_LENGTH = 256;
const VALID_NAME = /^[a-zA-Z0-9-]{1,128}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const NS_PER_MS = 1_000_000;

// ---------------------------------------------------------------------------
// Internal state shapes

interface StoredToken {
  accessorId: string;
  secretId: string;
  name: string;
  type: string;
  policies: string[];
  roleIds: string[];
  global: boolean;
  createTimeMs: number;
  expirationTimeMs: number | null;
  expirationTtlNs: number;
  createIndex: number;
  modifyIndex: number;
}

interface StoredPolicy {
  name: string;
  description: string;
  rules: string;
  createIndex: number;
  modifyIndex: number;
}

interface StoredRole {
  id: string;
  name: string;
  description: string;
  policies: string[];
  createIndex: number;
  modifyIndex: number;
}

type Identity =
  | { kind: "anonymous" }
  | { kind: "token"; token: StoredToken }
  | { kind: "expired" }
  | { kind: "unknown" }
  | { kind: "invalid" };

interface Reply {
  status: number;
  json?: unknown;
  text?: string;
  index?: number;
  headers?: Record<string, string>;
}

interface RequestContext {
  method: string;
  path: string;
  query: URLSearchParams;
  body: string;
  identity: Identity;
}

class HttpFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function fail(status: number, message: string): never {
  throw new HttpFailure(status, message);
}

// ---------------------------------------------------------------------------
// The fake

export class NomadFake {
  /** Base URL, e.g. http://127.0.0.1:41234. */
  url = "";
  /** SecretID of the bootstrap (management) token, once bootstrapped. */
  managementToken: string | undefined;
  version: string;
  readonly region: string;
  readonly requests: RecordedRequest[] = [];
  maxConcurrentConnections = 0;

  private readonly server: http.Server;
  private readonly options: NomadFakeOptions;
  private readonly now: () => number;
  private readonly tokensByAccessor = new Map<string, StoredToken>();
  private readonly policies = new Map<string, StoredPolicy>();
  private readonly roles = new Map<string, StoredRole>();
  private readonly sockets = new Set<Socket>();
  private readonly failures: InjectedFailure[] = [];
  private readonly afterHandlingHooks: { match: RequestMatch; action: () => void }[] = [];
  private readonly drops: InjectedDrop[] = [];
  private latencyRules: { ms: number; match: RequestMatch }[] = [];
  private raftIndex = 10;
  private bootstrapIndex: number | undefined;
  private port = 0;
  private up = false;

  constructor(options: NomadFakeOptions = {}) {
    this.options = options;
    this.version = options.version ?? "2.0.5";
    this.region = options.region ?? "global";
    this.now = options.now ?? Date.now;
    const handler = (request: http.IncomingMessage, response: http.ServerResponse) => {
      void this.handle(request, response);
    };
    this.server = options.tls
      ? https.createServer(
          {
            cert: options.tls.cert,
            key: options.tls.key,
            ...(options.tls.clientCa === undefined
              ? {}
              : { ca: options.tls.clientCa, requestCert: true, rejectUnauthorized: true }),
          },
          handler,
        )
      : http.createServer(handler);
    this.server.on("connection", (socket: Socket) => {
      this.sockets.add(socket);
      this.maxConcurrentConnections = Math.max(this.maxConcurrentConnections, this.sockets.size);
      socket.on("close", () => this.sockets.delete(socket));
    });
    // A client that gives up mid-handshake is not a test failure.
    this.server.on("tlsClientError", () => undefined);
  }

  get openConnections(): number {
    return this.sockets.size;
  }

  async start(): Promise<this> {
    await this.listen(0);
    if (this.options.bootstrapped ?? true) {
      this.managementToken = this.bootstrapNow(this.options.bootstrapSecret).secretId;
    }
    return this;
  }

  async stop(): Promise<void> {
    this.up = false;
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
      for (const socket of this.sockets) socket.destroy();
    });
  }

  /** Stops listening and cuts every open connection, like a crashed agent. */
  async goDown(): Promise<void> {
    await this.stop();
  }

  /** Listens again on the same port with the same state. */
  async comeBack(): Promise<void> {
    await this.listen(this.port);
  }

  // --- state inspection and direct manipulation -----------------------------

  tokenCount(): number {
    return this.tokensByAccessor.size;
  }

  /** Every token, as GET /v1/acl/token/:accessor would show it (secrets included). */
  tokens(): FakeTokenJson[] {
    return [...this.tokensByAccessor.values()].map((token) => this.tokenJson(token));
  }

  token(accessorId: string): FakeTokenJson | undefined {
    const token = this.tokensByAccessor.get(accessorId);
    return token === undefined ? undefined : this.tokenJson(token);
  }

  hasToken(accessorId: string): boolean {
    return this.tokensByAccessor.has(accessorId);
  }

  /** Tokens other than the bootstrap token: what an engine test must leave at zero. */
  issuedTokens(): FakeTokenJson[] {
    return this.tokens().filter((token) => token.SecretID !== this.managementToken);
  }

  /** Creates a token without HTTP (e.g. a client token for permission tests). */
  issueToken(input: IssueTokenInput = {}): FakeTokenJson {
    const type = input.type ?? "client";
    const roleIds = (input.roles ?? []).map((name) => {
      const role = this.roleByName(name);
      if (role === undefined) throw new Error(`no role named ${name}`);
      return role.id;
    });
    const createTimeMs = this.now();
    const token: StoredToken = {
      accessorId: randomUUID(),
      secretId: randomUUID(),
      name: input.name ?? "fake-issued",
      type,
      policies: input.policies ?? (type === "client" && roleIds.length === 0 ? ["default"] : []),
      roleIds,
      global: input.global ?? false,
      createTimeMs,
      expirationTimeMs: input.ttlMs === undefined ? null : createTimeMs + input.ttlMs,
      expirationTtlNs: (input.ttlMs ?? 0) * NS_PER_MS,
      createIndex: this.nextIndex(),
      modifyIndex: 0,
    };
    token.modifyIndex = token.createIndex;
    this.tokensByAccessor.set(token.accessorId, token);
    return this.tokenJson(token);
  }

  /** Deletes a token behind the API's back (an operator, or expired-token GC). */
  removeToken(accessorId: string): boolean {
    return this.tokensByAccessor.delete(accessorId);
  }

  /** Moves a token's expiry into the past. */
  expireToken(accessorId: string): void {
    const token = this.tokensByAccessor.get(accessorId);
    if (token === undefined) throw new Error(`no token ${accessorId}`);
    token.expirationTimeMs = this.now() - 1_000;
  }

  /** Removes expired tokens, as Nomad's ACL token GC does after acl_token_gc_threshold. */
  collectExpiredTokens(): number {
    let removed = 0;
    for (const [accessor, token] of this.tokensByAccessor) {
      if (isExpired(token, this.now())) {
        this.tokensByAccessor.delete(accessor);
        removed++;
      }
    }
    return removed;
  }

  upsertPolicy(name: string, rules = 'namespace "default" { policy = "read" }', description = ""): void {
    const existing = this.policies.get(name);
    const index = this.nextIndex();
    this.policies.set(name, {
      name,
      description,
      rules,
      createIndex: existing?.createIndex ?? index,
      modifyIndex: index,
    });
  }

  /** Creates a role without HTTP; its policies must exist, as in Nomad. */
  createRole(name: string, policies: string[], description = ""): FakeRoleJson {
    for (const policy of policies) {
      if (!this.policies.has(policy)) throw new Error(`cannot find policy ${policy}`);
    }
    const index = this.nextIndex();
    const role: StoredRole = { id: randomUUID(), name, description, policies, createIndex: index, modifyIndex: index };
    this.roles.set(role.id, role);
    return roleJson(role);
  }

  deleteRole(name: string): boolean {
    const role = this.roleByName(name);
    return role === undefined ? false : this.roles.delete(role.id);
  }

  // --- fault injection -------------------------------------------------------

  /** Delays matching requests (all when `match` is omitted) before they are handled. */
  setLatency(ms: number, match: RequestMatch = {}): void {
    this.latencyRules.push({ ms, match });
  }

  /** Answers the next matching request(s) with a canned status and body instead of handling them. */
  failNext(failure: InjectedFailure): void {
    this.failures.push({ ...failure, times: failure.times ?? 1 });
  }

  /** Runs `action` once, after the next matching request was handled and before its answer is sent. */
  afterHandling(match: RequestMatch, action: () => void): void {
    this.afterHandlingHooks.push({ match, action });
  }

  /** Destroys the socket of the next matching request(s) without an answer. */
  dropNext(drop: InjectedDrop = {}): void {
    this.drops.push({ ...drop, times: drop.times ?? 1 });
  }

  clearFaults(): void {
    this.failures.length = 0;
    this.drops.length = 0;
    this.afterHandlingHooks.length = 0;
    this.latencyRules = [];
  }

  /** Requests received that match (all when omitted), including failed and dropped ones. */
  requestCount(match: RequestMatch = {}): number {
    return this.requests.filter((entry) => matches(match, entry.method, entry.path, entry.route)).length;
  }

  /** Count per route, e.g. { "PUT /v1/acl/token": 2 }. */
  routeCounts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const entry of this.requests) counts[entry.route] = (counts[entry.route] ?? 0) + 1;
    return counts;
  }

  resetStats(): void {
    this.requests.length = 0;
    this.maxConcurrentConnections = this.sockets.size;
  }

  // --- HTTP plumbing ---------------------------------------------------------

  private async listen(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, "127.0.0.1", () => {
        this.server.off("error", reject);
        resolve();
      });
    });
    this.port = (this.server.address() as AddressInfo).port;
    this.url = `${this.options.tls ? "https" : "http"}://127.0.0.1:${this.port}`;
    this.up = true;
  }

  private async handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const url = new URL(request.url ?? "/", "http://fake");
    const method = request.method ?? "GET";
    const route = routeOf(method, url.pathname);
    const { secret, source } = parseToken(request.headers);
    const entry: RecordedRequest = {
      method,
      path: url.pathname,
      route,
      region: url.searchParams.get("region") ?? undefined,
      tokenSource: source,
      clientCertificateCn: clientCertificateCn(request.socket),
      outcome: "pending",
    };
    this.requests.push(entry);
    const body = await readBody(request);

    const delay = this.latencyRules
      .filter((rule) => matches(rule.match, method, url.pathname, route))
      .reduce((total, rule) => total + rule.ms, 0);
    if (delay > 0) await sleep(delay);
    if (!this.up || response.destroyed) return;

    const drop = takeFault(this.drops, method, url.pathname, route);
    if (drop !== undefined && !drop.afterProcessing) {
      entry.outcome = "dropped";
      request.socket.destroy();
      return;
    }
    const failure = takeFault(this.failures, method, url.pathname, route);
    let reply: Reply;
    if (failure !== undefined && !failure.afterProcessing) {
      reply = { status: failure.status, text: failure.body ?? "", headers: failure.headers ?? {} };
    } else {
      const context: RequestContext = {
        method,
        path: url.pathname,
        query: url.searchParams,
        body,
        identity: this.resolveIdentity(secret),
      };
      reply = this.dispatch(context);
      if (failure !== undefined) reply = { status: failure.status, text: failure.body ?? "", headers: failure.headers ?? {} };
    }
    const hook = this.afterHandlingHooks.findIndex((candidate) => matches(candidate.match, method, url.pathname, route));
    if (hook >= 0) {
      this.afterHandlingHooks.splice(hook, 1)[0]?.action();
      // Let an abort the action caused reach the client before the answer does.
      await sleep(20);
      if (response.destroyed) {
        entry.outcome = "dropped";
        return;
      }
    }
    if (drop?.afterProcessing) {
      entry.outcome = "dropped";
      request.socket.destroy();
      return;
    }
    entry.outcome = reply.status;
    writeReply(response, reply);
  }

  private dispatch(context: RequestContext): Reply {
    try {
      // Region forwarding happens in every RPC; the agent endpoint makes none.
      const region = context.query.get("region");
      if (region !== null && region !== "" && region !== this.region && context.path !== "/v1/agent/self") {
        fail(500, "No path to region");
      }
      return this.route(context);
    } catch (error) {
      if (error instanceof HttpFailure) return { status: error.status, text: error.message };
      return { status: 500, text: error instanceof Error ? error.message : String(error) };
    }
  }

  private route(context: RequestContext): Reply {
    const { method, path } = context;
    const rolesExist = this.atLeast("1.4.0");
    if (path === "/v1/status/leader") {
      requireMethod(method, "GET");
      return { status: 200, json: "127.0.0.1:4647" };
    }
    if (path === "/v1/agent/self") {
      requireMethod(method, "GET");
      return this.agentSelf(context);
    }
    if (path === "/v1/acl/bootstrap") {
      requireMethod(method, "PUT", "POST");
      return this.bootstrapRequest(context);
    }
    if (path === "/v1/acl/tokens") {
      requireMethod(method, "GET");
      return this.listTokens(context);
    }
    if (path === "/v1/acl/token") {
      requireMethod(method, "PUT", "POST");
      return this.upsertToken(context, "");
    }
    if (path === "/v1/acl/token/self") {
      requireMethod(method, "GET");
      return this.selfToken(context);
    }
    if (path.startsWith("/v1/acl/token/")) {
      const accessor = decodeURIComponent(path.slice("/v1/acl/token/".length));
      if (accessor === "") fail(400, "Missing Token Accessor");
      if (method === "GET") return this.readToken(context, accessor);
      if (method === "PUT" || method === "POST") return this.upsertToken(context, accessor);
      if (method === "DELETE") return this.deleteToken(context, accessor);
      fail(405, INVALID_METHOD);
    }
    if (path === "/v1/acl/policies") {
      requireMethod(method, "GET");
      return this.listPolicies(context);
    }
    if (path.startsWith("/v1/acl/policy/")) {
      const name = decodeURIComponent(path.slice("/v1/acl/policy/".length));
      if (name === "") fail(400, "Missing Policy Name");
      if (method === "GET") return this.readPolicy(context, name);
      if (method === "PUT" || method === "POST") return this.upsertPolicyRequest(context, name);
      if (method === "DELETE") return this.deletePolicy(context, name);
      fail(405, INVALID_METHOD);
    }
    if (rolesExist && path === "/v1/acl/roles") {
      requireMethod(method, "GET");
      return this.listRoles(context);
    }
    if (rolesExist && path === "/v1/acl/role") {
      requireMethod(method, "PUT", "POST");
      return this.upsertRole(context, "");
    }
    if (rolesExist && path.startsWith("/v1/acl/role/")) {
      const parts = path.slice("/v1/acl/role/".length).split("/").map(decodeURIComponent);
      if (parts.length === 1) {
        const id = parts[0] ?? "";
        if (id === "") fail(400, "missing ACL role ID");
        if (method === "GET") return this.readRole(context, this.roles.get(id), (role) => role.id === id);
        if (method === "DELETE") return this.deleteRoleRequest(context, id);
        if (method === "PUT" || method === "POST") return this.upsertRole(context, id);
        fail(405, INVALID_METHOD);
      }
      if (parts.length === 2) {
        requireMethod(method, "GET");
        if (parts[0] !== "name") fail(400, "invalid URI");
        const name = parts[1] ?? "";
        if (name === "") fail(400, "missing ACL role name");
        return this.readRole(context, this.roleByName(name), (role) => role.name === name);
      }
      fail(400, "invalid URI");
    }
    // Nomad's root fallthrough: 404 with an empty body.
    return { status: 404, text: "" };
  }

  // --- auth (nomad/auth/auth.go) ----------------------------------------------

  private resolveIdentity(secret: string): Identity {
    if (secret === "") return { kind: "anonymous" };
    // Non-UUID secrets are tried as workload-identity JWTs, which the fake never issues.
    if (!UUID.test(secret)) return { kind: "invalid" };
    const token = [...this.tokensByAccessor.values()].find((candidate) => candidate.secretId === secret);
    if (token === undefined) return { kind: "unknown" };
    if (isExpired(token, this.now())) return { kind: "expired" };
    return { kind: "token", token };
  }

  /**
   * Management-only RPCs (UpsertTokens, DeleteTokens, ListTokens, policy and role
   * writes) turn every authentication error into "Permission denied" (403).
   */
  private requireManagement(identity: Identity): StoredToken {
    if (identity.kind === "token" && identity.token.type === "management") return identity.token;
    return fail(403, PERMISSION_DENIED);
  }

  /** RPCs that return the authentication error itself (GetToken, WhoAmI). */
  private rawAuthError(identity: Identity): void {
    if (identity.kind === "expired") fail(500, TOKEN_EXPIRED); // not in http.go's suffix list → 500
    if (identity.kind === "unknown" || identity.kind === "invalid") fail(403, PERMISSION_DENIED);
  }

  // --- handlers ----------------------------------------------------------------

  private agentSelf(context: RequestContext): Reply {
    // The HTTP server resolves the token itself: unknown → ErrTokenNotFound (403 by
    // suffix), expired → ErrTokenExpired (500). Only management has agent:read here,
    // as the fake does not evaluate policy rules.
    const identity = context.identity;
    if (identity.kind === "expired") fail(500, TOKEN_EXPIRED);
    if (identity.kind === "unknown" || identity.kind === "invalid") fail(403, TOKEN_NOT_FOUND);
    if (identity.kind !== "token" || identity.token.type !== "management") fail(403, PERMISSION_DENIED);
    const [version, prerelease = ""] = this.version.split("-", 2);
    return {
      status: 200,
      json: {
        config: {
          Region: this.region,
          Datacenter: this.options.datacenter ?? "dc1",
          Version: { Revision: "fake", Version: version, VersionPrerelease: prerelease, VersionMetadata: "" },
          ACL: { Enabled: true },
        },
        member: {
          Name: `fake.${this.region}`,
          Addr: "127.0.0.1",
          Port: 4648,
          Tags: { build: this.version, region: this.region, role: "nomad" },
          Status: "alive",
        },
        stats: {},
      },
    };
  }

  private bootstrapRequest(context: RequestContext): Reply {
    let secret: string | undefined;
    if (context.body !== "") {
      const parsed = decodeJson(context.body, (error) => `failed to decode request body: ${error}`);
      const value = isRecord(parsed) ? parsed.BootstrapSecret : undefined;
      if (typeof value === "string" && value !== "") secret = value;
    }
    if (this.bootstrapIndex !== undefined) {
      fail(400, `ACL bootstrap already done (reset index: ${this.bootstrapIndex})`);
    }
    if (secret !== undefined && !UUID.test(secret)) fail(400, "invalid acl token");
    const token = this.bootstrapNow(secret);
    return { status: 200, json: this.tokenJson(token), index: token.modifyIndex };
  }

  private bootstrapNow(secret: string | undefined): StoredToken {
    const index = this.nextIndex();
    const token: StoredToken = {
      accessorId: randomUUID(),
      secretId: secret ?? randomUUID(),
      name: "Bootstrap Token",
      type: "management",
      policies: [],
      roleIds: [],
      global: true,
      createTimeMs: this.now(),
      expirationTimeMs: null,
      expirationTtlNs: 0,
      createIndex: index,
      modifyIndex: index,
    };
    this.tokensByAccessor.set(token.accessorId, token);
    this.bootstrapIndex = index;
    if (this.managementToken === undefined) this.managementToken = token.secretId;
    return token;
  }

  private listTokens(context: RequestContext): Reply {
    this.requireManagement(context.identity);
    const prefix = context.query.get("prefix") ?? "";
    const wantedName = nameFilter(context.query.get("filter"));
    const stubs = [...this.tokensByAccessor.values()]
      .filter((token) => token.accessorId.startsWith(prefix))
      .filter((token) => wantedName === undefined || token.name === wantedName)
      .sort((left, right) => left.createIndex - right.createIndex)
      .map((token) => {
        const { SecretID: _secret, ...stub } = this.tokenJson(token);
        return stub;
      });
    return { status: 200, json: stubs, index: this.raftIndex };
  }

  private selfToken(context: RequestContext): Reply {
    const identity = context.identity;
    this.rawAuthError(identity);
    if (identity.kind === "anonymous") {
      return {
        status: 200,
        json: {
          AccessorID: "anonymous",
          SecretID: "anonymous",
          Name: "Anonymous Token",
          Type: "client",
          Policies: ["anonymous"],
          Global: false,
          CreateTime: "0001-01-01T00:00:00Z",
          CreateIndex: 0,
          ModifyIndex: 0,
        },
      };
    }
    if (identity.kind !== "token") return fail(404, TOKEN_NOT_FOUND);
    return { status: 200, json: this.tokenJson(identity.token), index: identity.token.modifyIndex };
  }

  private readToken(context: RequestContext, accessor: string): Reply {
    const identity = context.identity;
    this.rawAuthError(identity);
    const isManagement = identity.kind === "token" && identity.token.type === "management";
    const token = this.tokensByAccessor.get(accessor);
    if (token === undefined) return fail(isManagement ? 404 : 403, isManagement ? TOKEN_NOT_FOUND : PERMISSION_DENIED);
    const ownToken = identity.kind === "token" && identity.token.secretId === token.secretId;
    if (!isManagement && !ownToken) fail(403, PERMISSION_DENIED);
    return { status: 200, json: this.tokenJson(token), index: token.modifyIndex };
  }

  private deleteToken(context: RequestContext, accessor: string): Reply {
    this.requireManagement(context.identity);
    if (!this.tokensByAccessor.has(accessor)) fail(400, `Cannot delete nonexistent tokens: ${accessor}`);
    this.tokensByAccessor.delete(accessor);
    return { status: 200, index: this.nextIndex() };
  }

  /** PUT /v1/acl/token (create) and PUT /v1/acl/token/:accessor (update). */
  private upsertToken(context: RequestContext, pathAccessor: string): Reply {
    const input = this.decodeToken(context.body);
    if (pathAccessor !== "" && input.accessorId !== pathAccessor) {
      fail(400, "ACL token accessor does not match request path");
    }
    // Authentication is checked after the HTTP-layer decoding, as in Nomad.
    this.requireManagement(context.identity);

    let existing: StoredToken | undefined;
    if (input.accessorId !== "") {
      existing = this.tokensByAccessor.get(input.accessorId);
      if (existing === undefined) fail(400, `cannot find token ${input.accessorId}`);
    }
    const modern = this.atLeast("1.4.0");
    const createTimeMs = existing?.createTimeMs ?? this.now();
    let expirationTimeMs = modern ? input.expirationTimeMs : null;
    const expirationTtlNs = modern ? input.expirationTtlNs : 0;
    if (existing === undefined && expirationTimeMs === null && expirationTtlNs !== 0) {
      expirationTimeMs = createTimeMs + expirationTtlNs / NS_PER_MS;
    }
    const roleLinks = modern ? input.roles : [];

    const problems: string[] = [];
    if (Buffer.byteLength(input.name) > MAX_TOKEN_NAME_BYTES) problems.push("token name too long");
    if (input.type === "client") {
      if (input.policies.length === 0 && roleLinks.length === 0) {
        problems.push(modern ? "client token missing policies or roles" : "client token missing policies");
      }
    } else if (input.type === "management") {
      if (input.policies.length !== 0 || roleLinks.length !== 0) {
        problems.push(
          modern
            ? "management token cannot be associated with policies or roles"
            : "management token cannot be associated with policies",
        );
      }
    } else {
      problems.push("token type must be client or management");
    }
    if (modern && existing === undefined) {
      if (expirationTtlNs < 0) {
        problems.push(`token expiration TTL '${formatGoDuration(expirationTtlNs)}' should not be negative`);
      }
      if (expirationTimeMs !== null) {
        if (createTimeMs > expirationTimeMs) problems.push("expiration time cannot be before create time");
        const expiresInNs = (expirationTimeMs - createTimeMs) * NS_PER_MS;
        const maxNs = (this.options.tokenMaxExpirationTtlMs ?? 24 * 3_600_000) * NS_PER_MS;
        const minNs = (this.options.tokenMinExpirationTtlMs ?? 60_000) * NS_PER_MS;
        if (expiresInNs > maxNs) {
          problems.push(
            `expiration time cannot be more than ${formatGoDuration(maxNs)} in the future (was ${formatGoDuration(expiresInNs)})`,
          );
        } else if (expiresInNs < minNs) {
          problems.push(
            `expiration time cannot be less than ${formatGoDuration(minNs)} in the future (was ${formatGoDuration(expiresInNs)})`,
          );
        }
      }
    } else if (modern && existing !== undefined) {
      if (existing.global !== input.global) problems.push("cannot toggle global mode");
      if (existing.expirationTtlNs !== input.expirationTtlNs) problems.push("cannot update expiration TTL");
      // Nomad compares the two *time.Time pointers, which differ whenever either is set.
      if (existing.expirationTimeMs !== null || input.expirationTimeMs !== null) {
        problems.push("cannot update expiration time");
      }
    } else if (existing !== undefined && existing.global !== input.global) {
      fail(400, `cannot toggle global mode of ${existing.accessorId}`);
    }
    if (problems.length > 0) fail(400, `token 0 invalid: ${goMultiError(problems)}`);

    const roleIds: string[] = [];
    for (const link of roleLinks) {
      const role = link.id === "" ? this.roleByName(link.name) : this.roles.get(link.id);
      if (role === undefined) fail(400, `cannot find role ${link.id === "" ? link.name : link.id}`);
      if (!roleIds.includes(role.id)) roleIds.push(role.id);
    }

    const index = this.nextIndex();
    const stored: StoredToken = {
      accessorId: existing?.accessorId ?? randomUUID(),
      secretId: existing === undefined ? randomUUID() : input.secretId || existing.secretId,
      name: input.name,
      type: input.type,
      policies: input.policies,
      roleIds,
      global: input.global,
      createTimeMs,
      expirationTimeMs: existing?.expirationTimeMs ?? expirationTimeMs,
      expirationTtlNs: existing?.expirationTtlNs ?? expirationTtlNs,
      createIndex: existing?.createIndex ?? index,
      modifyIndex: index,
    };
    this.tokensByAccessor.set(stored.accessorId, stored);
    return { status: 200, json: this.tokenJson(stored), index };
  }

  private decodeToken(body: string): {
    accessorId: string;
    secretId: string;
    name: string;
    type: string;
    policies: string[];
    roles: { id: string; name: string }[];
    global: boolean;
    expirationTtlNs: number;
    expirationTimeMs: number | null;
  } {
    if (body === "") fail(400, "Request body is empty");
    const raw = decodeJson(body, (error) => error);
    if (!isRecord(raw)) return fail(400, "json: cannot unmarshal into Go value of type structs.ACLToken");
    const text = (key: string): string => {
      const value = raw[key];
      if (value === undefined || value === null) return "";
      if (typeof value !== "string") {
        fail(400, `json: cannot unmarshal ${jsonKind(value)} into Go struct field ACLToken.${key} of type string`);
      }
      return value;
    };
    const policies = raw.Policies ?? null;
    if (policies !== null && (!Array.isArray(policies) || policies.some((item) => typeof item !== "string"))) {
      fail(400, "json: cannot unmarshal into Go struct field ACLToken.Policies of type []string");
    }
    const rolesRaw = raw.Roles ?? null;
    if (rolesRaw !== null && (!Array.isArray(rolesRaw) || rolesRaw.some((item) => !isRecord(item)))) {
      fail(400, "json: cannot unmarshal into Go struct field ACLToken.Roles of type []*structs.ACLTokenRoleLink");
    }
    const roles = ((rolesRaw ?? []) as Record<string, unknown>[]).map((link) => ({
      id: typeof link.ID === "string" ? link.ID : "",
      name: typeof link.Name === "string" ? link.Name : "",
    }));
    // ACLToken.UnmarshalJSON: a string is a Go duration, a number is nanoseconds, anything else is ignored.
    let expirationTtlNs = 0;
    const ttl = raw.ExpirationTTL;
    if (typeof ttl === "string" && ttl !== "") expirationTtlNs = parseGoDuration(ttl);
    else if (typeof ttl === "number") expirationTtlNs = Math.trunc(ttl);
    let expirationTimeMs: number | null = null;
    const expiration = raw.ExpirationTime;
    if (typeof expiration === "string") {
      const parsed = Date.parse(expiration);
      if (Number.isNaN(parsed)) {
        fail(400, `parsing time ${JSON.stringify(JSON.stringify(expiration))} as "\\"2006-01-02T15:04:05Z07:00\\"": cannot parse`);
      }
      // Go's zero time means "no expiration".
      expirationTimeMs = parsed <= Date.parse("0001-01-01T00:00:00Z") ? null : parsed;
    }
    const global = raw.Global;
    if (global !== undefined && global !== null && typeof global !== "boolean") {
      fail(400, "json: cannot unmarshal into Go struct field ACLToken.Global of type bool");
    }
    return {
      accessorId: text("AccessorID"),
      secretId: text("SecretID"),
      name: text("Name"),
      type: text("Type"),
      policies: (policies ?? []) as string[],
      roles,
      global: global === true,
      expirationTtlNs,
      expirationTimeMs,
    };
  }

  private listPolicies(context: RequestContext): Reply {
    const identity = context.identity;
    if (identity.kind === "expired" || identity.kind === "unknown" || identity.kind === "invalid") {
      fail(403, PERMISSION_DENIED);
    }
    const visible = identity.kind === "token" && identity.token.type !== "management" ? this.policyNamesOf(identity.token) : undefined;
    const stubs = [...this.policies.values()]
      .filter((policy) => visible === undefined ? identity.kind === "token" : visible.has(policy.name))
      .sort((left, right) => left.name.localeCompare(right.name))
      .map((policy) => ({
        Name: policy.name,
        Description: policy.description,
        Hash: hashOf(policy.name, policy.description, policy.rules),
        CreateIndex: policy.createIndex,
        ModifyIndex: policy.modifyIndex,
      }));
    return { status: 200, json: stubs, index: this.raftIndex };
  }

  private readPolicy(context: RequestContext, name: string): Reply {
    const identity = context.identity;
    if (identity.kind === "expired" || identity.kind === "unknown" || identity.kind === "invalid") {
      fail(403, PERMISSION_DENIED);
    }
    const isManagement = identity.kind === "token" && identity.token.type === "management";
    if (!isManagement && name !== "anonymous") {
      if (identity.kind !== "token" || !this.policyNamesOf(identity.token).has(name)) fail(403, PERMISSION_DENIED);
    }
    const policy = this.policies.get(name);
    if (policy === undefined) return fail(404, "ACL policy not found");
    return {
      status: 200,
      json: {
        Name: policy.name,
        Description: policy.description,
        Rules: policy.rules,
        Hash: hashOf(policy.name, policy.description, policy.rules),
        CreateIndex: policy.createIndex,
        ModifyIndex: policy.modifyIndex,
      },
      index: policy.modifyIndex,
    };
  }

  private upsertPolicyRequest(context: RequestContext, name: string): Reply {
    if (context.body === "") fail(400, "Request body is empty");
    const raw = decodeJson(context.body, (error) => error);
    const body = isRecord(raw) ? raw : {};
    if (body.Name !== name) fail(400, "ACL policy name does not match request path");
    this.requireManagement(context.identity);
    const description = typeof body.Description === "string" ? body.Description : "";
    const problems: string[] = [];
    if (!VALID_NAME.test(name)) problems.push(`invalid name '${name}'`);
    if (description.length > MAX_DESCRIPTION_LENGTH) problems.push(`description longer than ${MAX_DESCRIPTION_LENGTH}`);
    if (problems.length > 0) fail(400, `policy 0 invalid: ${goMultiError(problems)}`);
    this.upsertPolicy(name, typeof body.Rules === "string" ? body.Rules : "", description);
    return { status: 200, index: this.raftIndex };
  }

  private deletePolicy(context: RequestContext, name: string): Reply {
    this.requireManagement(context.identity);
    this.policies.delete(name);
    return { status: 200, index: this.nextIndex() };
  }

  private listRoles(context: RequestContext): Reply {
    const identity = context.identity;
    if (identity.kind === "expired" || identity.kind === "unknown" || identity.kind === "invalid") {
      fail(403, PERMISSION_DENIED);
    }
    const isManagement = identity.kind === "token" && identity.token.type === "management";
    const linked = identity.kind === "token" ? new Set(identity.token.roleIds) : new Set<string>();
    const roles = [...this.roles.values()]
      .filter((role) => isManagement || linked.has(role.id))
      .sort((left, right) => left.createIndex - right.createIndex)
      .map(roleJson);
    return { status: 200, json: roles, index: this.raftIndex };
  }

  private readRole(context: RequestContext, role: StoredRole | undefined, linkedTo: (role: StoredRole) => boolean): Reply {
    const identity = context.identity;
    if (identity.kind === "expired" || identity.kind === "unknown" || identity.kind === "invalid") {
      fail(403, PERMISSION_DENIED);
    }
    const isManagement = identity.kind === "token" && identity.token.type === "management";
    if (!isManagement) {
      if (identity.kind !== "token") fail(403, PERMISSION_DENIED);
      const linkedRoles = identity.token.roleIds.map((id) => this.roles.get(id)).filter((item) => item !== undefined);
      if (!linkedRoles.some(linkedTo)) fail(403, PERMISSION_DENIED);
    }
    if (role === undefined) return fail(404, "ACL role not found");
    return { status: 200, json: roleJson(role), index: role.modifyIndex };
  }

  private upsertRole(context: RequestContext, pathId: string): Reply {
    if (context.body === "") fail(400, "Request body is empty");
    const raw = decodeJson(context.body, (error) => error);
    const body = isRecord(raw) ? raw : {};
    const id = typeof body.ID === "string" ? body.ID : "";
    if (pathId !== "" && pathId !== id) fail(400, "ACL role ID does not match request path");
    this.requireManagement(context.identity);
    const name = typeof body.Name === "string" ? body.Name : "";
    const description = typeof body.Description === "string" ? body.Description : "";
    const links = Array.isArray(body.Policies) ? body.Policies.filter(isRecord) : [];
    const problems: string[] = [];
    if (!VALID_NAME.test(name)) problems.push(`invalid name '${name}'`);
    if (description.length > MAX_DESCRIPTION_LENGTH) problems.push(`description longer than ${MAX_DESCRIPTION_LENGTH}`);
    if (links.length < 1) problems.push("at least one policy should be specified");
    if (problems.length > 0) fail(400, `role 0 invalid: ${goMultiError(problems)}`);
    if (id === "") {
      if (this.roleByName(name) !== undefined) fail(400, `role with name ${name} already exists`);
    } else if (!this.roles.has(id)) {
      fail(400, `cannot find role ${id}`);
    }
    const policies: string[] = [];
    for (const link of links) {
      const policyName = typeof link.Name === "string" ? link.Name : "";
      if (!this.policies.has(policyName)) fail(400, `cannot find policy ${policyName}`);
      if (!policies.includes(policyName)) policies.push(policyName);
    }
    const index = this.nextIndex();
    const existing = id === "" ? undefined : this.roles.get(id);
    const role: StoredRole = {
      id: existing?.id ?? randomUUID(),
      name,
      description,
      policies,
      createIndex: existing?.createIndex ?? index,
      modifyIndex: index,
    };
    this.roles.set(role.id, role);
    return { status: 200, json: roleJson(role), index };
  }

  private deleteRoleRequest(context: RequestContext, id: string): Reply {
    this.requireManagement(context.identity);
    // The state store's error is not an RPC-coded one, so it surfaces as 500 (unverified live).
    if (!this.roles.delete(id)) fail(500, "ACL role not found");
    return { status: 200, index: this.nextIndex() };
  }

  // --- helpers -------------------------------------------------------------------

  private tokenJson(token: StoredToken): FakeTokenJson {
    const modern = this.atLeast("1.4.0");
    const links = token.roleIds
      .map((id) => this.roles.get(id))
      .filter((role) => role !== undefined)
      .map((role) => ({ ID: role.id, Name: role.name }));
    const json: FakeTokenJson = {
      AccessorID: token.accessorId,
      SecretID: token.secretId,
      Name: token.name,
      Type: token.type,
      // Go marshals nil slices as null.
      Policies: token.policies.length === 0 ? null : [...token.policies],
      Global: token.global,
      Hash: hashOf(token.name, token.type, ...token.policies, String(token.global), ...token.roleIds),
      CreateTime: new Date(token.createTimeMs).toISOString(),
      CreateIndex: token.createIndex,
      ModifyIndex: token.modifyIndex,
    };
    if (modern) {
      json.Roles = links.length === 0 ? null : links;
      json.ExpirationTime = token.expirationTimeMs === null ? null : new Date(token.expirationTimeMs).toISOString();
      json.ExpirationTTL = token.expirationTtlNs === 0 ? "" : formatGoDuration(token.expirationTtlNs);
    }
    return json;
  }

  private policyNamesOf(token: StoredToken): Set<string> {
    const names = new Set(token.policies);
    for (const id of token.roleIds) for (const policy of this.roles.get(id)?.policies ?? []) names.add(policy);
    return names;
  }

  private roleByName(name: string): StoredRole | undefined {
    return [...this.roles.values()].find((role) => role.name === name);
  }

  private nextIndex(): number {
    this.raftIndex += 1;
    return this.raftIndex;
  }

  private atLeast(minimum: string): boolean {
    const have = this.version.split("-")[0]?.split(".").map(Number) ?? [];
    const want = minimum.split(".").map(Number);
    for (let index = 0; index < 3; index++) {
      const difference = (have[index] ?? 0) - (want[index] ?? 0);
      if (difference !== 0) return difference > 0;
    }
    return true;
  }
}

/** Starts a fake on 127.0.0.1 with a random port; `managementToken` is set unless `bootstrapped: false`. */
export async function startNomadFake(options: NomadFakeOptions = {}): Promise<NomadFake> {
  return new NomadFake(options).start();
}

// ---------------------------------------------------------------------------
// Go formatting helpers

/** hashicorp/go-multierror's default list format, as Nomad's validation errors read. */
export function goMultiError(problems: readonly string[]): string {
  if (problems.length === 1) return `1 error occurred:\n\t* ${problems[0]}\n\n`;
  return `${problems.length} errors occurred:\n\t${problems.map((problem) => `* ${problem}`).join("\n\t")}\n\n`;
}

/** Go's time.Duration.String() for a nanosecond count. */
export function formatGoDuration(nanoseconds: number): string {
  if (nanoseconds === 0) return "0s";
  const sign = nanoseconds < 0 ? "-" : "";
  let rest = Math.abs(Math.trunc(nanoseconds));
  if (rest < 1_000) return `${sign}${rest}ns`;
  if (rest < 1_000_000_000) {
    const [scale, unit] = rest < 1_000_000 ? [1_000, "µs"] : [1_000_000, "ms"];
    return `${sign}${withFraction(Math.floor(rest / scale), rest % scale, String(scale).length - 1)}${unit}`;
  }
  const hours = Math.floor(rest / 3_600_000_000_000);
  rest -= hours * 3_600_000_000_000;
  const minutes = Math.floor(rest / 60_000_000_000);
  rest -= minutes * 60_000_000_000;
  const seconds = withFraction(Math.floor(rest / 1_000_000_000), rest % 1_000_000_000, 9);
  let text = "";
  if (hours > 0) text += `${hours}h`;
  if (hours > 0 || minutes > 0) text += `${minutes}m`;
  return `${sign}${text}${seconds}s`;
}

function withFraction(whole: number, fraction: number, digits: number): string {
  if (fraction === 0) return String(whole);
  return `${whole}.${String(fraction).padStart(digits, "0").replace(/0+$/, "")}`;
}

const DURATION_UNITS: Record<string, number> = {
  ns: 1,
  us: 1_000,
  "µs": 1_000,
  "μs": 1_000,
  ms: 1_000_000,
  s: 1_000_000_000,
  m: 60_000_000_000,
  h: 3_600_000_000_000,
};

/** Go's time.ParseDuration, throwing HttpFailure(400) with Go's error text. */
export function parseGoDuration(text: string): number {
  const quoted = JSON.stringify(text);
  let rest = text;
  let sign = 1;
  if (rest.startsWith("-") || rest.startsWith("+")) {
    sign = rest.startsWith("-") ? -1 : 1;
    rest = rest.slice(1);
  }
  if (rest === "0") return 0;
  if (rest === "") fail(400, `time: invalid duration ${quoted}`);
  let total = 0;
  while (rest !== "") {
    const number = /^(\d*)(?:\.(\d*))?/.exec(rest);
    const whole = number?.[1] ?? "";
    const fraction = number?.[2];
    if (whole === "" && (fraction === undefined || fraction === "")) fail(400, `time: invalid duration ${quoted}`);
    rest = rest.slice(number?.[0].length ?? 0);
    const unit = /^[^\d.]+/.exec(rest)?.[0];
    if (unit === undefined) fail(400, `time: missing unit in duration ${quoted}`);
    const scale = DURATION_UNITS[unit];
    if (scale === undefined) fail(400, `time: unknown unit ${JSON.stringify(unit)} in duration ${quoted}`);
    rest = rest.slice(unit.length);
    total += Number(whole || "0") * scale + Math.round(Number(`0.${fraction ?? "0"}`) * scale);
  }
  return sign * total;
}

// ---------------------------------------------------------------------------
// Small private helpers

function routeOf(method: string, path: string): string {
  let pattern = path;
  if (/^\/v1\/acl\/token\/.+/.test(path) && path !== "/v1/acl/token/self") pattern = "/v1/acl/token/:accessor";
  else if (/^\/v1\/acl\/policy\/.+/.test(path)) pattern = "/v1/acl/policy/:name";
  else if (/^\/v1\/acl\/role\/name\/.+/.test(path)) pattern = "/v1/acl/role/name/:name";
  else if (/^\/v1\/acl\/role\/.+/.test(path)) pattern = "/v1/acl/role/:id";
  return `${method} ${pattern}`;
}

function matches(match: RequestMatch, method: string, path: string, route: string): boolean {
  if (match.method !== undefined && match.method.toUpperCase() !== method) return false;
  if (match.path === undefined) return true;
  if (match.path instanceof RegExp) return match.path.test(path);
  return match.path === path || `${method} ${match.path}` === route;
}

function takeFault<T extends RequestMatch & { times?: number }>(
  faults: T[],
  method: string,
  path: string,
  route: string,
): T | undefined {
  const index = faults.findIndex((fault) => matches(fault, method, path, route));
  if (index < 0) return undefined;
  const fault = faults[index] as T;
  const remaining = (fault.times ?? 1) - 1;
  if (remaining <= 0) faults.splice(index, 1);
  else fault.times = remaining;
  return fault;
}

/** command/agent/http.go parseToken: X-Nomad-Token wins, else "Bearer <value>". */
function parseToken(headers: http.IncomingHttpHeaders): { secret: string; source: RecordedRequest["tokenSource"] } {
  const nomadHeader = headers["x-nomad-token"];
  const nomadToken = (Array.isArray(nomadHeader) ? nomadHeader[0] : nomadHeader) ?? "";
  if (nomadToken !== "") return { secret: nomadToken.trim(), source: "x-nomad-token" };
  const authorization = headers.authorization ?? "";
  const parts = authorization.split(" ");
  if (parts.length > 1 && parts[0]?.toLowerCase() === "bearer") {
    const value = parts.slice(1).join(" ").trim();
    return { secret: (value.split(" ")[0] ?? "").trim(), source: "authorization-bearer" };
  }
  return { secret: "", source: "none" };
}

function clientCertificateCn(socket: Socket): string | undefined {
  const tlsSocket = socket as Partial<TLSSocket>;
  if (typeof tlsSocket.getPeerCertificate !== "function") return undefined;
  const subject = tlsSocket.getPeerCertificate().subject as Record<string, unknown> | undefined;
  const commonName = subject?.CN;
  return typeof commonName === "string" ? commonName : undefined;
}

function requireMethod(method: string, ...allowed: string[]): void {
  if (!allowed.includes(method)) fail(405, INVALID_METHOD);
}

function writeReply(response: http.ServerResponse, reply: Reply): void {
  if (response.destroyed) return;
  for (const [name, value] of Object.entries(reply.headers ?? {})) response.setHeader(name, value);
  if (reply.index !== undefined) response.setHeader("X-Nomad-Index", String(reply.index));
  if (reply.json !== undefined) {
    response.setHeader("Content-Type", "application/json");
    response.writeHead(reply.status);
    response.end(JSON.stringify(reply.json));
    return;
  }
  const text = reply.text ?? "";
  // Go's ResponseWriter sniffs the error text as text/plain.
  if (text !== "" && !response.hasHeader("Content-Type")) response.setHeader("Content-Type", "text/plain; charset=utf-8");
  response.writeHead(reply.status);
  response.end(text);
}

async function readBody(request: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of request) chunks.push(chunk as Buffer);
  } catch {
    // A client that hung up mid-body gets no answer anyway.
  }
  return Buffer.concat(chunks).toString("utf8");
}

function decodeJson(body: string, describeError: (message: string) => string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch (error) {
    return fail(400, describeError(error instanceof Error ? error.message : String(error)));
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function jsonKind(value: unknown): string {
  if (Array.isArray(value)) return "array";
  return typeof value === "object" ? "object" : typeof value;
}

function isExpired(token: StoredToken, now: number): boolean {
  return token.expirationTimeMs !== null && token.expirationTimeMs < now;
}

function roleJson(role: StoredRole): FakeRoleJson {
  return {
    ID: role.id,
    Name: role.name,
    Description: role.description,
    Policies: role.policies.map((name) => ({ Name: name })),
    Hash: hashOf(role.name, role.description, ...role.policies),
    CreateIndex: role.createIndex,
    ModifyIndex: role.modifyIndex,
  };
}

function hashOf(...parts: string[]): string {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(part);
  return hash.digest("base64");
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

// ---------------------------------------------------------------------------
// TLS material for tests: a CA, a server leaf for localhost/127.0.0.1 and a client leaf.

export interface TestPki {
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** How the material was made, so a test can name the path it exercised. */
  madeWith: "openssl" | "node";
}

let opensslAvailable: boolean | undefined;

export function hasOpenssl(): boolean {
  if (opensslAvailable === undefined) {
    try {
      execFileSync("openssl", ["version"], { stdio: "ignore" });
      opensslAvailable = true;
    } catch {
      opensslAvailable = false;
    }
  }
  return opensslAvailable;
}

/** Makes fresh test certificates with the openssl CLI when present, else with node:crypto. */
export function makeTestPki(prefer: "openssl" | "node" = hasOpenssl() ? "openssl" : "node"): TestPki {
  return prefer === "openssl" ? makePkiWithOpenssl() : makePkiWithNode();
}

function makePkiWithOpenssl(): TestPki {
  const directory = mkdtempSync(join(tmpdir(), "nomad-fake-pki-"));
  const at = (name: string) => join(directory, name);
  const run = (...args: string[]) => execFileSync("openssl", args, { stdio: "pipe" });
  try {
    const ecKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    run("req", "-x509", ...ecKey, "-keyout", at("ca.key"), "-out", at("ca.pem"), "-days", "2", "-subj", "/CN=Nomad Fake Test CA",
      "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
    const leaf = (name: string, subject: string, extensions: string, serial: string) => {
      writeFileSync(at(`${name}.ext`), extensions);
      run("req", ...ecKey, "-keyout", at(`${name}.key`), "-out", at(`${name}.csr`), "-subj", subject);
      run("x509", "-req", "-in", at(`${name}.csr`), "-CA", at("ca.pem"), "-CAkey", at("ca.key"), "-set_serial", serial,
        "-days", "2", "-out", at(`${name}.pem`), "-extfile", at(`${name}.ext`));
    };
    leaf("server", "/CN=server.global.nomad", "subjectAltName=DNS:localhost,DNS:server.global.nomad,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n", "2");
    leaf("client", "/CN=vault-nomad-plugin", "extendedKeyUsage=clientAuth\n", "3");
    const read = (name: string) => readFileSync(at(name), "utf8");
    return {
      caCert: read("ca.pem"),
      serverCert: read("server.pem"),
      serverKey: read("server.key"),
      clientCert: read("client.pem"),
      clientKey: read("client.key"),
      madeWith: "openssl",
    };
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

function makePkiWithNode(): TestPki {
  const ca = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const server = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const client = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const caName = "Nomad Fake Test CA";
  const caCert = buildCertificate({ subject: caName, issuer: caName, publicKey: ca.publicKey, signer: ca.privateKey, isCa: true });
  const serverCert = buildCertificate({
    subject: "server.global.nomad",
    issuer: caName,
    publicKey: server.publicKey,
    signer: ca.privateKey,
    isCa: false,
    dnsNames: ["localhost", "server.global.nomad"],
    ipAddresses: ["127.0.0.1"],
  });
  const clientCert = buildCertificate({
    subject: "vault-nomad-plugin",
    issuer: caName,
    publicKey: client.publicKey,
    signer: ca.privateKey,
    isCa: false,
  });
  const pkcs8 = (key: KeyObject) => key.export({ type: "pkcs8", format: "pem" }).toString();
  return {
    caCert,
    serverCert,
    serverKey: pkcs8(server.privateKey),
    clientCert,
    clientKey: pkcs8(client.privateKey),
    madeWith: "node",
  };
}

// Minimal DER encoding of an X.509 v3 certificate signed with ECDSA P-256/SHA-256,
// because node:crypto verifies certificates but cannot issue them.
interface CertificateSpec {
  subject: string;
  issuer: string;
  publicKey: KeyObject;
  signer: KeyObject;
  isCa: boolean;
  dnsNames?: string[];
  ipAddresses?: string[];
}

function buildCertificate(spec: CertificateSpec): string {
  const ecdsaWithSha256 = sequence(objectId("1.2.840.10045.4.3.2"));
  const now = Date.now();
  const extensions: Buffer[] = [
    extension("2.5.29.19", true, sequence(...(spec.isCa ? [der(0x01, Buffer.from([0xff]))] : []))),
  ];
  const altNames = [
    ...(spec.dnsNames ?? []).map((name) => der(0x82, Buffer.from(name, "ascii"))),
    ...(spec.ipAddresses ?? []).map((ip) => der(0x87, Buffer.from(ip.split(".").map(Number)))),
  ];
  if (altNames.length > 0) extensions.push(extension("2.5.29.17", false, sequence(...altNames)));
  const serial = randomBytes(16);
  serial[0] = (serial[0] ?? 0) & 0x7f;
  const tbs = sequence(
    der(0xa0, integer(Buffer.from([2]))),
    integer(serial),
    ecdsaWithSha256,
    distinguishedName(spec.issuer),
    sequence(utcTime(new Date(now - 3_600_000)), utcTime(new Date(now + 2 * 86_400_000))),
    distinguishedName(spec.subject),
    spec.publicKey.export({ type: "spki", format: "der" }),
    der(0xa3, sequence(...extensions)),
  );
  const signature = sign("sha256", tbs, spec.signer);
  const certificate = sequence(tbs, ecdsaWithSha256, der(0x03, Buffer.concat([Buffer.from([0]), signature])));
  const base64 = certificate.toString("base64").replace(/.{64}/g, "$&\n").replace(/\n$/, "");
  return `-----BEGIN CERTIFICATE-----\n${base64}\n-----END CERTIFICATE-----\n`;
}

function der(tag: number, ...contents: Buffer[]): Buffer {
  const body = Buffer.concat(contents);
  let length: Buffer;
  if (body.length < 0x80) {
    length = Buffer.from([body.length]);
  } else {
    const bytes: number[] = [];
    for (let rest = body.length; rest > 0; rest >>= 8) bytes.unshift(rest & 0xff);
    length = Buffer.from([0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([Buffer.from([tag]), length, body]);
}

function sequence(...contents: Buffer[]): Buffer {
  return der(0x30, ...contents);
}

function integer(value: Buffer): Buffer {
  return der(0x02, (value[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), value]) : value);
}

function objectId(dotted: string): Buffer {
  const [first = 0, second = 0, ...rest] = dotted.split(".").map(Number);
  const bytes = [first * 40 + second];
  for (const arc of rest) {
    const encoded = [arc & 0x7f];
    for (let value = arc >> 7; value > 0; value >>= 7) encoded.unshift((value & 0x7f) | 0x80);
    bytes.push(...encoded);
  }
  return der(0x06, Buffer.from(bytes));
}

function distinguishedName(commonName: string): Buffer {
  return sequence(der(0x31, sequence(objectId("2.5.4.3"), der(0x0c, Buffer.from(commonName, "utf8")))));
}

function utcTime(date: Date): Buffer {
  const iso = date.toISOString(); // 2026-01-02T03:04:05.678Z
  const text = `${iso.slice(2, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  return der(0x17, Buffer.from(text, "ascii"));
}

function extension(oid: string, critical: boolean, value: Buffer): Buffer {
  return sequence(objectId(oid), ...(critical ? [der(0x01, Buffer.from([0xff]))] : []), der(0x04, value));
}
