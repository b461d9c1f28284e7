// Self-monitoring: plugins run outside Vault's core, so the operator's only
// window is the host log. We keep a few counters and a bounded latency sample,
// and log them periodically and once at shutdown.
import type { Logger } from "./log.ts";

const LATENCY_SAMPLE_SIZE = 2048;

export class LatencySample {
  private readonly values: number[] = [];
  private next = 0;
  count = 0;

  record(milliseconds: number): void {
    this.count += 1;
    if (this.values.length < LATENCY_SAMPLE_SIZE) this.values.push(milliseconds);
    else {
      this.values[this.next] = milliseconds;
      this.next = (this.next + 1) % LATENCY_SAMPLE_SIZE;
    }
  }

  /** Quantile over the most recent samples; null with no samples yet. */
  quantile(q: number): number | null {
    if (this.values.length === 0) return null;
    const sorted = [...this.values].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
  }
}

export class PluginMetrics {
  requests = 0;
  errors = 0;
  readonly nomadLatency = new LatencySample();
  nomadFailures = 0;
  /** Credentials made for a request that could not deliver them, deleted again. */
  orphansRemoved = 0;
  /** Such credentials that could not be deleted: only their own expiry ends them. */
  orphansLeft = 0;
  private readonly startedAt = Date.now();

  recordRequest(failed: boolean): void {
    this.requests += 1;
    if (failed) this.errors += 1;
  }

  recordNomadCall(milliseconds: number, failed: boolean): void {
    this.nomadLatency.record(milliseconds);
    if (failed) this.nomadFailures += 1;
  }

  recordOrphan(removed: boolean): void {
    if (removed) this.orphansRemoved += 1;
    else this.orphansLeft += 1;
  }

  snapshot(): Record<string, number | null> {
    const memory = process.memoryUsage();
    const round = (value: number | null) => (value === null ? null : Math.round(value * 10) / 10);
    return {
      uptime_s: Math.round((Date.now() - this.startedAt) / 1000),
      rss_mb: round(memory.rss / 2 ** 20),
      heap_used_mb: round(memory.heapUsed / 2 ** 20),
      requests: this.requests,
      errors: this.errors,
      nomad_calls: this.nomadLatency.count,
      nomad_failures: this.nomadFailures,
      nomad_p50_ms: round(this.nomadLatency.quantile(0.5)),
      nomad_p99_ms: round(this.nomadLatency.quantile(0.99)),
      orphans_removed: this.orphansRemoved,
      orphans_left: this.orphansLeft,
    };
  }

  /** Logs a debug line every `intervalMs`; the timer never keeps the process alive. */
  startReporting(logger: Logger, intervalMs: number): () => void {
    if (intervalMs <= 0) return () => undefined;
    const timer = setInterval(() => logger.debug("plugin stats", this.snapshot()), intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }
}

/** One per process: every mount in a multiplexed process reports into it. */
export const processMetrics = new PluginMetrics();
