// The real NomadClient over real HTTP against the Nomad fake.
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Pool } from "undici";
import PoolClass from "undici/lib/dispatcher/pool.js";
import poolRequest from "undici/lib/api/api-request.js";
import { ErrorCode, PluginError } from "../../src/shared/errors.ts";
import { memoryLogger } from "../../src/shared/log.ts";
import {
  DEFAULT_MAX_CONNECTIONS,
  mergeNomadConfig,
  nomadConfigFromEnv,
  nomadFailureDetail,
  NomadClient,
  supportsRolesAndExpiration,
  validateAccessConfig,
  validateNomadAddress,
  type NomadCallRecord,
  type NomadClientConfig,
} from "../../src/nomad-client/index.ts";
import { backoffDelayMs } from "../../src/nomad-client/retry.ts";
import { DEFAULT_RETRY_POLICY } from "../../src/nomad-client/config.ts";
import { makeTestPki, startNomadFake, type NomadFake, type NomadFakeOptions, type TestPki } from "../support/nomad-fake.ts";

const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function fake(options: NomadFakeOptions = {}): Promise<NomadFake> {
  const started = await startNomadFake(options);
  cleanups.push(() => started.stop());
  return started;
}

/** Records backoff waits instead of sleeping; `onSleep` lets a test act between attempts. */
function instantRetry(onSleep?: (ms: number) => Promise<void> | void): { delays: number[]; retry: NomadClientConfig["retry"] } {
  const delays: number[] = [];
  return {
    delays,
    retry: {
      random: () => 0.5,
      sleep: async (ms) => {
        delays.push(ms);
        await onSleep?.(ms);
      },
    },
  };
}

function client(config: NomadClientConfig): NomadClient {
  const created = new NomadClient(config);
  cleanups.push(() => created.close());
  return created;
}

async function failureOf(promise: Promise<unknown>): Promise<PluginError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof PluginError) return error;
    throw new Error(`expected a PluginError, got ${String(error)}`);
  }
  throw new Error("expected the call to fail");
}

describe("token lifecycle", () => {
  it("creates, reads and deletes a token; a second delete reports it already gone", async () => {
    const nomad = await fake();
    const nomadClient = client({ address: nomad.url, token: nomad.managementToken ?? "" });

    const created = await nomadClient.createToken({ name: "vault-app-1", type: "client", policies: ["app"] });
    expect(created).toMatchObject({ Name: "vault-app-1", Type: "client", Policies: ["app"], Roles: [], Global: false });
    expect(created.SecretID).not.toBe("");
    expect(nomad.hasToken(created.AccessorID)).toBe(true);

    const read = await nomadClient.readToken(created.AccessorID);
    expect(read?.SecretID).toBe(created.SecretID);

    expect(await nomadClient.deleteToken(created.AccessorID)).toEqual({ alreadyGone: false });
    expect(nomad.hasToken(created.AccessorID)).toBe(false);
    expect(await nomadClient.deleteToken(created.AccessorID)).toEqual({ alreadyGone: true });
    expect(await nomadClient.readToken(created.AccessorID)).toBeUndefined();
    expect(nomad.issuedTokens()).toEqual([]);
  });

  it("links ACL roles by name and sets a Nomad-side expiry", async () => {
    const nomad = await fake();
    nomad.upsertPolicy("ops");
    const role = nomad.createRole("operators", ["ops"]);
    const nomadClient = client({ address: nomad.url, token: nomad.managementToken ?? "" });

    const token = await nomadClient.createToken({
      name: "vault-ops",
      type: "client",
      roles: ["operators"],
      expirationTTLSeconds: 3600,
    });
    expect(token.Roles).toEqual([{ ID: role.ID, Name: "operators" }]);
    expect(token.Policies).toEqual([]);
    expect(token.ExpirationTTL).toBe("1h0m0s");
    expect(Date.parse(token.ExpirationTime ?? "") - Date.parse(token.CreateTime)).toBe(3_600_000);
  });

  it("creates a management token and lists tokens without secrets", async () => {
    const nomad = await fake();
    const nomadClient = client({ address: nomad.url, token: nomad.managementToken ?? "" });
    await nomadClient.createToken({ name: "vault-admin", type: "management", global: true });
    const stubs = await nomadClient.listTokens();
    expect(stubs.map((stub) => [stub.Name, stub.Type, stub.Global])).toEqual([
      ["Bootstrap Token", "management", true],
      ["vault-admin", "management", true],
    ]);
    expect(stubs.every((stub) => !("SecretID" in stub))).toBe(true);
  });

  it("reads its own token and the leader", async () => {
    const nomad = await fake();
    const nomadClient = client({ address: nomad.url, token: nomad.managementToken ?? "" });
    expect((await nomadClient.selfToken()).Name).toBe("Bootstrap Token");
    expect(await nomadClient.statusLeader()).toBe("127.0.0.1:4647");
  });

  it("treats Nomad's 404 'not found' on delete as gone, but not a bare 404 from something else", async () => {
    const nomad = await fake();
    const nomadClient = client({ address: nomad.url, token: nomad.managementToken ?? "", retry: instantRetry().retry });
    const accessor = nomad.issueToken().AccessorID;
    nomad.failNext({ method: "DELETE", path: "/v1/acl/token/:accessor", status: 404, body: "ACL token not found" });
    expect(await nomadClient.deleteToken(accessor)).toEqual({ alreadyGone: true });
    nomad.failNext({ method: "DELETE", path: "/v1/acl/token/:accessor", status: 404, body: "" });
    const error = await failureOf(nomadClient.deleteToken(accessor));
    expect(error.message).toBe(`Nomad API error: DELETE /v1/acl/token/${accessor} returned 404: Not Found`);
    expect(nomad.hasToken(accessor)).toBe(true);
  });
});

