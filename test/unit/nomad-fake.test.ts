// The fake must answer as Nomad does, or engine tests against it prove nothing.
// These talk raw HTTP to it and pin the texts and statuses from reference §2.
import { X509Certificate } from "node:crypto";
import { Agent, request } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import {
  formatGoDuration,
  goMultiError,
  hasOpenssl,
  makeTestPki,
  parseGoDuration,
  startNomadFake,
  type NomadFake,
  type NomadFakeOptions,
} from "../support/nomad-fake.ts";

const fakes: NomadFake[] = [];

async function fake(options: NomadFakeOptions = {}): Promise<NomadFake> {
  const started = await startNomadFake(options);
  fakes.push(started);
  return started;
}

afterEach(async () => {
  await Promise.all(fakes.splice(0).map((started) => started.stop()));
});

interface RawAnswer {
  status: number;
  text: string;
  contentType: string | undefined;
  json: () => Record<string, unknown>;
  index: string | undefined;
}

async function call(
  nomad: NomadFake,
  method: "GET" | "PUT" | "POST" | "DELETE",
  path: string,
  options: { token?: string; bearer?: string; body?: unknown } = {},
): Promise<RawAnswer> {
  const headers: Record<string, string> = {};
  if (options.token !== undefined) headers["x-nomad-token"] = options.token;
  if (options.bearer !== undefined) headers.authorization = `Bearer ${options.bearer}`;
  const response = await request(`${nomad.url}${path}`, {
    method,
    headers,
    body: options.body === undefined ? null : typeof options.body === "string" ? options.body : JSON.stringify(options.body),
  });
  const text = await response.body.text();
  const contentType = response.headers["content-type"];
  const index = response.headers["x-nomad-index"];
  return {
    status: response.statusCode,
    text,
    contentType: Array.isArray(contentType) ? contentType[0] : contentType,
    index: Array.isArray(index) ? index[0] : index,
    json: () => JSON.parse(text) as Record<string, unknown>,
  };
}

const management = (nomad: NomadFake): string => nomad.managementToken ?? "";

describe("Go formatting helpers", () => {
  it("formats durations like time.Duration.String", () => {
    const cases: [number, string][] = [
      [0, "0s"],
      [3_600e9, "1h0m0s"],
      [90e9, "1m30s"],
      [60e9, "1m0s"],
      [1.5e9, "1.5s"],
      [500e6, "500ms"],
      [1_500, "1.5µs"],
      [12, "12ns"],
      [-3_600e9, "-1h0m0s"],
      [86_400e9, "24h0m0s"],
    ];
    for (const [nanoseconds, text] of cases) expect(formatGoDuration(nanoseconds)).toBe(text);
  });

  it("parses durations like time.ParseDuration, with Go's error texts", () => {
    expect(parseGoDuration("1h")).toBe(3_600e9);
    expect(parseGoDuration("1h30m")).toBe(5_400e9);
    expect(parseGoDuration("1.5s")).toBe(1.5e9);
    expect(parseGoDuration("-2m")).toBe(-120e9);
    expect(parseGoDuration("0")).toBe(0);
    expect(() => parseGoDuration("abc")).toThrow('time: invalid duration "abc"');
    expect(() => parseGoDuration("10")).toThrow('time: missing unit in duration "10"');
    expect(() => parseGoDuration("1d")).toThrow('time: unknown unit "d" in duration "1d"');
  });

  it("formats validation errors as go-multierror does", () => {
    expect(goMultiError(["a"])).toBe("1 error occurred:\n\t* a\n\n");
    expect(goMultiError(["a", "b"])).toBe("2 errors occurred:\n\t* a\n\t* b\n\n");
  });
});

