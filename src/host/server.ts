// A go-plugin gRPC server: listens, offers the core services, prints the
// handshake line and runs until the host shuts it down.
import * as grpc from "@grpc/grpc-js";
import type { Logger } from "../shared/log.ts";
import { Broker } from "./broker.ts";
import { registerController, registerHealth, StdioStreams } from "./core-services.ts";
import { formatHandshakeLine } from "./handshake.ts";
import { applySocketGroup, removeSocket, socketPath } from "./listener.ts";
import type { TransportSecurity } from "./transport-security.ts";

export interface PluginServerOptions {
  env: NodeJS.ProcessEnv;
  logger: Logger;
  appProtocolVersion: number;
  security: TransportSecurity;
  /** Adds the application's services; the broker reaches the host's services. */
  registerServices(server: grpc.Server, broker: Broker): void;
  /** Application clean-up before the process ends (close brokered connections…). */
  onStop(): Promise<void>;
  writeHandshake(line: string): void;
}

export interface RunningPluginServer {
  socket: string;
  /** Settles once the server has stopped, for any reason. */
  stopped: Promise<string>;
  stop(reason: string): Promise<void>;
}

/** The host kills a plugin 2 s after Shutdown; clean-up gets part of that, never more. */
const STOP_GRACE_MS = 1_000;

const SERVER_OPTIONS: grpc.ServerOptions = {
  // Vault sends and accepts messages up to math.MaxInt32; grpc-js defaults to 4 MiB.
  "grpc.max_receive_message_length": -1,
  "grpc.max_send_message_length": -1,
  "grpc.enable_channelz": 0,
};

export async function startPluginServer(options: PluginServerOptions): Promise<RunningPluginServer> {
  const { env, logger, security } = options;
  const server = new grpc.Server(SERVER_OPTIONS);
  const broker = new Broker(security, logger);
  const stdio = new StdioStreams();

  let resolveStopped: (reason: string) => void = () => undefined;
  const stopped = new Promise<string>((resolve) => {
    resolveStopped = resolve;
  });
  let stopping: Promise<void> | null = null;
  const socket = socketPath(env);

  const stop = (reason: string): Promise<void> => {
    stopping ??= (async () => {
      logger.debug("plugin server stopping", { reason });
      stdio.closeAll();
      broker.close();
      const cleanedUp = options.onStop().then(
        () => true,
        (error: unknown) => {
          logger.warn("clean-up before stopping failed", { error: String(error) });
          return true;
        },
      );
      const inTime = await Promise.race([
        cleanedUp,
        new Promise<false>((resolve) => setTimeout(resolve, STOP_GRACE_MS, false).unref()),
      ]);
      if (!inTime) logger.warn("clean-up did not finish in time; stopping anyway", { grace_ms: STOP_GRACE_MS });
      server.forceShutdown();
      removeSocket(socket);
      resolveStopped(reason);
    })();
    return stopping;
  };

  registerHealth(server);
  registerController(server, () => void stop("shutdown requested by host"));
  stdio.register(server);
  broker.register(server);
  options.registerServices(server, broker);

  await new Promise<void>((resolve, reject) => {
    server.bindAsync(`unix://${socket}`, security.serverCredentials(), (error) => (error ? reject(error) : resolve()));
  });
  applySocketGroup(socket, env.PLUGIN_UNIX_SOCKET_GROUP);

  options.writeHandshake(
    formatHandshakeLine({
      appProtocolVersion: options.appProtocolVersion,
      network: "unix",
      address: socket,
      serverCert: security.handshakeCertificate,
      multiplexBrokerAnswer: env.PLUGIN_MULTIPLEX_GRPC ? false : undefined,
    }),
  );
  logger.debug("plugin server listening", { address: socket, transport: security.kind });
  return { socket, stopped, stop };
}