describe("call observation", () => {
  it("reports each finished call once, by route, failed only when the method threw", async () => {
    const nomad = await fake();
    const calls: NomadCallRecord[] = [];
    const nomadClient = client({
      address: nomad.url,
      token: nomad.managementToken ?? "",
      retry: instantRetry().retry,
      onCall: (call) => calls.push(call),
    });
    const token = await nomadClient.createToken({ name: "observed", type: "client", policies: ["p"] });
    await nomadClient.deleteToken(token.AccessorID);
    await nomadClient.deleteToken(token.AccessorID);
    nomad.failNext({ method: "GET", status: 503, times: 5 });
    await failureOf(nomadClient.listTokens());
    expect(calls.map(({ durationMs: _ignored, ...call }) => call)).toEqual([
      { method: "PUT", route: "/v1/acl/token", status: 200, attempts: 1, failed: false },
      { method: "DELETE", route: "/v1/acl/token/:accessor", status: 200, attempts: 1, failed: false },
      { method: "DELETE", route: "/v1/acl/token/:accessor", status: 400, attempts: 1, failed: false },
      { method: "GET", route: "/v1/acl/tokens", status: 503, attempts: 5, failed: true },
    ]);
  });

  it("keeps a call's result when the observer throws", async () => {
    const nomad = await fake();
    const nomadClient = client({
      address: nomad.url,
      token: nomad.managementToken ?? "",
      onCall: () => {
        throw new Error("observer bug");
      },
    });
    expect((await nomadClient.selfToken()).Name).toBe("Bootstrap Token");
  });
});

describe("bootstrap, roles and versions", () => {
  it("bootstraps once; the second call fails with Nomad's 400", async () => {
    const nomad = await fake({ bootstrapped: false });
    const anonymous = client({ address: nomad.url });
    const token = await anonymous.bootstrap();
    expect(token).toMatchObject({ Name: "Bootstrap Token", Type: "management" });
    const again = await failureOf(anonymous.bootstrap());
    expect(again.code).toBe(ErrorCode.NomadApi);
    expect(again.httpStatus).toBe(400);
    expect(again.message).toBe(
      `Nomad API error: PUT /v1/acl/bootstrap returned 400: ACL bootstrap already done (reset index: ${token.CreateIndex})`,
    );
    expect(nomad.requestCount({ path: "/v1/acl/bootstrap" })).toBe(2);
  });

  it("bootstraps with a chosen secret", async () => {
    const nomad = await fake({ bootstrapped: false });
    const secret = "6c5ff31b-0f7b-4a1b-9a53-0d6c2d9c1f11";
    const token = await client({ address: nomad.url }).bootstrap(secret);
    expect(token.SecretID).toBe(secret);
  });

  it("reads a role by name, and undefined when there is none", async () => {
    const nomad = await fake();
    nomad.upsertPolicy("ops");
    nomad.createRole("operators", ["ops"]);
    const nomadClient = client({ address: nomad.url, token: nomad.managementToken ?? "" });
    expect(await nomadClient.readRoleByName("operators")).toMatchObject({ Name: "operators", Policies: [{ Name: "ops" }] });
    expect(await nomadClient.readRoleByName("ghost")).toBeUndefined();
  });

  it("fails rather than answering 'no role' when the server has no role endpoints (< 1.4)", async () => {
    const nomad = await fake({ version: "1.3.16" });
    const nomadClient = client({ address: nomad.url, token: nomad.managementToken ?? "" });
    const error = await failureOf(nomadClient.readRoleByName("operators"));
    expect(error.httpStatus).toBe(404);
  });

  it.each([
    ["1.3.16", "1.3.16", false],
    ["1.4.0", "1.4.0", true],
    ["1.7.0-beta.1", "1.7.0", true],
    ["2.0.5", "2.0.5", true],
  ])("learns version %s from /v1/agent/self", async (reported, core, modern) => {
    const nomad = await fake({ version: reported, region: "europe" });
    const self = await client({ address: nomad.url, token: nomad.managementToken ?? "" }).agentSelf();
    expect(self).toMatchObject({ version: core, fullVersion: reported, region: "europe" });
    expect(supportsRolesAndExpiration(self.version)).toBe(modern);
  });
});