describe("bootstrap", () => {
  it("bootstraps once, then answers 400 with the reset index", async () => {
    const nomad = await fake({ bootstrapped: false });
    expect(nomad.managementToken).toBeUndefined();
    const first = await call(nomad, "PUT", "/v1/acl/bootstrap");
    expect(first.status).toBe(200);
    const token = first.json();
    expect(token).toMatchObject({ Name: "Bootstrap Token", Type: "management", Global: true });
    expect(nomad.managementToken).toBe(token.SecretID);

    const second = await call(nomad, "POST", "/v1/acl/bootstrap");
    expect(second.status).toBe(400);
    expect(second.text).toBe(`ACL bootstrap already done (reset index: ${token.CreateIndex})`);
    expect(second.contentType).toBe("text/plain; charset=utf-8");
  });

  it("uses an operator-chosen BootstrapSecret and rejects one that is not a UUID", async () => {
    const nomad = await fake({ bootstrapped: false });
    const bad = await call(nomad, "PUT", "/v1/acl/bootstrap", { body: { BootstrapSecret: "not-a-uuid" } });
    expect([bad.status, bad.text]).toEqual([400, "invalid acl token"]);
    const secret = "2b778dd9-f5f1-6f29-b4b4-9a5fa948757a";
    const good = await call(nomad, "PUT", "/v1/acl/bootstrap", { body: { BootstrapSecret: secret } });
    expect(good.json().SecretID).toBe(secret);
  });
});

describe("authentication", () => {
  it("accepts X-Nomad-Token and Authorization: Bearer, and records which was used", async () => {
    const nomad = await fake();
    expect((await call(nomad, "GET", "/v1/acl/tokens", { token: management(nomad) })).status).toBe(200);
    expect((await call(nomad, "GET", "/v1/acl/tokens", { bearer: management(nomad) })).status).toBe(200);
    expect(nomad.requests.map((entry) => entry.tokenSource)).toEqual(["x-nomad-token", "authorization-bearer"]);
  });

  it("answers 403 Permission denied to unknown, anonymous and client tokens on management endpoints", async () => {
    const nomad = await fake();
    const client = nomad.issueToken({ policies: ["readonly"] });
    for (const token of [undefined, "00000000-0000-0000-0000-000000000000", client.SecretID]) {
      const answer = await call(nomad, "PUT", "/v1/acl/token", {
        ...(token === undefined ? {} : { token }),
        body: { Name: "x", Type: "client", Policies: ["p"] },
      });
      expect([answer.status, answer.text]).toEqual([403, "Permission denied"]);
    }
    expect(nomad.tokenCount()).toBe(2);
  });

  it("rejects an expired token: 403 where Nomad hides the reason, 'ACL token expired' where it does not", async () => {
    const nomad = await fake();
    const expiring = nomad.issueToken({ type: "management", ttlMs: 120_000 });
    nomad.expireToken(expiring.AccessorID);
    const create = await call(nomad, "PUT", "/v1/acl/token", {
      token: expiring.SecretID,
      body: { Name: "x", Type: "client", Policies: ["p"] },
    });
    expect([create.status, create.text]).toEqual([403, "Permission denied"]);
    const self = await call(nomad, "GET", "/v1/acl/token/self", { token: expiring.SecretID });
    expect([self.status, self.text]).toEqual([500, "ACL token expired"]);
  });
});

