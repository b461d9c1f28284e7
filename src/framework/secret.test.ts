// Lease helpers: issuing, renewing (echo of the stored secret) and the TTL
// rule of the Go SDK's framework.CalculateTTL.
import { describe, expect, it } from "vitest";
import { ErrorCode, PluginError } from "../shared/errors.ts";
import { NANOS_PER_SECOND } from "./logical.ts";
import { calculateTtl, defineSecret, nanosToSeconds, renewResponse, secondsToNanos, type TtlInputs } from "./secret.ts";
import { FakeSystemView, testRequest } from "./testing.ts";

const NOW = new Date("2026-01-01T00:00:00.700Z");
const secondsAgo = (seconds: number): Date => new Date(NOW.getTime() - seconds * 1000);

describe("calculateTtl (mount default 1h, mount max 2h)", () => {
  const system = new FakeSystemView({ defaultLeaseTtlSeconds: 3600, maxLeaseTtlSeconds: 7200 });

  it.each<[string, TtlInputs, number, string[]]>([
    ["the mount default without other input", {}, 3600, []],
    ["the increment when given", { increment: 60, backendTtl: 120 }, 60, []],
    ["the backend TTL without increment", { backendTtl: 120 }, 120, []],
    [
      "the mount max as a cap",
      { increment: 10_000 },
      7200,
      ['TTL of "2h46m40s" exceeded the effective max_ttl of "2h"; TTL value is capped accordingly'],
    ],
    [
      "a smaller backend max",
      { backendTtl: 3600, backendMaxTtl: 600 },
      600,
      ['TTL of "1h" exceeded the effective max_ttl of "10m"; TTL value is capped accordingly'],
    ],
    [
      "the max counted from the issue time",
      { backendTtl: 7000, startTime: secondsAgo(1000) },
      6200,
      ['TTL of "1h56m40s" exceeded the effective max_ttl of "1h43m20s"; TTL value is capped accordingly'],
    ],
    [
      "an explicit max below the others",
      { explicitMaxTtl: 300, backendMaxTtl: 600 },
      300,
      ['TTL of "1h" exceeded the effective max_ttl of "5m"; TTL value is capped accordingly'],
    ],
    ["a period instead of the TTL, not capped by the issue time", { period: 60, startTime: secondsAgo(7000) }, 60, []],
    [
      "a period capped by the max",
      { period: 10_000 },
      7200,
      ['period of "2h46m40s" exceeded the effective max_ttl of "2h"; period value is capped accordingly'],
    ],
  ])("gives %s", async (_case, inputs, ttl, warnings) => {
    expect(await calculateTtl(system, { now: NOW, ...inputs })).toEqual({ ttl, warnings });
  });

  it("refuses to renew past the max TTL", async () => {
    await expect(calculateTtl(system, { now: NOW, startTime: secondsAgo(7200) })).rejects.toThrowError(
      "past the max TTL, cannot renew",
    );
  });

  it("refuses a zero max TTL", async () => {
    const zero = new FakeSystemView({ maxLeaseTtlSeconds: 0 });
    const error = await calculateTtl(zero, { now: NOW }).catch((caught: unknown) => caught);
    expect(PluginError.is(error, ErrorCode.Internal)).toBe(true);
    expect((error as PluginError).message).toBe("max TTL must be greater than zero");
  });
});

describe("secret responses", () => {
  const secret = defineSecret({ type: "token", defaultDuration: 90, renew: async () => null });

  it("puts internal data, secret_type and the default TTL on an issued lease", () => {
    const response = secret.response({ secret_id: "s" }, { accessor_id: "a" });
    expect(response.data).toEqual({ secret_id: "s" });
    expect(response.secret?.internalData).toEqual({ accessor_id: "a", secret_type: "token" });
    expect(response.secret?.leaseOptions.ttl).toBe(90n * NANOS_PER_SECOND);
    expect(response.secret?.leaseOptions.renewable).toBe(true);
    expect(response.secret?.leaseOptions.issueTime).toBeInstanceOf(Date);
  });

  it("cannot be overridden through internal data: secret_type always names the secret", () => {
    const response = secret.response(null, { secret_type: "forged" });
    expect(response.secret?.internalData.secret_type).toBe("token");
  });

  it("renews by echoing the stored secret and setting TTLs in nanoseconds", () => {
    const issueTime = new Date("2026-01-01T00:00:00Z");
    const request = testRequest({
      operation: "renew",
      secret: {
        leaseId: "",
        internalData: { accessor_id: "a", secret_type: "token" },
        leaseOptions: { ttl: 5n, maxTtl: 0n, renewable: true, increment: 7n, issueTime },
      },
    });
    expect(renewResponse(request, { ttl: 60, maxTtl: 120, data: { kept: true } })).toEqual({
      data: { kept: true },
      secret: {
        leaseId: "",
        internalData: { accessor_id: "a", secret_type: "token" },
        leaseOptions: {
          ttl: 60n * NANOS_PER_SECOND,
          maxTtl: 120n * NANOS_PER_SECOND,
          renewable: true,
          increment: 7n,
          issueTime,
        },
      },
    });
  });

  it("gives a renewed lease an issue time when the stored one had none", () => {
    const request = testRequest({
      operation: "renew",
      secret: {
        leaseId: "",
        internalData: { secret_type: "token" },
        leaseOptions: { ttl: 0n, maxTtl: 0n, renewable: true, increment: 0n, issueTime: null },
      },
    });
    expect(secret.renewResponse(request).secret?.leaseOptions.issueTime).toBeInstanceOf(Date);
  });

  it("refuses to renew a request without a secret", () => {
    expect(() => renewResponse(testRequest({ operation: "renew" }))).toThrowError("request has no secret");
  });
});

describe("duration conversions", () => {
  it.each<[number, bigint]>([
    [0, 0n],
    [1, NANOS_PER_SECOND],
    [1.9, NANOS_PER_SECOND],
    [32 * 24 * 3600, 2_764_800_000_000_000n],
  ])("%d s ↔ %d ns", (seconds, nanos) => {
    expect(secondsToNanos(seconds)).toBe(nanos);
    expect(nanosToSeconds(nanos)).toBe(Math.trunc(seconds));
  });
});
