import { describe, expect, it } from "vitest";
import { planLease, renewalTtl, type ExpirationPolicy } from "./lease-policy.ts";

const NOMAD_DEFAULTS: ExpirationPolicy = { enabled: true, minTtl: 60, maxTtl: 86_400 };
const OFF: ExpirationPolicy = { enabled: false, minTtl: 60, maxTtl: 86_400 };
const none = { ttl: 0, maxTtl: 0 };
const system = { ttl: 2_764_800, maxTtl: 2_764_800 }; // Vault's 768h defaults

describe("lease plan", () => {
  it.each([
    {
      case: "role TTLs win over config/lease (issue #7305)",
      role: { ttl: 600, maxTtl: 1800 },
      mount: { ttl: 3600, maxTtl: 7200 },
      expected: { ttl: 600, maxTtl: 1800, tokenTtl: 1800 },
    },
    {
      case: "config/lease applies when the role sets none",
      role: none,
      mount: { ttl: 3600, maxTtl: 7200 },
      expected: { ttl: 3600, maxTtl: 7200, tokenTtl: 7200 },
    },
    {
      case: "nothing set: the lease is capped at Nomad's 24 h so it cannot outlive its token",
      role: none,
      mount: none,
      expected: { ttl: 86_400, maxTtl: 86_400, tokenTtl: 86_400 },
    },
    {
      case: "a max below Nomad's minimum: the token lives the minimum, the lease keeps its max",
      role: { ttl: 20, maxTtl: 30 },
      mount: none,
      expected: { ttl: 20, maxTtl: 30, tokenTtl: 60 },
    },
    {
      case: "ttl above max_ttl is cut to max_ttl",
      role: { ttl: 7200, maxTtl: 3600 },
      mount: none,
      expected: { ttl: 3600, maxTtl: 3600, tokenTtl: 3600 },
    },
  ])("$case", ({ role, mount, expected }) => {
    expect(planLease(role, mount, system, NOMAD_DEFAULTS)).toMatchObject(expected);
  });

  it("warns when the configured max_ttl exceeds what Nomad allows, and caps the lease", () => {
    const plan = planLease({ ttl: 0, maxTtl: 172_800 }, none, system, NOMAD_DEFAULTS);
    expect(plan).toMatchObject({ maxTtl: 86_400, tokenTtl: 86_400 });
    expect(plan.warnings).toEqual([
      "max_ttl of 48h exceeds the longest Nomad token expiration (24h); the lease's max_ttl is capped accordingly",
    ]);
  });

  it("respects the mount's max lease TTL from Vault", () => {
    expect(planLease({ ttl: 0, maxTtl: 7200 }, none, { ttl: 60, maxTtl: 1800 }, NOMAD_DEFAULTS)).toMatchObject({
      ttl: 60,
      maxTtl: 1800,
      tokenTtl: 1800,
    });
  });

  it("creates tokens without expiry when expiration is off (Nomad < 1.4), like the builtin", () => {
    expect(planLease(none, { ttl: 3600, maxTtl: 0 }, system, OFF)).toMatchObject({
      ttl: 3600,
      maxTtl: 2_764_800,
      tokenTtl: null,
    });
  });
});

describe("renewal cap", () => {
  const now = new Date("2026-01-01T00:00:00Z");
  it("never extends a lease past the token's expiration", () => {
    expect(renewalTtl(3600, new Date("2026-01-01T00:10:00Z"), now)).toBe(600);
    expect(renewalTtl(300, new Date("2026-01-01T00:10:00Z"), now)).toBe(300);
    expect(renewalTtl(300, new Date("2025-12-31T23:00:00Z"), now)).toBe(0);
    expect(renewalTtl(300, null, now)).toBe(300);
  });
});
