// Process-level limits and host requests that only the executable can honour.
//
// Heap: the executable is built with a default V8 heap cap (scripts/build.mjs).
// A different cap can be asked for through the catalog entry's env
// (NOMAD_PLUGIN_MAX_HEAP_MB). V8 fixes its heap size at start-up, so the
// process re-executes itself in place (execve: same PID, so the host's process
// handle stays valid) with the cap as a --node-options flag. NODE_OPTIONS from
// the host's environment stays ignored either way.
import { getHeapStatistics } from "node:v8";
import { isSea } from "node:sea";
import type { Logger } from "./shared/log.ts";
import { vaultEnv } from "./vault/serve.ts";
import packageJson from "../package.json" with { type: "json" };

export const MAX_HEAP_ENV = "NOMAD_PLUGIN_MAX_HEAP_MB";
const APPLIED_MARKER_ENV = "NOMAD_PLUGIN_HEAP_APPLIED_MB";
/** Baked into the executable's execArgv by scripts/build.mjs from the same package.json value. */
export const DEFAULT_MAX_HEAP_MB: number = packageJson.config.defaultMaxHeapMb;
const MIN_HEAP_MB = 32;

export type HeapRequest = { kind: "default" } | { kind: "invalid"; value: string } | { kind: "cap"; megabytes: number };

export function parseHeapRequest(value: string | undefined): HeapRequest {
  if (value === undefined || value.trim() === "") return { kind: "default" };
  const megabytes = Number(value.trim());
  if (!Number.isInteger(megabytes) || megabytes < MIN_HEAP_MB) return { kind: "invalid", value };
  return { kind: "cap", megabytes };
}

/**
 * Re-executes with the requested heap cap when it differs from the running one.
 * Returns only when no re-exec is needed (or possible).
 */
export function applyHeapCap(env: NodeJS.ProcessEnv, argv: readonly string[], warn: (message: string) => void): void {
  const request = parseHeapRequest(env[MAX_HEAP_ENV]);
  if (request.kind === "invalid") {
    warn(`${MAX_HEAP_ENV}=${request.value} is not a whole number of megabytes ≥ ${MIN_HEAP_MB}; keeping the default heap cap`);
    return;
  }
  if (request.kind === "default" || env[APPLIED_MARKER_ENV] === String(request.megabytes)) return;
  if (!isSea() || typeof process.execve !== "function") {
    warn(`${MAX_HEAP_ENV} is honoured only by the built executable; ignoring it`);
    return;
  }
  process.execve(
    process.execPath,
    [process.execPath, `--node-options=--max-old-space-size=${request.megabytes}`, ...argv],
    { ...env, [APPLIED_MARKER_ENV]: String(request.megabytes) },
  );
}

export function heapLimitMb(): number {
  return Math.round(getHeapStatistics().heap_size_limit / 2 ** 20);
}

/**
 * Go plugins call mlockall when Vault asks; Node has no way to lock its memory.
 * Say so once, clearly, instead of pretending.
 */
export function warnIfMlockRequested(env: NodeJS.ProcessEnv, logger: Logger): boolean {
  const requested = vaultEnv(env, "PLUGIN_MLOCK_ENABLED") === "true";
  if (requested) {
    logger.warn(
      "the host asked plugins to lock their memory (mlock), but a Node.js process cannot; " +
        "tokens held briefly in this plugin's memory could reach swap. Disable swap on the Vault host " +
        "(or use encrypted swap), as Vault's own docs advise when mlock is unavailable",
    );
  }
  return requested;
}
