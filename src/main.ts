// The executable Vault or OpenBao starts: wires the environment to the transport,
// the Vault contract and the Nomad engine. stdout carries only the handshake line.
// First: catches signals before any other module is evaluated (see the module).
import { onIgnoredInterrupt, onTermination, terminationRequested } from "./early-signals.ts";
import * as grpc from "@grpc/grpc-js";
import { LOG_LEVEL_ENV, parseLogLevel, stderrLogger, type Logger } from "./shared/log.ts";
import { toPluginError } from "./shared/errors.ts";
import { processMetrics } from "./shared/metrics.ts";
import { serveVault } from "./vault/serve.ts";
import { NOTICES_ASSET, PLUGIN_NAME, PLUGIN_VERSION, usageText, versionText } from "./version.ts";
import { getAsset, isSea } from "node:sea";
import { applyHeapCap, heapLimitMb, warnIfMlockRequested } from "./runtime-limits.ts";
import { loadNomadEngine } from "./lazy-engine.ts";

/**
 * Vault hands its whole environment to plugins. NODE_OPTIONS is already ignored
 * (the executable is built with execArgvExtension "cli", which reads only
 * --node-options on the command line); these would still weaken TLS at run
 * time, so they are dropped before any connection is made.
 */
const IGNORED_RUNTIME_ENV = ["NODE_TLS_REJECT_UNAUTHORIZED", "NODE_EXTRA_CA_CERTS", "SSLKEYLOGFILE"];

/** How often the stats line is logged (debug); set through the catalog entry's env. */
const STATS_INTERVAL_ENV = "NOMAD_PLUGIN_STATS_INTERVAL_SECONDS";
const DEFAULT_STATS_INTERVAL_SECONDS = 300;

function routeGrpcLogs(logger: Logger): void {
  grpc.setLogger({
    error: (...args: unknown[]) => logger.debug(`grpc: ${args.map(String).join(" ")}`),
    info: (...args: unknown[]) => logger.trace(`grpc: ${args.map(String).join(" ")}`),
    debug: (...args: unknown[]) => logger.trace(`grpc: ${args.map(String).join(" ")}`),
  });
  grpc.setLogVerbosity(grpc.logVerbosity.ERROR);
}

/**
 * A person at a terminal, not a host: these flags answer on stdout like any CLI.
 * A host never passes them (catalog args are the legacy TLS flags), so the
 * handshake rule for stdout is untouched.
 */
function answerCommandLine(argv: readonly string[]): boolean {
  const has = (...flags: string[]) => flags.some((flag) => argv.includes(flag));
  if (has("--version", "-version")) {
    process.stdout.write(versionText());
    return true;
  }
  if (has("--licenses", "-licenses")) {
    process.stdout.write(isSea() ? getAsset(NOTICES_ASSET, "utf8") : "not a built executable: the notices are in dist/THIRD_PARTY_NOTICES.txt after npm run build\n");
    return true;
  }
  if (has("--help", "-help", "-h")) {
    process.stdout.write(usageText());
    return true;
  }
  return false;
}

async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  if (answerCommandLine(argv)) return 0;
  for (const name of IGNORED_RUNTIME_ENV) delete process.env[name];
  applyHeapCap(env, argv, (message) => process.stderr.write(`${PLUGIN_NAME}: ${message}\n`));

  const logger = stderrLogger(parseLogLevel(env[LOG_LEVEL_ENV]));
  warnIfMlockRequested(env, logger);
  logger.debug("plugin starting", { version: PLUGIN_VERSION, heap_limit_mb: heapLimitMb() });
  routeGrpcLogs(logger);
  onIgnoredInterrupt(() => logger.debug("ignoring SIGINT; the host stops plugins through the controller"));

  const outcome = await serveVault({
    env,
    args: argv,
    logger,
    loadFactory: loadNomadEngine,
    pluginVersion: PLUGIN_VERSION,
    // The one line stdout ever carries: go-plugin's handshake.
    writeHandshake: (handshake) => process.stdout.write(handshake),
    writeStderr: (text) => process.stderr.write(text),
  });
  if (outcome.kind === "not-a-plugin") return 1;

  const { server } = outcome;
  const early = terminationRequested();
  if (early !== null) logger.debug("stopping: a signal arrived during start-up", { signal: early });
  onTermination((signal) => void server.stop(signal));
  const intervalSeconds = Number(env[STATS_INTERVAL_ENV] ?? DEFAULT_STATS_INTERVAL_SECONDS);
  const stopReporting = processMetrics.startReporting(
    logger,
    Number.isFinite(intervalSeconds) ? intervalSeconds * 1000 : DEFAULT_STATS_INTERVAL_SECONDS * 1000,
  );
  const reason = await server.stopped;
  stopReporting();
  logger.info("plugin exiting", { reason, ...processMetrics.snapshot() });
  return 0;
}

main(process.argv.slice(2), process.env).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const pluginError = toPluginError(error);
    process.stderr.write(`${PLUGIN_NAME}: ${pluginError.message} (${pluginError.code})\n`);
    process.exit(1);
  },
);
