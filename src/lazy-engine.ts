// Loads the Nomad engine after the handshake.
//
// Start-up is exec → handshake line, and V8 compiles the whole main script
// before it runs. The engine and its libraries (undici, zod) are over half of
// the code, yet nothing before the handshake needs them. So the build bundles
// the engine on its own and stores it as an asset of the executable, evaluated
// when Vault's first call needs it. The chunk's imports of the shared modules
// resolve to this bundle's instances, so there is one PluginError class and
// one metrics registry in the process.
//
// Outside the built executable (tests) the engine is an ordinary dynamic import.
import * as errors from "./shared/errors.ts";
import * as log from "./shared/log.ts";
import * as metrics from "./shared/metrics.ts";
import * as redact from "./shared/redact.ts";
import * as logical from "./framework/logical.ts";
import type { BackendFactory } from "./framework/logical.ts";
import { getAsset, isSea } from "node:sea";

/** The asset name scripts/build.mjs stores the engine chunk under. */
export const ENGINE_CHUNK_ASSET = "engine-chunk.cjs";

/** The modules the chunk shares with this bundle, by the ids the build gives them. */
export const SHARED_MODULES: Readonly<Record<string, unknown>> = {
  "shared:shared/errors.ts": errors,
  "shared:shared/log.ts": log,
  "shared:shared/metrics.ts": metrics,
  "shared:shared/redact.ts": redact,
  "shared:framework/logical.ts": logical,
};

export async function loadNomadEngine(): Promise<BackendFactory> {
  if (isSea()) return evaluateChunk(getAsset(ENGINE_CHUNK_ASSET, "utf8"));
  return (await import("./engine/nomad/backend.ts")).nomadBackendFactory;
}

function evaluateChunk(source: string): BackendFactory {
  const module = { exports: {} as { nomadBackendFactory?: BackendFactory } };
  const requireShared = (id: string): unknown => SHARED_MODULES[id] ?? require(id);
  // The chunk is our own build output, embedded at build time; nothing external is evaluated.
  new Function("module", "exports", "require", source)(module, module.exports, requireShared);
  if (typeof module.exports.nomadBackendFactory !== "function") {
    throw new errors.PluginError(errors.ErrorCode.Internal, "the engine chunk does not export nomadBackendFactory");
  }
  return module.exports.nomadBackendFactory;
}
