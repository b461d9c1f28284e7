// A small HTTP helper over global fetch, and a poller that gives up early (with
// the server's log) when the server it waits for has died.
import { describeExit, type ManagedProcess } from "./process.ts";

export interface HttpResult {
  status: number;
  text: string;
  /** The Location header of a redirect answered with redirect: "manual". */
  location?: string;
  /** Parsed body; throws with the raw text when it is not JSON. */
  json<T>(): T;
}

export interface RequestOptions {
  headers?: Record<string, string>;
  body?: unknown;
  timeoutMs?: number;
  /**
   * "manual": answer a redirect as it is. A Vault/OpenBao standby that cannot
   * forward a request redirects (307) to the active node it last knew, which
   * after a SIGKILL refuses connections: a test must see the 307, not that.
   */
  redirect?: "follow" | "manual";
}

export async function httpRequest(method: string, url: string, options: RequestOptions = {}): Promise<HttpResult> {
  const headers: Record<string, string> = { ...options.headers };
  let body: string | undefined;
  if (options.body !== undefined) {
    body = typeof options.body === "string" ? options.body : JSON.stringify(options.body);
    headers["Content-Type"] ??= "application/json";
  }
  const response = await fetch(url, {
    method,
    headers,
    body,
    redirect: options.redirect ?? "follow",
    signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
  });
  const text = await response.text();
  return {
    status: response.status,
    ...(response.headers.get("location") === null ? {} : { location: response.headers.get("location") as string }),
    text,
    json<T>(): T {
      try {
        return JSON.parse(text) as T;
      } catch {
        throw new Error(`${method} ${url}: expected JSON, got HTTP ${response.status}: ${text.slice(0, 500)}`);
      }
    },
  };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Fail fast (with its log) if this process exits while we wait. */
  process?: ManagedProcess;
}

/**
 * Polls `probe` until it returns something other than undefined. Errors thrown
 * by the probe count as "not yet" (connection refused while a server starts);
 * the last one is reported on timeout.
 */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, options: WaitOptions = {}): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  let last = "no attempt finished";
  for (;;) {
    const exitInfo = options.process?.exit();
    if (options.process !== undefined && exitInfo !== undefined) {
      throw new Error(
        `${options.process.name} ${describeExit(exitInfo)} while waiting for ${what}; log ${options.process.logFile}:\n` +
          options.process.tail(60),
      );
    }
    try {
      const value = await probe();
      if (value !== undefined) return value;
      last = "not ready yet";
    } catch (error: unknown) {
      last = error instanceof Error ? (error.cause instanceof Error ? `${error.message}: ${error.cause.message}` : error.message) : String(error);
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${last})`);
    await sleep(options.intervalMs ?? 250);
  }
}
