// The services every go-plugin server offers next to the application's own:
// health (the host's ping), controller (graceful shutdown) and stdio.
import * as grpc from "@grpc/grpc-js";
import {
  HealthCheckResponse_ServingStatus,
  HealthService,
  type HealthServer,
} from "../generated/grpc/health/v1/health.ts";
import { GRPCControllerService, type GRPCControllerServer } from "../generated/plugin/grpc_controller.ts";
import { GRPCStdioService, type GRPCStdioServer, type StdioData } from "../generated/plugin/grpc_stdio.ts";

/** go-plugin's docs: the status of service `plugin` must be SERVING. */
const SERVING_NAMES = new Set(["plugin", ""]);

export function registerHealth(server: grpc.Server): void {
  const implementation: HealthServer = {
    check: (call, callback) => {
      if (SERVING_NAMES.has(call.request.service)) {
        callback(null, { status: HealthCheckResponse_ServingStatus.SERVING });
      } else {
        callback({ code: grpc.status.NOT_FOUND, details: "unknown service" });
      }
    },
  };
  server.addService(HealthService, implementation);
}

export function registerController(server: grpc.Server, onShutdown: () => void): void {
  const implementation: GRPCControllerServer = {
    shutdown: (_call, callback) => {
      callback(null, {});
      // The reply must leave before the server stops.
      setImmediate(onShutdown);
    },
  };
  server.addService(GRPCControllerService, implementation);
}

/**
 * We never write to stdout after the handshake and log to stderr as hclog JSON
 * (which the host already reads), so the stdio stream is held open and silent.
 */
export class StdioStreams {
  private readonly open = new Set<grpc.ServerWritableStream<unknown, StdioData>>();

  register(server: grpc.Server): void {
    const implementation: GRPCStdioServer = {
      streamStdio: (call) => {
        this.open.add(call);
        call.on("cancelled", () => this.open.delete(call));
      },
    };
    server.addService(GRPCStdioService, implementation);
  }

  closeAll(): void {
    for (const call of this.open) call.end();
    this.open.clear();
  }
}
