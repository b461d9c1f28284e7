// Serves a backend to Vault or OpenBao: the go-plugin transport configured with
// Vault's cookie, protocol versions and TLS rules, plus Vault's gRPC services.
import * as grpc from "@grpc/grpc-js";
import { ErrorCode, PluginError } from "../shared/errors.ts";
import type { Logger } from "../shared/log.ts";
import { chooseProtocolVersion, hasMagicCookie, NOT_A_PLUGIN_MESSAGE, type MagicCookie } from "../host/handshake.ts";
import { startPluginServer, type RunningPluginServer } from "../host/server.ts";
import { autoMtls, insecureTransport, providedTls, type TransportSecurity } from "../host/transport-security.ts";
import type { BackendFactory } from "../framework/logical.ts";
import { VaultBackendServer } from "./backend-server.ts";
import { parseVaultApiTlsFlags, unwrapPluginTls } from "./legacy-tls.ts";

/** sdk/plugin HandshakeConfig; OpenBao uses the same cookie. */
export const VAULT_BACKEND_COOKIE: MagicCookie = {
  key: "VAULT_BACKEND_PLUGIN",
  value: "6669da05-b1c8-4f49-97d9-c8e5bed98e20",
};

/** 5: AutoMTLS and multiplexing (Vault ≥ 1.12, OpenBao). 4: the legacy TLS bootstrap. */
export const SUPPORTED_PROTOCOL_VERSIONS = [4, 5] as const;

export interface ServeVaultOptions {
  env: NodeJS.ProcessEnv;
  /** Catalog `args`: the legacy flow reads Vault API TLS flags from them. */
  args: readonly string[];
  logger: Logger;
  /** See VaultBackendServerOptions.loadFactory. */
  loadFactory: () => Promise<BackendFactory>;
  pluginVersion: string;
  writeHandshake(line: string): void;
  writeStderr(text: string): void;
}

export type ServeOutcome =
  | { kind: "not-a-plugin" }
  | { kind: "serving"; server: RunningPluginServer; backends: VaultBackendServer };

/** OpenBao sets each variable under both names (VAULT_* and BAO_*); either is enough. */
export function vaultEnv(env: NodeJS.ProcessEnv, suffix: string): string | undefined {
  return env[`VAULT_${suffix}`] ?? env[`BAO_${suffix}`];
}

export function isMetadataMode(env: NodeJS.ProcessEnv): boolean {
  return vaultEnv(env, "PLUGIN_METADATA_MODE") === "true";
}

/**
 * Fails closed: plaintext only for the metadata-mode run, where the host itself
 * dials without TLS; otherwise AutoMTLS, or the legacy wrapping-token bootstrap.
 */
async function transportSecurity(env: NodeJS.ProcessEnv, args: readonly string[]): Promise<TransportSecurity> {
  if (isMetadataMode(env)) return insecureTransport();
  if (env.PLUGIN_CLIENT_CERT !== undefined && env.PLUGIN_CLIENT_CERT !== "") return autoMtls(env.PLUGIN_CLIENT_CERT);
  if (vaultEnv(env, "PLUGIN_AUTOMTLS_ENABLED") === "true") return autoMtls(undefined);
  const unwrapToken = vaultEnv(env, "UNWRAP_TOKEN");
  if (unwrapToken !== undefined && unwrapToken !== "") {
    const tls = await unwrapPluginTls(unwrapToken, parseVaultApiTlsFlags(args));
    return providedTls(tls.certPem, tls.keyPem, tls.serverName);
  }
  throw new PluginError(
    ErrorCode.Tls,
    "no TLS material from the host (neither PLUGIN_CLIENT_CERT nor VAULT_UNWRAP_TOKEN is set): refusing to serve in plaintext",
  );
}

export async function serveVault(options: ServeVaultOptions): Promise<ServeOutcome> {
  const { env, logger } = options;
  if (!hasMagicCookie(env, VAULT_BACKEND_COOKIE)) {
    options.writeStderr(NOT_A_PLUGIN_MESSAGE);
    return { kind: "not-a-plugin" };
  }
  const protocol = chooseProtocolVersion(env.PLUGIN_PROTOCOL_VERSIONS, SUPPORTED_PROTOCOL_VERSIONS);
  for (const entry of protocol.invalidEntries) options.writeStderr(`server sent invalid plugin version "${entry}"\n`);

  const security = await transportSecurity(env, options.args);
  let backends: VaultBackendServer | null = null;
  const server = await startPluginServer({
    env,
    logger,
    appProtocolVersion: protocol.version,
    security,
    registerServices: (grpcServer: grpc.Server, broker) => {
      backends = new VaultBackendServer(
        { loadFactory: options.loadFactory, logger, pluginVersion: options.pluginVersion, metadataMode: isMetadataMode(env) },
        broker,
      );
      backends.register(grpcServer);
    },
    onStop: async () => {
      await backends?.closeAll();
    },
    writeHandshake: options.writeHandshake,
  });
  if (backends === null) throw new PluginError(ErrorCode.Internal, "backend services were not registered");
  const registered: VaultBackendServer = backends;
  // Load the engine while the host connects; a failure surfaces on the first call that needs it.
  registered.load().catch((error: unknown) => logger.error("could not load the backend", { error: String(error) }));
  return { kind: "serving", server, backends: registered };
}
