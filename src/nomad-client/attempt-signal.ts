// The abort signal of one Nomad call attempt: its own timeout, the client
// stopping, or the caller giving up, whichever comes first.
//
// Not `AbortSignal.any([AbortSignal.timeout(ms), ...])`: that timer is never
// cleared, so every call, answered or not, later fires it, builds a
// DOMException with a stack and walks the composite signals. In a creds profile
// that was about 1.6 % of the samples. Here the timer and listeners go as
// soon as the attempt ends.

export interface AttemptSignal {
  readonly signal: AbortSignal;
  /** True once the attempt's own timeout fired (not the client or the caller). */
  readonly timedOut: boolean;
  /** Clears the timer and listeners; call it when the attempt ends, however it ends. */
  dispose(): void;
}

export function attemptSignal(timeoutMs: number, ...outer: Array<AbortSignal | undefined>): AttemptSignal {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new DOMException(`no answer within ${timeoutMs}ms`, "TimeoutError"));
  }, timeoutMs);
  // A Nomad call in flight must not keep a stopping process alive.
  timer.unref();
  const linked: AbortSignal[] = [];
  const follow = (event: Event) => controller.abort((event.target as AbortSignal).reason);
  for (const signal of outer) {
    if (signal === undefined) continue;
    if (signal.aborted) {
      controller.abort(signal.reason);
      break;
    }
    signal.addEventListener("abort", follow, { once: true });
    linked.push(signal);
  }
  return {
    signal: controller.signal,
    get timedOut() {
      return timedOut;
    },
    dispose() {
      clearTimeout(timer);
      for (const signal of linked) signal.removeEventListener("abort", follow);
    },
  };
}