describe("token create", () => {
  it("creates a client token and returns it with its secret, null for empty lists", async () => {
    const nomad = await fake();
    const answer = await call(nomad, "PUT", "/v1/acl/token", {
      token: management(nomad),
      body: { Name: "vault-app", Type: "client", Policies: ["app"] },
    });
    expect(answer.status).toBe(200);
    expect(answer.index).toBeDefined();
    const token = answer.json();
    expect(token).toMatchObject({
      Name: "vault-app",
      Type: "client",
      Policies: ["app"],
      Roles: null,
      Global: false,
      ExpirationTime: null,
      ExpirationTTL: "",
    });
    expect(token.AccessorID).toMatch(/^[0-9a-f-]{36}$/);
    expect(token.SecretID).toMatch(/^[0-9a-f-]{36}$/);
    expect(nomad.hasToken(token.AccessorID as string)).toBe(true);
  });

  it("accepts ExpirationTTL as a Go duration or nanoseconds and computes ExpirationTime", async () => {
    const clock = { now: Date.parse("2026-03-01T10:00:00.000Z") };
    const nomad = await fake({ now: () => clock.now });
    const asText = (
      await call(nomad, "PUT", "/v1/acl/token", {
        token: management(nomad),
        body: { Name: "a", Type: "client", Policies: ["p"], ExpirationTTL: "1h" },
      })
    ).json();
    expect(asText.ExpirationTTL).toBe("1h0m0s");
    expect(asText.ExpirationTime).toBe("2026-03-01T11:00:00.000Z");
    const asNumber = (
      await call(nomad, "PUT", "/v1/acl/token", {
        token: management(nomad),
        body: { Name: "b", Type: "client", Policies: ["p"], ExpirationTTL: 90 * 60e9 },
      })
    ).json();
    expect(asNumber.ExpirationTTL).toBe("1h30m0s");
  });

  it.each([
    [{ Name: "n".repeat(257), Type: "client", Policies: ["p"] }, "token name too long"],
    [{ Name: "x", Type: "client" }, "client token missing policies or roles"],
    [{ Name: "x", Type: "management", Policies: ["p"] }, "management token cannot be associated with policies or roles"],
    [{ Name: "x", Type: "root", Policies: ["p"] }, "token type must be client or management"],
    [{ Name: "x", Type: "client", Policies: ["p"], ExpirationTTL: "25h" }, "expiration time cannot be more than 24h0m0s in the future (was 25h0m0s)"],
    [{ Name: "x", Type: "client", Policies: ["p"], ExpirationTTL: "30s" }, "expiration time cannot be less than 1m0s in the future (was 30s)"],
  ])("rejects invalid input with Nomad's 400 text (%#)", async (body, problem) => {
    const nomad = await fake();
    const answer = await call(nomad, "PUT", "/v1/acl/token", { token: management(nomad), body });
    expect(answer.status).toBe(400);
    expect(answer.text).toBe(`token 0 invalid: 1 error occurred:\n\t* ${problem}\n\n`);
    expect(nomad.tokenCount()).toBe(1);
  });

  it("reports every problem of a negative TTL, as Nomad's Canonicalize+Validate do", async () => {
    const nomad = await fake();
    const answer = await call(nomad, "PUT", "/v1/acl/token", {
      token: management(nomad),
      body: { Name: "x", Type: "client", Policies: ["p"], ExpirationTTL: "-1h" },
    });
    expect(answer.text).toBe(
      "token 0 invalid: 3 errors occurred:\n\t* token expiration TTL '-1h0m0s' should not be negative\n\t" +
        "* expiration time cannot be before create time\n\t" +
        "* expiration time cannot be less than 1m0s in the future (was -1h0m0s)\n\n",
    );
  });

  it("honours configured expiration bounds and a 256-byte (not character) name limit", async () => {
    const nomad = await fake({ tokenMaxExpirationTtlMs: 2 * 3_600_000, tokenMinExpirationTtlMs: 1_000 });
    const tooLong = await call(nomad, "PUT", "/v1/acl/token", {
      token: management(nomad),
      body: { Name: "x", Type: "client", Policies: ["p"], ExpirationTTL: "3h" },
    });
    expect(tooLong.text).toContain("cannot be more than 2h0m0s in the future (was 3h0m0s)");
    const multibyte = await call(nomad, "PUT", "/v1/acl/token", {
      token: management(nomad),
      body: { Name: "é".repeat(129), Type: "client", Policies: ["p"], ExpirationTTL: "2s" },
    });
    expect(multibyte.text).toContain("token name too long");
  });

  it("rejects an unparsable ExpirationTTL with Go's decode error", async () => {
    const nomad = await fake();
    const answer = await call(nomad, "PUT", "/v1/acl/token", {
      token: management(nomad),
      body: { Name: "x", Type: "client", Policies: ["p"], ExpirationTTL: "soon" },
    });
    expect([answer.status, answer.text]).toEqual([400, 'time: invalid duration "soon"']);
  });

  it("links roles given by Name, stores them by ID, and drops links to deleted roles on read", async () => {
    const nomad = await fake();
    nomad.upsertPolicy("ops");
    const role = nomad.createRole("operators", ["ops"]);
    const created = await call(nomad, "PUT", "/v1/acl/token", {
      token: management(nomad),
      body: { Name: "x", Type: "client", Roles: [{ Name: "operators" }, { ID: role.ID }] },
    });
    const token = created.json();
    expect(token.Roles).toEqual([{ ID: role.ID, Name: "operators" }]);
    expect(token.Policies).toBeNull();
    nomad.deleteRole("operators");
    const read = await call(nomad, "GET", `/v1/acl/token/${token.AccessorID as string}`, { token: management(nomad) });
    expect(read.json().Roles).toBeNull();
  });

  it("answers 400 'cannot find role X' for an unknown role and creates nothing", async () => {
    const nomad = await fake();
    const answer = await call(nomad, "PUT", "/v1/acl/token", {
      token: management(nomad),
      body: { Name: "x", Type: "client", Roles: [{ Name: "ghost" }] },
    });
    expect([answer.status, answer.text]).toEqual([400, "cannot find role ghost"]);
    expect(nomad.tokenCount()).toBe(1);
  });

  it("does not check that policies exist, as Nomad does not", async () => {
    const nomad = await fake();
    const answer = await call(nomad, "PUT", "/v1/acl/token", {
      token: management(nomad),
      body: { Name: "x", Type: "client", Policies: ["no-such-policy"] },
    });
    expect(answer.status).toBe(200);
  });
});

