// The runtime's floor (issue 13 item 6): the smallest plugin this stack can be.
// It uses the same transport and Vault contract as the real executable
// (serveVault: go-plugin handshake, AutoMTLS, multiplexing, the brokered
// storage) and is packaged the same way (scripts/lib/bench-floor.mjs), but its
// backend answers from memory: config/lease reads return fixed values, writes
// are accepted and dropped, everything else is unsupported. Measured through
// the same bench host, it shows what the runtime costs before any of our
// engine code runs; what ours costs above it is our code.
import { onTermination } from "../../../src/early-signals.ts";
import { ErrorCode, PluginError } from "../../../src/shared/errors.ts";
import { stderrLogger } from "../../../src/shared/log.ts";
import { serveVault } from "../../../src/vault/serve.ts";
import { BackendType, type LogicalBackend, type Request, type Response } from "../../../src/framework/logical.ts";

/** Vault's own fields for config/lease, as the engine answers them (seconds). */
const LEASE_CONFIG = { ttl: 3600, max_ttl: 7200 };

function floorBackend(): LogicalBackend {
  return {
    setup: async () => undefined,
    initialize: async () => undefined,
    handleRequest: async (request: Request): Promise<Response | null> => {
      if (request.path === "config/lease" && request.operation === "read") return { data: LEASE_CONFIG };
      if (request.operation === "create" || request.operation === "update") return null;
      throw new PluginError(ErrorCode.UnsupportedPath, `the floor executable answers only config/lease, not ${request.path}`);
    },
    handleExistenceCheck: async () => ({ checkFound: true, exists: true }),
    specialPaths: () => ({ root: [], unauthenticated: [], localStorage: [], sealWrapStorage: [] }),
    type: () => BackendType.Logical,
    invalidateKey: async () => undefined,
    cleanup: async () => undefined,
  };
}

async function main(): Promise<number> {
  const logger = stderrLogger("info");
  const outcome = await serveVault({
    env: process.env,
    args: process.argv.slice(2),
    logger,
    loadFactory: async () => floorBackend,
    pluginVersion: "v0.0.0-floor",
    writeHandshake: (line) => process.stdout.write(line),
    writeStderr: (text) => process.stderr.write(text),
  });
  if (outcome.kind === "not-a-plugin") return 1;
  onTermination((signal) => void outcome.server.stop(signal));
  await outcome.server.stopped;
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`floor: ${String(error)}\n`);
    process.exit(1);
  },
);
