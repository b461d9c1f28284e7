import { afterEach, describe, expect, it, vi } from "vitest";
import { attemptSignal } from "./attempt-signal.ts";

afterEach(() => {
  vi.useRealTimers();
});

describe("the signal of one Nomad call attempt", () => {
  it("aborts at its own timeout and says so", () => {
    vi.useFakeTimers();
    const attempt = attemptSignal(1_000);
    vi.advanceTimersByTime(999);
    expect(attempt.signal.aborted).toBe(false);
    vi.advanceTimersByTime(1);
    expect(attempt.signal.aborted).toBe(true);
    expect(attempt.timedOut).toBe(true);
    expect((attempt.signal.reason as DOMException).name).toBe("TimeoutError");
  });

  it("follows the client stopping or the caller giving up, without calling it a timeout", () => {
    const stopping = new AbortController();
    const caller = new AbortController();
    const attempt = attemptSignal(60_000, stopping.signal, caller.signal);
    caller.abort(new Error("caller gone"));
    expect(attempt.signal.aborted).toBe(true);
    expect(attempt.timedOut).toBe(false);
    expect((attempt.signal.reason as Error).message).toBe("caller gone");
    attempt.dispose();
  });

  it("starts aborted when an outer signal already is", () => {
    const attempt = attemptSignal(60_000, undefined, AbortSignal.abort(new Error("stopped")));
    expect(attempt.signal.aborted).toBe(true);
    attempt.dispose();
  });

  it("once disposed, neither the timer nor an outer signal touches it", () => {
    vi.useFakeTimers();
    const stopping = new AbortController();
    const attempt = attemptSignal(1_000, stopping.signal);
    attempt.dispose();
    vi.advanceTimersByTime(5_000);
    stopping.abort();
    expect(attempt.signal.aborted).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
  });
});