describe("token read, self, list, delete", () => {
  it("answers 404 'ACL token not found' to management for an unknown accessor, 403 to others", async () => {
    const nomad = await fake();
    const missing = "11111111-2222-3333-4444-555555555555";
    const asManagement = await call(nomad, "GET", `/v1/acl/token/${missing}`, { token: management(nomad) });
    expect([asManagement.status, asManagement.text]).toEqual([404, "ACL token not found"]);
    const client = nomad.issueToken();
    const asClient = await call(nomad, "GET", `/v1/acl/token/${missing}`, { token: client.SecretID });
    expect(asClient.status).toBe(403);
    const own = await call(nomad, "GET", `/v1/acl/token/${client.AccessorID}`, { token: client.SecretID });
    expect(own.status).toBe(200);
  });

  it("returns the caller's own token from /v1/acl/token/self", async () => {
    const nomad = await fake();
    const self = await call(nomad, "GET", "/v1/acl/token/self", { token: management(nomad) });
    expect(self.json()).toMatchObject({ Name: "Bootstrap Token", SecretID: management(nomad) });
  });

  it("lists tokens without their secrets", async () => {
    const nomad = await fake();
    nomad.issueToken({ name: "listed" });
    const answer = await call(nomad, "GET", "/v1/acl/tokens", { token: management(nomad) });
    const list = JSON.parse(answer.text) as Record<string, unknown>[];
    expect(list.map((stub) => stub.Name)).toEqual(["Bootstrap Token", "listed"]);
    expect(list.every((stub) => !("SecretID" in stub))).toBe(true);
  });

  it("deletes once, then answers 400 'Cannot delete nonexistent tokens: <id>'", async () => {
    const nomad = await fake();
    const token = nomad.issueToken();
    const first = await call(nomad, "DELETE", `/v1/acl/token/${token.AccessorID}`, { token: management(nomad) });
    expect([first.status, first.text]).toEqual([200, ""]);
    const second = await call(nomad, "DELETE", `/v1/acl/token/${token.AccessorID}`, { token: management(nomad) });
    expect([second.status, second.text]).toEqual([400, `Cannot delete nonexistent tokens: ${token.AccessorID}`]);
  });

  it("answers 405 'Invalid method' and an empty 404 for unknown routes", async () => {
    const nomad = await fake();
    const wrongMethod = await call(nomad, "DELETE", "/v1/acl/tokens", { token: management(nomad) });
    expect([wrongMethod.status, wrongMethod.text]).toEqual([405, "Invalid method"]);
    const unknown = await call(nomad, "GET", "/v1/nothing-here", { token: management(nomad) });
    expect([unknown.status, unknown.text]).toEqual([404, ""]);
  });
});