describe("Nomad errors", () => {
  it("reports a 403 with Nomad's text and without the token that was refused", async () => {
    const nomad = await fake();
    const wrongToken = "0d3b8cf5-5f55-4e1b-a7a3-33e3c1f5e0aa";
    const error = await failureOf(
      client({ address: nomad.url, token: wrongToken }).createToken({ name: "x", type: "client", policies: ["p"] }),
    );
    expect(error.code).toBe(ErrorCode.NomadApi);
    expect(error.httpStatus).toBe(403);
    expect(error.message).toBe("Nomad API error: PUT /v1/acl/token returned 403: Permission denied");
  });

  it("puts Nomad's validation text on one line", async () => {
    const nomad = await fake();
    const nomadClient = client({ address: nomad.url, token: nomad.managementToken ?? "" });
    const tooLong = await failureOf(nomadClient.createToken({ name: "n".repeat(300), type: "client", policies: ["p"] }));
    expect(tooLong.httpStatus).toBe(400);
    expect(tooLong.message).toBe(
      "Nomad API error: PUT /v1/acl/token returned 400: token 0 invalid: 1 error occurred: * token name too long",
    );
    const ttl = await failureOf(
      nomadClient.createToken({ name: "x", type: "client", policies: ["p"], expirationTTLSeconds: 2 * 86_400 }),
    );
    expect(ttl.message).toContain("expiration time cannot be more than 24h0m0s in the future (was 48h0m0s)");
    const role = await failureOf(nomadClient.createToken({ name: "x", type: "client", roles: ["ghost"] }));
    expect(role.message).toBe("Nomad API error: PUT /v1/acl/token returned 400: cannot find role ghost");
    expect(nomad.issuedTokens()).toEqual([]);
  });

  it("never puts the management token or another secret in a message, but keeps the caller's accessor", async () => {
    const nomad = await fake();
    const management = nomad.managementToken ?? "";
    const someoneElsesSecret = nomad.issueToken().SecretID;
    const accessor = nomad.issueToken().AccessorID;
    nomad.failNext({
      method: "DELETE",
      status: 500,
      body: `rpc error: token ${management} and ${someoneElsesSecret} could not delete ${accessor}`,
      times: 5,
    });
    const nomadClient = client({ address: nomad.url, token: management, retry: instantRetry().retry });
    const error = await failureOf(nomadClient.deleteToken(accessor));
    expect(error.message).toContain(accessor);
    expect(error.message).not.toContain(management);
    expect(error.message).not.toContain(someoneElsesSecret);
    expect(error.message).toContain("<redacted>");
    expect(nomadFailureDetail(error)?.body).not.toContain(management);
  });

  it("masks a non-UUID management token and basic-auth password echoed back", async () => {
    const nomad = await fake();
    const oddToken = "legacy-token-value-123";
    nomad.failNext({ status: 500, body: `bad token legacy-token-value-123 with hunter2-password`, times: 3 });
    const nomadClient = client({
      address: nomad.url,
      token: oddToken,
      httpAuth: "vault:hunter2-password",
      retry: instantRetry().retry,
    });
    const error = await failureOf(nomadClient.listTokens());
    expect(error.message).not.toContain(oddToken);
    expect(error.message).not.toContain("hunter2-password");
  });

  it("reports an answer of the wrong shape as a Nomad API error", async () => {
    const nomad = await fake();
    nomad.failNext({ path: "/v1/acl/token/self", status: 200, body: "{}" });
    const error = await failureOf(client({ address: nomad.url, token: nomad.managementToken ?? "" }).selfToken());
    expect(error.code).toBe(ErrorCode.NomadApi);
    expect(error.message).toMatch(/^Nomad API error: GET \/v1\/acl\/token\/self returned an unexpected response: /);
  });

  it("refuses to build with an invalid address or TLS material", () => {
    expect(() => new NomadClient({ address: "127.0.0.1:4646" })).toThrow(PluginError);
    expect(() => new NomadClient({ address: "ftp://nomad" })).toThrow(/must use http:\/\/ or https:\/\//);
    expect(() => new NomadClient({ address: "https://nomad:4646", caCert: "not a cert" })).toThrow(
      /ca_cert contains no PEM "CERTIFICATE" block/,
    );
  });
});

describe("retries", () => {
  it("retries DELETE on 503 with growing, jittered delays, then succeeds", async () => {
    const nomad = await fake();
    const accessor = nomad.issueToken().AccessorID;
    nomad.failNext({ method: "DELETE", status: 503, body: "No cluster leader", times: 2 });
    const { delays, retry } = instantRetry();
    const nomadClient = client({ address: nomad.url, token: nomad.managementToken ?? "", retry });
    expect(await nomadClient.deleteToken(accessor)).toEqual({ alreadyGone: false });
    expect(nomad.requestCount({ method: "DELETE" })).toBe(3);
    expect(delays).toEqual([150, 300]);
  });

  it("gives up after the configured attempts and says how many it made", async () => {
    const nomad = await fake();
    const accessor = nomad.issueToken().AccessorID;
    nomad.failNext({ method: "DELETE", status: 503, body: "No cluster leader", times: 10 });
    const nomadClient = client({
      address: nomad.url,
      token: nomad.managementToken ?? "",
      retry: { ...instantRetry().retry, maxAttempts: 4 },
    });
    const error = await failureOf(nomadClient.deleteToken(accessor));
    expect(error.message).toBe(
      `Nomad API error: DELETE /v1/acl/token/${accessor} returned 503: No cluster leader (after 4 attempts)`,
    );
    expect(nomad.requestCount({ method: "DELETE" })).toBe(4);
  });

  it("retries a create on 5xx once a look-up by name shows it left no token", async () => {
    const nomad = await fake();
    nomad.failNext({ method: "PUT", path: "/v1/acl/token", status: 500, body: "rpc error: EOF" });
    const { delays, retry } = instantRetry();
    const nomadClient = client({ address: nomad.url, token: nomad.managementToken ?? "", retry });
    const token = await nomadClient.createToken({ name: "vault-x-1", type: "client", policies: ["p"] });
    expect(token.Name).toBe("vault-x-1");
    expect(nomad.requestCount({ method: "PUT", path: "/v1/acl/token" })).toBe(2);
    expect(nomad.requestCount({ method: "GET", path: "/v1/acl/tokens" })).toBeGreaterThanOrEqual(1);
    expect(delays).toEqual([150]);
    expect(nomad.issuedTokens().filter((issued) => issued.Name === "vault-x-1")).toHaveLength(1);
  });

  it("adopts the token a create made before answering 5xx, so the caller gets it and no second one exists", async () => {
    const nomad = await fake();
    nomad.failNext({ method: "PUT", path: "/v1/acl/token", status: 500, body: "timed out enqueuing operation", afterProcessing: true });
    const { delays, retry } = instantRetry();
    const nomadClient = client({ address: nomad.url, token: nomad.managementToken ?? "", retry });
    const token = await nomadClient.createToken({ name: "vault-made-anyway", type: "client", policies: ["p"] });
    const made = nomad.issuedTokens().filter((issued) => issued.Name === "vault-made-anyway");
    expect(made).toHaveLength(1);
    expect(token.AccessorID).toBe(made[0]?.AccessorID);
    expect(token.SecretID).toBe(made[0]?.SecretID);
    expect(nomad.requestCount({ method: "PUT", path: "/v1/acl/token" })).toBe(1);
    expect(delays).toEqual([]);
  });

  it("adopts the token of a create whose answer was lost, so at most one token exists", async () => {
    const nomad = await fake();
    nomad.dropNext({ method: "PUT", path: "/v1/acl/token", afterProcessing: true });
    const nomadClient = client({ address: nomad.url, token: nomad.managementToken ?? "", retry: instantRetry().retry });
    const token = await nomadClient.createToken({ name: "lost-answer", type: "client", policies: ["p"] });
    expect(nomad.requestCount({ method: "PUT" })).toBe(1);
    expect(nomad.issuedTokens().filter((issued) => issued.Name === "lost-answer").map((issued) => issued.AccessorID)).toEqual([
      token.AccessorID,
    ]);
  });

  it("retries without a look-up when Nomad has no leader (nothing was written)", async () => {
    const nomad = await fake();
    nomad.failNext({ method: "PUT", path: "/v1/acl/token", status: 500, body: "No cluster leader", times: 2 });
    const { delays, retry } = instantRetry();
    const nomadClient = client({ address: nomad.url, token: nomad.managementToken ?? "", retry });
    const token = await nomadClient.createToken({ name: "after-election", type: "client", policies: ["p"] });
    expect(token.Name).toBe("after-election");
    expect(nomad.requestCount({ method: "GET", path: "/v1/acl/tokens" })).toBe(0);
    expect(delays).toEqual([150, 300]);
  });

  it("retries without a look-up when the server could not reach the leader (Nomad's RPC pool never sent it)", async () => {
    const nomad = await fake();
    const body = "rpc error: failed to get conn: dial tcp 127.0.0.3:4647: connect: connection refused";
    nomad.failNext({ method: "PUT", path: "/v1/acl/token", status: 500, body, times: 4 });
    const { delays, retry } = instantRetry();
    const nomadClient = client({ address: nomad.url, token: nomad.managementToken ?? "", retry });
    const token = await nomadClient.createToken({ name: "during-election", type: "client", policies: ["p"] });
    expect(token.Name).toBe("during-election");
    expect(nomad.requestCount({ method: "GET", path: "/v1/acl/tokens" })).toBe(0);
    // Four retries wait 150 + 300 + 600 + 1200 ms at this jitter: about the 2.3 s a Nomad election took.
    expect(delays).toEqual([150, 300, 600, 1200]);
    expect(nomad.issuedTokens().filter((issued) => issued.Name === "during-election")).toHaveLength(1);
  });

  it("gives up on a create after the configured attempts, flagging that it may have taken effect", async () => {
    const nomad = await fake();
    nomad.failNext({ method: "PUT", path: "/v1/acl/token", status: 503, body: "No cluster leader", times: 10 });
    const nomadClient = client({ address: nomad.url, token: nomad.managementToken ?? "", retry: instantRetry().retry });
    const error = await failureOf(nomadClient.createToken({ name: "x", type: "client", policies: ["p"] }));
    expect(error.httpStatus).toBe(503);
    expect(error.message).toBe("Nomad API error: PUT /v1/acl/token returned 503: No cluster leader");
    expect(nomad.requestCount({ method: "PUT", path: "/v1/acl/token" })).toBe(5);
    expect(nomadFailureDetail(error)?.mayHaveTakenEffect).toBe(true);
  });

  it("does not retry a create when the look-up fails: it cannot rule out a token, so the first error stands", async () => {
    const nomad = await fake();
    nomad.failNext({ method: "PUT", path: "/v1/acl/token", status: 502, body: "Bad Gateway" });
    nomad.failNext({ method: "GET", path: "/v1/acl/tokens", status: 403, body: "Permission denied" });
    const nomadClient = client({ address: nomad.url, token: nomad.managementToken ?? "", retry: instantRetry().retry });
    const error = await failureOf(nomadClient.createToken({ name: "x", type: "client", policies: ["p"] }));
    expect(error.message).toBe("Nomad API error: PUT /v1/acl/token returned 502: Bad Gateway");
    expect(nomad.requestCount({ method: "PUT", path: "/v1/acl/token" })).toBe(1);
  });

  it("deletes a duplicate when a failed create committed late and the retry made a second token", async () => {
    const nomad = await fake();
    nomad.failNext({ method: "PUT", path: "/v1/acl/token", status: 500, body: "raft apply timed out" });
    const late: string[] = [];
    const { retry } = instantRetry(() => {
      // The first attempt's write lands after the look-up saw nothing.
      late.push(nomad.issueToken({ name: "vault-late", policies: ["p"] }).AccessorID);
    });
    const nomadClient = client({ address: nomad.url, token: nomad.managementToken ?? "", retry });
    const token = await nomadClient.createToken({ name: "vault-late", type: "client", policies: ["p"] });
    expect(late).toHaveLength(1);
    expect(nomad.hasToken(late[0] as string)).toBe(false);
    expect(nomad.issuedTokens().filter((issued) => issued.Name === "vault-late").map((issued) => issued.AccessorID)).toEqual([
      token.AccessorID,
    ]);
  });

  it("starts no retry that cannot finish before the caller's deadline", async () => {
    const nomad = await fake();
    nomad.failNext({ method: "PUT", path: "/v1/acl/token", status: 500, body: "No cluster leader" });
    const { delays, retry } = instantRetry();
    const nomadClient = client({ address: nomad.url, token: nomad.managementToken ?? "", retry });
    const error = await failureOf(
      nomadClient.createToken({ name: "x", type: "client", policies: ["p"], deadline: Date.now() + 100 }),
    );
    expect(error.httpStatus).toBe(500);
    expect(delays).toEqual([]);
    expect(nomad.requestCount({ method: "PUT", path: "/v1/acl/token" })).toBe(1);
  });

  it("finds tokens by exact name, quoting the filter Nomad evaluates", async () => {
    const nomad = await fake();
    nomad.issueToken({ name: 'vault-odd"name\\x' });
    nomad.issueToken({ name: "vault-odd" });
    const nomadClient = client({ address: nomad.url, token: nomad.managementToken ?? "" });
    expect((await nomadClient.tokensNamed('vault-odd"name\\x')).map((token) => token.Name)).toEqual(['vault-odd"name\\x']);
    expect(await nomadClient.tokensNamed("nobody")).toEqual([]);
  });

  it("retries a create refused at connect time, since Nomad never saw it", async () => {
    const nomad = await fake();
    await nomad.goDown();
    const { delays, retry } = instantRetry(async () => {
      await nomad.comeBack();
    });
    const nomadClient = client({ address: nomad.url, token: nomad.managementToken ?? "", retry });
    const token = await nomadClient.createToken({ name: "after-restart", type: "client", policies: ["p"] });
    expect(token.Name).toBe("after-restart");
    expect(delays).toHaveLength(1);
    expect(nomad.issuedTokens()).toHaveLength(1);
  });

  it("retries a DELETE whose answer was lost; the retry's 'nonexistent' means gone", async () => {
    const nomad = await fake();
    const accessor = nomad.issueToken().AccessorID;
    nomad.dropNext({ method: "DELETE", afterProcessing: true });
    const nomadClient = client({ address: nomad.url, token: nomad.managementToken ?? "", retry: instantRetry().retry });
    expect(await nomadClient.deleteToken(accessor)).toEqual({ alreadyGone: true });
    expect(nomad.requestCount({ method: "DELETE" })).toBe(2);
    expect(nomad.hasToken(accessor)).toBe(false);
  });

  it("retries a GET and a create on 429 (refused before handling), honouring Retry-After up to the cap", async () => {
    const nomad = await fake();
    nomad.failNext({ method: "GET", status: 429, body: "Too Many Requests", headers: { "Retry-After": "2" } });
    const { delays, retry } = instantRetry();
    const nomadClient = client({ address: nomad.url, token: nomad.managementToken ?? "", retry });
    expect(await nomadClient.listTokens()).toHaveLength(1);
    expect(delays).toEqual([2000]);

    nomad.failNext({ method: "PUT", status: 429, body: "Too Many Requests", times: 2 });
    const token = await nomadClient.createToken({ name: "limited", type: "client", policies: ["p"] });
    expect(token.Name).toBe("limited");
    expect(nomad.requestCount({ method: "PUT" })).toBe(3);
    expect(delays).toEqual([2000, 150, 300]);
    expect(nomad.issuedTokens().filter((issued) => issued.Name === "limited")).toHaveLength(1);

    nomad.failNext({ method: "PUT", status: 429, body: "Too Many Requests", times: 5 });
    const error = await failureOf(nomadClient.createToken({ name: "x", type: "client", policies: ["p"] }));
    expect(error.httpStatus).toBe(429);
    expect(nomadFailureDetail(error)?.mayHaveTakenEffect).toBe(false);
  });

  it("logs each retry with method, path and reason, but no token", async () => {
    const nomad = await fake();
    const management = nomad.managementToken ?? "";
    nomad.failNext({ method: "GET", status: 502, body: `upstream rejected ${management}` });
    const { logger, lines } = memoryLogger("debug");
    const nomadClient = client({ address: nomad.url, token: management, retry: instantRetry().retry, logger });
    await nomadClient.listTokens();
    const retries = lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((entry) => entry["@level"] === "warn");
    expect(retries).toEqual([
      expect.objectContaining({ "@message": "retrying nomad request", method: "GET", path: "/v1/acl/tokens", reason: "status 502" }),
    ]);
    expect(lines.join("\n")).not.toContain(management);
  });

  it("does not retry 4xx answers", async () => {
    const nomad = await fake();
    const { delays, retry } = instantRetry();
    const nomadClient = client({ address: nomad.url, token: "0d3b8cf5-5f55-4e1b-a7a3-33e3c1f5e0aa", retry });
    await failureOf(nomadClient.listTokens());
    expect(delays).toEqual([]);
    expect(nomad.requestCount()).toBe(1);
  });

  it("computes equal-jitter exponential backoff within bounds", () => {
    const policy = { ...DEFAULT_RETRY_POLICY, baseDelayMs: 100, maxDelayMs: 1000 };
    expect(backoffDelayMs({ ...policy, random: () => 0 }, 1)).toBe(50);
    expect(backoffDelayMs({ ...policy, random: () => 0.999999 }, 1)).toBe(100);
    expect(backoffDelayMs({ ...policy, random: () => 0 }, 3)).toBe(200);
    expect(backoffDelayMs({ ...policy, random: () => 0.999999 }, 10)).toBe(1000);
    expect(backoffDelayMs({ ...policy, random: () => 0 }, 1, 60_000)).toBe(1000);
  });
});

describe("unreachable Nomad and timeouts", () => {
  it("names the address and the cause when nothing listens, after bounded retries", async () => {
    const nomad = await fake();
    const address = nomad.url;
    await nomad.goDown();
    const { delays, retry } = instantRetry();
    const error = await failureOf(client({ address, token: "t", retry }).selfToken());
    expect(error.code).toBe(ErrorCode.NomadUnreachable);
    expect(error.message).toMatch(
      new RegExp(`^could not reach Nomad at ${address}: connect ECONNREFUSED 127\\.0\\.0\\.1:\\d+ \\(after 5 attempts\\)$`),
    );
    expect(delays).toHaveLength(4);
    expect(nomadFailureDetail(error)?.mayHaveTakenEffect).toBe(false);
  });

  it("gives up on a slow Nomad at the request timeout, without retrying", async () => {
    const nomad = await fake();
    nomad.setLatency(3_000, { path: "/v1/acl/token/self" });
    const { delays, retry } = instantRetry();
    const nomadClient = client({ address: nomad.url, token: nomad.managementToken ?? "", requestTimeoutMs: 200, retry });
    const started = Date.now();
    const error = await failureOf(nomadClient.selfToken());
    const elapsedMs = Date.now() - started;
    expect(error.code).toBe(ErrorCode.NomadUnreachable);
    expect(error.message).toBe(`could not reach Nomad at ${nomad.url}: GET /v1/acl/token/self got no answer within 200ms`);
    expect(nomadFailureDetail(error)?.timedOut).toBe(true);
    expect(elapsedMs).toBeLessThan(2_500);
    expect(delays).toEqual([]);
  });

  it("flags a timed-out create as possibly done", async () => {
    const nomad = await fake();
    nomad.setLatency(1_000, { method: "PUT" });
    const nomadClient = client({ address: nomad.url, token: nomad.managementToken ?? "", requestTimeoutMs: 150 });
    const error = await failureOf(nomadClient.createToken({ name: "slow", type: "client", policies: ["p"] }));
    expect(nomadFailureDetail(error)).toMatchObject({ timedOut: true, mayHaveTakenEffect: true });
  });

  it("fails fast after close()", async () => {
    const nomad = await fake();
    const nomadClient = new NomadClient({ address: nomad.url, token: nomad.managementToken ?? "" });
    await nomadClient.selfToken();
    await nomadClient.close();
    await nomadClient.close();
    const error = await failureOf(nomadClient.selfToken());
    expect(error.message).toBe("the Nomad client was closed");
  });
});

describe("connections and region", () => {
  it("never opens more sockets than maxConnections, queueing the rest", async () => {
    const nomad = await fake();
    nomad.setLatency(100);
    const nomadClient = client({ address: nomad.url, token: nomad.managementToken ?? "", maxConnections: 2 });
    const results = await Promise.all(Array.from({ length: 10 }, () => nomadClient.listTokens()));
    expect(results).toHaveLength(10);
    expect(nomad.maxConcurrentConnections).toBe(2);
  });

  it(`caps at ${DEFAULT_MAX_CONNECTIONS} sockets by default, like the builtin engine`, async () => {
    const nomad = await fake();
    nomad.setLatency(100);
    const nomadClient = client({ address: nomad.url, token: nomad.managementToken ?? "" });
    await Promise.all(Array.from({ length: 30 }, () => nomadClient.selfToken()));
    expect(nomad.maxConcurrentConnections).toBe(DEFAULT_MAX_CONNECTIONS);
  });

  it("sends ?region= on every call when a region is set", async () => {
    const nomad = await fake({ region: "europe" });
    const nomadClient = client({ address: nomad.url, token: nomad.managementToken ?? "", region: "europe" });
    const token = await nomadClient.createToken({ name: "x", type: "client", policies: ["p"] });
    await nomadClient.readToken(token.AccessorID);
    await nomadClient.deleteToken(token.AccessorID);
    expect(nomad.requests.map((entry) => entry.region)).toEqual(["europe", "europe", "europe"]);
  });
});

describe("TLS", () => {
  let pki: TestPki | undefined;
  const testPki = (): TestPki => (pki ??= makeTestPki());

  async function tlsFake(): Promise<NomadFake> {
    const material = testPki();
    return fake({ tls: { cert: material.serverCert, key: material.serverKey, clientCa: material.caCert } });
  }

  it("verifies Nomad with the CA and presents the client certificate", async () => {
    const material = testPki();
    const nomad = await tlsFake();
    const nomadClient = client({
      address: nomad.url,
      token: nomad.managementToken ?? "",
      caCert: material.caCert,
      clientCert: material.clientCert,
      clientKey: material.clientKey,
    });
    expect((await nomadClient.selfToken()).Name).toBe("Bootstrap Token");
    expect(nomad.requests[0]?.clientCertificateCn).toBe("vault-nomad-plugin");
  });

  it("checks the certificate against tlsServerName when one is given", async () => {
    const material = testPki();
    const nomad = await tlsFake();
    const tls = { caCert: material.caCert, clientCert: material.clientCert, clientKey: material.clientKey };
    const named = client({ address: nomad.url, token: nomad.managementToken ?? "", tlsServerName: "server.global.nomad", ...tls });
    expect((await named.selfToken()).Type).toBe("management");
    const wrong = client({ address: nomad.url, token: nomad.managementToken ?? "", tlsServerName: "other.example", ...tls });
    const error = await failureOf(wrong.selfToken());
    expect(error.code).toBe(ErrorCode.NomadUnreachable);
    expect(error.message).toContain("TLS handshake failed");
  });

  it("rejects a server it cannot verify, without retrying", async () => {
    const material = testPki();
    const nomad = await tlsFake();
    const { delays, retry } = instantRetry();
    const nomadClient = client({
      address: nomad.url,
      token: nomad.managementToken ?? "",
      clientCert: material.clientCert,
      clientKey: material.clientKey,
      retry,
    });
    const error = await failureOf(nomadClient.selfToken());
    expect(error.code).toBe(ErrorCode.NomadUnreachable);
    expect(error.message).toMatch(/^could not reach Nomad at https:\/\/127\.0\.0\.1:\d+: TLS handshake failed: /);
    expect(delays).toEqual([]);
    expect(nomad.requestCount()).toBe(0);
  });

  it("skips verification only when told to", async () => {
    const material = testPki();
    const nomad = await tlsFake();
    const nomadClient = client({
      address: nomad.url,
      token: nomad.managementToken ?? "",
      tlsSkipVerify: true,
      clientCert: material.clientCert,
      clientKey: material.clientKey,
    });
    expect((await nomadClient.selfToken()).Type).toBe("management");
  });

  it("is refused by a Nomad that requires a client certificate when none is configured", async () => {
    const nomad = await tlsFake();
    const nomadClient = client({
      address: nomad.url,
      token: nomad.managementToken ?? "",
      caCert: testPki().caCert,
      retry: instantRetry().retry,
    });
    const error = await failureOf(nomadClient.selfToken());
    expect(error.code).toBe(ErrorCode.NomadUnreachable);
    expect(nomad.requestCount()).toBe(0);
  });
});

describe("environment fallback", () => {
  function tempDir(): string {
    const directory = mkdtempSync(join(tmpdir(), "nomad-env-"));
    cleanups.push(() => rmSync(directory, { recursive: true, force: true }));
    return directory;
  }

  it("reads NOMAD_* like Nomad's api.DefaultConfig, loading certificate files", () => {
    const material = makeTestPki();
    const directory = tempDir();
    writeFileSync(join(directory, "ca.pem"), material.caCert);
    writeFileSync(join(directory, "client.pem"), material.clientCert);
    writeFileSync(join(directory, "client.key"), material.clientKey);
    const config = nomadConfigFromEnv({
      NOMAD_ADDR: "https://nomad.example:4646",
      NOMAD_TOKEN: "env-token",
      NOMAD_REGION: "europe",
      NOMAD_CACERT: join(directory, "ca.pem"),
      NOMAD_CLIENT_CERT: join(directory, "client.pem"),
      NOMAD_CLIENT_KEY: join(directory, "client.key"),
      NOMAD_TLS_SERVER_NAME: "server.global.nomad",
      NOMAD_SKIP_VERIFY: "true",
      NOMAD_HTTP_AUTH: "user:pass",
    });
    expect(config).toEqual({
      address: "https://nomad.example:4646",
      token: "env-token",
      region: "europe",
      caCert: material.caCert,
      clientCert: material.clientCert,
      clientKey: material.clientKey,
      tlsServerName: "server.global.nomad",
      tlsSkipVerify: true,
      httpAuth: "user:pass",
    });
  });

  it("ignores empty variables and NOMAD_SKIP_VERIFY values Go cannot parse; reads NOMAD_CAPATH", () => {
    const material = makeTestPki();
    const directory = tempDir();
    writeFileSync(join(directory, "a.pem"), material.caCert);
    writeFileSync(join(directory, "notes.txt"), "not a certificate");
    const config = nomadConfigFromEnv({ NOMAD_ADDR: "", NOMAD_SKIP_VERIFY: "yes", NOMAD_CAPATH: directory });
    expect(config).toEqual({ caCert: material.caCert });
  });

  it("names the variable when a certificate file cannot be read", () => {
    expect(() => nomadConfigFromEnv({ NOMAD_CACERT: "/nonexistent/ca.pem" })).toThrow(
      /^NOMAD_CACERT: could not read "\/nonexistent\/ca\.pem": /,
    );
  });

  it("lets non-empty stored settings override the environment, and works end to end", async () => {
    const nomad = await fake();
    const fromEnv = nomadConfigFromEnv({ NOMAD_ADDR: "http://127.0.0.1:1", NOMAD_TOKEN: nomad.managementToken, NOMAD_REGION: "global" });
    const merged = mergeNomadConfig(fromEnv, { address: nomad.url, token: "", caCert: undefined });
    expect(merged).toEqual({ address: nomad.url, token: nomad.managementToken, region: "global" });
    const token = await client(merged).createToken({ name: "from-env", type: "client", policies: ["p"] });
    expect(nomad.token(token.AccessorID)?.Name).toBe("from-env");
    expect(nomad.requests[0]?.region).toBe("global");
  });
});

describe("config/access validation", () => {
  it("accepts http(s) URLs and names the field otherwise, hiding credentials", () => {
    expect(validateNomadAddress("https://nomad.example.com:4646")).toBeUndefined();
    expect(validateNomadAddress("http://10.0.0.1:4646/prefix")).toBeUndefined();
    expect(validateNomadAddress("nomad:4646")).toMatch(/^address must use http:\/\/ or https:\/\//);
    expect(validateNomadAddress("not a url")).toMatch(/^address must be an http:\/\/ or https:\/\/ URL/);
    expect(validateNomadAddress("https://admin:secret@nomad:4646?x=1")).toBe(
      'address must not contain a query or fragment: "https://<redacted>@nomad:4646?x=1"',
    );
  });

  it("accepts a matching certificate and key, and explains each kind of bad input", () => {
    const material = makeTestPki();
    expect(
      validateAccessConfig({ ca_cert: material.caCert, client_cert: material.clientCert, client_key: material.clientKey }),
    ).toEqual([]);
    const otherKey = generateKeyPairSync("ec", { namedCurve: "P-256" })
      .privateKey.export({ type: "pkcs8", format: "pem" })
      .toString();
    expect(validateAccessConfig({ client_cert: material.clientCert, client_key: otherKey })).toEqual([
      "client_key does not belong to client_cert (the public keys differ)",
    ]);
    expect(validateAccessConfig({ client_cert: material.clientCert })).toEqual(["client_cert requires client_key to be set"]);
    expect(validateAccessConfig({ ca_cert: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----" })[0]).toMatch(
      /^ca_cert is not a valid PEM certificate: /,
    );
    const encrypted = generateKeyPairSync("ec", { namedCurve: "P-256" })
      .privateKey.export({ type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase: "pw" })
      .toString();
    const problems = validateAccessConfig({ client_cert: material.clientCert, client_key: encrypted });
    expect(problems).toEqual(["client_key is encrypted with a passphrase; supply an unencrypted key"]);
    const garbage = validateAccessConfig({ client_cert: material.clientCert, client_key: "-----BEGIN PRIVATE KEY-----\nQUJD\n-----END PRIVATE KEY-----" });
    expect(garbage[0]).toMatch(/^client_key is not a valid PEM private key/);
    expect(garbage.join(" ")).not.toContain("QUJD");
  });
});

describe("the undici modules the client imports directly", () => {
  // The client skips undici's index (docs/performance.md); these are what the index would hand it.
  it("are the Pool and the request() that undici's index exports and attaches", () => {
    expect(PoolClass).toBe(Pool);
    expect(Pool.prototype.request).toBe(poolRequest);
  });
});
