// Tokens no lease will ever track: a creds request that fails after Nomad made
// the token (the host stopped waiting, the answer was lost, Nomad failed), and
// how the engine cleans up, retries, and counts what it could not clean.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { processMetrics } from "../../src/shared/metrics.ts";
import { startEngine, type EngineHarness } from "../support/engine-harness.ts";

let h: EngineHarness;
beforeEach(async () => {
  h = await startEngine();
  expect((await h.configure()).status).toBe(204);
  expect((await h.call("update", "role/dispatch", { policies: "dispatch", max_ttl: 600 })).status).toBe(204);
});
afterEach(async () => {
  await h.close();
});

function abandonWhenNomadCreates(): AbortSignal {
  const host = new AbortController();
  h.nomad.afterHandling({ method: "PUT", path: "/v1/acl/token" }, () => host.abort());
  return host.signal;
}

describe("tokens without a lease", () => {
  it("deletes the token when the host stops waiting after Nomad made it, and counts it as removed", async () => {
    const before = { ...processMetrics };
    const signal = abandonWhenNomadCreates();
    const outcome = await h.call("read", "creds/dispatch", null, { signal });
    expect(outcome.status).toBe(500);
    expect(h.nomad.requestCount({ method: "PUT", path: "/v1/acl/token" })).toBe(1);
    expect(h.nomad.issuedTokens()).toEqual([]);
    expect(processMetrics.orphansRemoved).toBe(before.orphansRemoved + 1);
    expect(processMetrics.orphansLeft).toBe(before.orphansLeft);
    expect(processMetrics.snapshot()).toMatchObject({ orphans_removed: processMetrics.orphansRemoved });
  });

  it("counts a token it could not delete as left; the token still ends at its own Nomad expiry", async () => {
    const before = processMetrics.orphansLeft;
    const signal = abandonWhenNomadCreates();
    h.nomad.failNext({ method: "GET", path: "/v1/acl/tokens", status: 500, body: "rpc error: EOF", times: 10 });
    const outcome = await h.call("read", "creds/dispatch", null, { signal });
    expect(outcome.status).toBe(500);
    const [left, ...others] = h.nomad.issuedTokens();
    expect(others).toEqual([]);
    expect(left?.ExpirationTime).toBeTruthy();
    const lifetimeMs = Date.parse(left?.ExpirationTime ?? "") - Date.parse(left?.CreateTime ?? "");
    expect(lifetimeMs).toBeLessThanOrEqual(600_000);
    expect(processMetrics.orphansLeft).toBe(before + 1);
    expect(processMetrics.snapshot()).toMatchObject({ orphans_left: processMetrics.orphansLeft });
    expect(h.mount.logs.join("\n")).toContain("its expiration will end it");
  });

  it("answers creds through a leader election: a 'No cluster leader' create is retried, one token results", async () => {
    h.nomad.failNext({ method: "PUT", path: "/v1/acl/token", status: 500, body: "No cluster leader" });
    const outcome = await h.creds("dispatch");
    expect(outcome.status).toBe(200);
    const issued = h.nomad.issuedTokens();
    expect(issued.map((token) => token.AccessorID)).toEqual([outcome.response?.data?.accessor_id]);
    expect(h.nomad.requestCount({ method: "PUT", path: "/v1/acl/token" })).toBe(2);
  });

  it("hands the caller the token a failed create made, rather than minting a second", async () => {
    h.nomad.failNext({ method: "PUT", path: "/v1/acl/token", status: 504, body: "Gateway Timeout", afterProcessing: true });
    const outcome = await h.creds("dispatch");
    expect(outcome.status).toBe(200);
    const [only, ...others] = h.nomad.issuedTokens();
    expect(others).toEqual([]);
    expect(outcome.response?.data).toEqual({ accessor_id: only?.AccessorID, secret_id: only?.SecretID });
  });

  it("does not retry past the host's deadline", async () => {
    h.nomad.failNext({ method: "PUT", path: "/v1/acl/token", status: 500, body: "No cluster leader" });
    const outcome = await h.call("read", "creds/dispatch", null, { deadline: Date.now() + 50 });
    expect(outcome.status).toBe(500);
    expect(outcome.errors?.join(" ")).toContain("No cluster leader");
    expect(h.nomad.requestCount({ method: "PUT", path: "/v1/acl/token" })).toBe(1);
  });
});