describe("policies, roles, agent, regions, versions", () => {
  it("upserts and reads policies; name must match the path", async () => {
    const nomad = await fake();
    const mismatch = await call(nomad, "PUT", "/v1/acl/policy/a", { token: management(nomad), body: { Name: "b" } });
    expect([mismatch.status, mismatch.text]).toEqual([400, "ACL policy name does not match request path"]);
    const write = await call(nomad, "PUT", "/v1/acl/policy/readers", {
      token: management(nomad),
      body: { Name: "readers", Rules: 'namespace "default" { policy = "read" }' },
    });
    expect(write.status).toBe(200);
    const read = await call(nomad, "GET", "/v1/acl/policy/readers", { token: management(nomad) });
    expect(read.json()).toMatchObject({ Name: "readers", Rules: 'namespace "default" { policy = "read" }' });
    const missing = await call(nomad, "GET", "/v1/acl/policy/nope", { token: management(nomad) });
    expect([missing.status, missing.text]).toEqual([404, "ACL policy not found"]);
  });

  it("creates roles whose policies must exist, and looks them up by name", async () => {
    const nomad = await fake();
    const noPolicy = await call(nomad, "PUT", "/v1/acl/role", {
      token: management(nomad),
      body: { Name: "r", Policies: [{ Name: "ghost" }] },
    });
    expect([noPolicy.status, noPolicy.text]).toEqual([400, "cannot find policy ghost"]);
    nomad.upsertPolicy("ops");
    const created = await call(nomad, "PUT", "/v1/acl/role", {
      token: management(nomad),
      body: { Name: "r", Policies: [{ Name: "ops" }] },
    });
    expect(created.status).toBe(200);
    const duplicate = await call(nomad, "PUT", "/v1/acl/role", {
      token: management(nomad),
      body: { Name: "r", Policies: [{ Name: "ops" }] },
    });
    expect(duplicate.text).toBe("role with name r already exists");
    const byName = await call(nomad, "GET", "/v1/acl/role/name/r", { token: management(nomad) });
    expect(byName.json()).toMatchObject({ Name: "r", Policies: [{ Name: "ops" }] });
    const missing = await call(nomad, "GET", "/v1/acl/role/name/ghost", { token: management(nomad) });
    expect([missing.status, missing.text]).toEqual([404, "ACL role not found"]);
  });

  it("reports its version from /v1/agent/self and hides roles and TTLs below 1.4.0", async () => {
    const old = await fake({ version: "1.3.16" });
    const self = await call(old, "GET", "/v1/agent/self", { token: management(old) });
    expect(self.json()).toMatchObject({ config: { Version: { Version: "1.3.16" } } });
    const roles = await call(old, "GET", "/v1/acl/role/name/x", { token: management(old) });
    expect([roles.status, roles.text]).toEqual([404, ""]);
    const token = await call(old, "PUT", "/v1/acl/token", {
      token: management(old),
      body: { Name: "x", Type: "client", Policies: ["p"], ExpirationTTL: "1h" },
    });
    expect(token.json()).not.toHaveProperty("ExpirationTTL");
    const noPolicies = await call(old, "PUT", "/v1/acl/token", {
      token: management(old),
      body: { Name: "x", Type: "client", Roles: [{ Name: "r" }] },
    });
    expect(noPolicies.text).toBe("token 0 invalid: 1 error occurred:\n\t* client token missing policies\n\n");
  });

  it("records ?region= and fails for a region it does not serve", async () => {
    const nomad = await fake({ region: "europe" });
    expect((await call(nomad, "GET", "/v1/acl/tokens?region=europe", { token: management(nomad) })).status).toBe(200);
    const elsewhere = await call(nomad, "GET", "/v1/acl/tokens?region=asia", { token: management(nomad) });
    expect([elsewhere.status, elsewhere.text]).toEqual([500, "No path to region"]);
    expect(nomad.requests.map((entry) => entry.region)).toEqual(["europe", "asia"]);
  });
});

