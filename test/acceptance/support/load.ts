// Bounded load for the cluster suite: a worker pool that runs until a number of
// successes (or an attempt cap), a client-side picker that spreads requests over
// nodes and skips one that refused a connection (as a health-checked load
// balancer would), and the arithmetic of a failover window.
import { sleep } from "./http.ts";

export interface Attempt {
  start: number;
  end: number;
  ok: boolean;
  /** Which node or server the request went to. */
  target: string;
  status?: number;
  /** Why it failed: the server's error text, or the transport error. */
  error?: string;
}

export interface PoolOptions {
  /** Stop once this many bodies returned true. */
  successes: number;
  concurrency: number;
  /** Never start more than this many bodies, whatever happens. */
  maxAttempts: number;
  /** A failed body waits this long before its worker goes on, as a client would. */
  backoffMs: number;
  /** True when the body succeeded. */
  body(index: number): Promise<boolean>;
}

export interface PoolResult {
  attempts: number;
  successes: number;
  durationMs: number;
}

export async function runPool(options: PoolOptions): Promise<PoolResult> {
  const started = Date.now();
  let next = 0;
  let successes = 0;
  const worker = async (): Promise<void> => {
    while (successes < options.successes && next < options.maxAttempts) {
      const index = next;
      next += 1;
      if (await options.body(index)) successes += 1;
      else await sleep(options.backoffMs);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  return { attempts: next, successes, durationMs: Date.now() - started };
}

/** A transport error (refused, reset, timed out) as one line, with its errno code. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? `: ${(error.cause as NodeJS.ErrnoException).code ?? error.cause.message}` : "";
  return `${error.message}${cause}`;
}

/**
 * Round-robin over targets, skipping for a while one that gave no answer (a
 * health-checked load balancer does the same); with every target benched it
 * tries them all again rather than stopping.
 */
export class Picker<T extends { id: string }> {
  private readonly benchedUntil = new Map<string, number>();
  private turn = 0;

  constructor(
    private readonly targets: readonly T[],
    private readonly benchMs = 2_000,
  ) {}

  next(): T {
    const now = Date.now();
    const live = this.targets.filter((target) => (this.benchedUntil.get(target.id) ?? 0) <= now);
    const pool = live.length > 0 ? live : this.targets;
    const target = pool[this.turn % pool.length] as T;
    this.turn += 1;
    return target;
  }

  /**
   * No answer from this target: leave it out for a while. When nothing listens
   * there any more, leave it out until `restore`: a load balancer's health
   * check keeps a dead backend out until it passes again, however long that is.
   */
  bench(target: T, refused = false): void {
    this.benchedUntil.set(target.id, refused ? Number.POSITIVE_INFINITY : Date.now() + this.benchMs);
  }

  restore(target: T): void {
    this.benchedUntil.delete(target.id);
  }
}

export interface WindowFigures {
  /** When the fault was injected (ms since the epoch). */
  faultAt: number;
  /** End of the first success anywhere that started after the fault (and after `notBefore`). */
  firstRecoveredAt: number | undefined;
  /**
   * When every target that served after the fault had served once: the end of
   * the failover window. A standby that still redirects to the dead node after
   * the election has not recovered yet, whatever the other nodes do.
   */
  recoveredAt: number | undefined;
  /** recoveredAt - faultAt */
  durationMs: number | undefined;
  /** Each target's first success after the fault, ms after it. */
  recoveredMsByTarget: Record<string, number>;
  failuresInWindow: number;
  failuresOutsideWindow: number;
  /** Distinct failure texts with counts (secrets checked for by the caller). */
  errors: Record<string, number>;
}

/** The targets an attempt went to: one, or several joined by "+" (a creds on one node, its revoke on another). */
export function attemptTargets(attempt: Attempt): string[] {
  return attempt.target.split("+");
}

/**
 * The failover window runs from the fault until every target that answers
 * after it has succeeded once, counting only requests that started no earlier
 * than `notBefore` (when a new leader was seen: a request that reached the old
 * one just before it died does not end the window). A target that never
 * succeeds again (the killed node) does not hold the window open: its failures
 * after the others recovered count as outside. A failure overlapping the
 * window counts as in it; any other failure is outside.
 */
export function failoverWindow(attempts: readonly Attempt[], faultAt: number, notBefore = faultAt): WindowFigures {
  const firstByTarget = new Map<string, number>();
  for (const attempt of attempts) {
    if (!attempt.ok || attempt.start < notBefore) continue;
    for (const target of attemptTargets(attempt)) {
      const first = firstByTarget.get(target);
      if (first === undefined || attempt.end < first) firstByTarget.set(target, attempt.end);
    }
  }
  const ends = [...firstByTarget.values()];
  const firstRecoveredAt = ends.length > 0 ? Math.min(...ends) : undefined;
  const recoveredAt = ends.length > 0 ? Math.max(...ends) : undefined;
  const windowEnd = recoveredAt ?? Number.POSITIVE_INFINITY;
  let inside = 0;
  let outside = 0;
  const errors: Record<string, number> = {};
  for (const attempt of attempts) {
    if (attempt.ok) continue;
    if (attempt.end >= faultAt && attempt.start <= windowEnd) inside += 1;
    else outside += 1;
    const key = `${attempt.target} ${attempt.status ?? "no answer"}: ${(attempt.error ?? "").replace(/\s+/g, " ").slice(0, 240)}`;
    errors[key] = (errors[key] ?? 0) + 1;
  }
  return {
    faultAt,
    firstRecoveredAt,
    recoveredAt,
    durationMs: recoveredAt === undefined ? undefined : recoveredAt - faultAt,
    recoveredMsByTarget: Object.fromEntries([...firstByTarget].map(([target, end]) => [target, end - faultAt])),
    failuresInWindow: inside,
    failuresOutsideWindow: outside,
    errors,
  };
}

/** Whole-number env setting with a default; refuses nonsense instead of guessing. */
export function envInt(name: string, fallback: number, minimum = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < minimum) throw new Error(`${name}=${raw}: want a whole number >= ${minimum}`);
  return value;
}

export function envFraction(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === "") return fallback;
  const value = Number(raw);
  if (!(value > 0 && value < 1)) throw new Error(`${name}=${raw}: want a fraction between 0 and 1`);
  return value;
}
