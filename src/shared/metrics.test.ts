import { describe, expect, it } from "vitest";
import { LatencySample, PluginMetrics } from "./metrics.ts";
import { memoryLogger } from "./log.ts";

describe("latency sample", () => {
  it("reports quantiles of what was recorded", () => {
    const sample = new LatencySample();
    for (let ms = 1; ms <= 100; ms += 1) sample.record(ms);
    expect(sample.quantile(0.5)).toBe(51);
    expect(sample.quantile(0.99)).toBe(100);
    expect(new LatencySample().quantile(0.5)).toBeNull();
  });

  it("stays bounded however many calls it sees, keeping the most recent", () => {
    const sample = new LatencySample();
    for (let i = 0; i < 10_000; i += 1) sample.record(i < 5_000 ? 1 : 1000);
    expect(sample.count).toBe(10_000);
    expect(sample.quantile(0.5)).toBe(1000);
  });
});

describe("plugin metrics", () => {
  it("counts requests and errors and logs them as an hclog line", () => {
    const metrics = new PluginMetrics();
    metrics.recordRequest(false);
    metrics.recordRequest(true);
    metrics.recordNomadCall(12, false);
    const { logger, lines } = memoryLogger("debug");
    logger.debug("plugin stats", metrics.snapshot());
    const entry = JSON.parse(lines[0] as string) as Record<string, unknown>;
    expect(entry).toMatchObject({ "@level": "debug", requests: 2, errors: 1, nomad_calls: 1, nomad_p50_ms: 12 });
    expect(entry.rss_mb).toEqual(expect.any(Number));
  });
});