describe("fault injection and inspection", () => {
  it("fails the next N matching requests with a canned answer, then recovers", async () => {
    const nomad = await fake();
    nomad.failNext({ method: "GET", path: "/v1/acl/tokens", status: 503, body: "No cluster leader", times: 2 });
    const statuses: number[] = [];
    for (let index = 0; index < 3; index++) {
      statuses.push((await call(nomad, "GET", "/v1/acl/tokens", { token: management(nomad) })).status);
    }
    expect(statuses).toEqual([503, 503, 200]);
    expect(nomad.routeCounts()).toEqual({ "GET /v1/acl/tokens": 3 });
  });

  it("matches route patterns, so one rule covers every accessor", async () => {
    const nomad = await fake();
    nomad.failNext({ method: "DELETE", path: "/v1/acl/token/:accessor", status: 500, body: "boom" });
    const token = nomad.issueToken();
    const answer = await call(nomad, "DELETE", `/v1/acl/token/${token.AccessorID}`, { token: management(nomad) });
    expect([answer.status, answer.text]).toEqual([500, "boom"]);
    expect(nomad.hasToken(token.AccessorID)).toBe(true);
  });

  it("drops a connection after doing the work, so the effect happens but no answer arrives", async () => {
    const nomad = await fake();
    nomad.dropNext({ method: "PUT", path: "/v1/acl/token", afterProcessing: true });
    await expect(
      call(nomad, "PUT", "/v1/acl/token", { token: management(nomad), body: { Name: "lost", Type: "client", Policies: ["p"] } }),
    ).rejects.toThrow();
    expect(nomad.issuedTokens().map((token) => token.Name)).toEqual(["lost"]);
    expect(nomad.requests[0]?.outcome).toBe("dropped");
  });

  it("goes down (connections refused) and comes back on the same URL with its state", async () => {
    const nomad = await fake();
    const url = nomad.url;
    await nomad.goDown();
    await expect(call(nomad, "GET", "/v1/acl/tokens", { token: management(nomad) })).rejects.toMatchObject({
      code: "ECONNREFUSED",
    });
    await nomad.comeBack();
    expect(nomad.url).toBe(url);
    expect((await call(nomad, "GET", "/v1/acl/tokens", { token: management(nomad) })).status).toBe(200);
  });

  it("adds latency to matching requests only", async () => {
    const nomad = await fake();
    nomad.setLatency(300, { path: "/v1/acl/tokens" });
    const started = Date.now();
    await call(nomad, "GET", "/v1/acl/token/self", { token: management(nomad) });
    const fastMs = Date.now() - started;
    await call(nomad, "GET", "/v1/acl/tokens", { token: management(nomad) });
    const slowMs = Date.now() - started - fastMs;
    expect(slowMs).toBeGreaterThanOrEqual(250);
    expect(fastMs).toBeLessThan(slowMs);
  });
});

describe("TLS", () => {
  const makers: ("openssl" | "node")[] = hasOpenssl() ? ["openssl", "node"] : ["node"];

  it.each(makers)("serves HTTPS with certificates made by %s, requiring the client certificate", async (maker) => {
    const pki = makeTestPki(maker);
    expect(pki.madeWith).toBe(maker);
    const leaf = new X509Certificate(pki.serverCert);
    expect(leaf.verify(new X509Certificate(pki.caCert).publicKey)).toBe(true);
    expect(leaf.checkIP("127.0.0.1")).toBe("127.0.0.1");

    const nomad = await fake({ tls: { cert: pki.serverCert, key: pki.serverKey, clientCa: pki.caCert } });
    const withClientCert = new Agent({ connect: { ca: pki.caCert, cert: pki.clientCert, key: pki.clientKey } });
    const answer = await request(`${nomad.url}/v1/status/leader`, { dispatcher: withClientCert });
    expect(answer.statusCode).toBe(200);
    await answer.body.text();
    expect(nomad.requests[0]?.clientCertificateCn).toBe("vault-nomad-plugin");
    await withClientCert.close();

    const withoutClientCert = new Agent({ connect: { ca: pki.caCert } });
    await expect(
      request(`${nomad.url}/v1/status/leader`, { dispatcher: withoutClientCert }).then((response) => response.body.text()),
    ).rejects.toThrow();
    await withoutClientCert.destroy();
  });
});
