// Vault's pb.Backend service, with plugin multiplexing: one backend instance per
// `multiplex_id` (one per mount), created by Setup and removed by Cleanup, each
// with its own brokered connection and so its own storage view.
import * as grpc from "@grpc/grpc-js";
import { ErrorCode, PluginError, toPluginError } from "../shared/errors.ts";
import type { Logger } from "../shared/log.ts";
import { processMetrics } from "../shared/metrics.ts";
import type { Broker } from "../host/broker.ts";
import { BackendService, type BackendServer } from "../generated/sdk/plugin/pb/backend.ts";
import { PluginVersionService, type PluginVersionServer } from "../generated/sdk/logical/version.ts";
import {
  PluginMultiplexingService,
  type PluginMultiplexingServer,
} from "../generated/sdk/helper/pluginutil/multiplexing.ts";
import type { BackendFactory, LogicalBackend, Storage, SystemView } from "../framework/logical.ts";
import { GrpcStorage, GrpcSystemView, NOOP_STORAGE, STATIC_SYSTEM_VIEW } from "./host-clients.ts";
import { errorToPb, requestFromPb, responseToPb, specialPathsToPb } from "./pb-mapping.ts";

/** The id Go plugins use for their only instance when the host does not multiplex. */
const SINGLE_INSTANCE_ID = "single";
const MULTIPLEX_METADATA_KEY = "multiplex_id";
export const METADATA_MODE_REFUSAL = "plugin server can not perform action while in metadata mode";

interface MountInstance {
  backend: LogicalBackend;
  storage: Storage;
  channel: grpc.Channel | null;
  logger: Logger;
}

export interface VaultBackendServerOptions {
  /**
   * Loads the backend's code. Called once, right after the handshake, so the
   * engine (and its dependencies) load while the host is still connecting;
   * the first call that needs a backend waits for it.
   */
  loadFactory: () => Promise<BackendFactory>;
  logger: Logger;
  pluginVersion: string;
  /** Legacy two-phase flow's first run: plaintext, no broker, no requests. */
  metadataMode: boolean;
}

export class VaultBackendServer {
  private readonly instances = new Map<string, MountInstance>();
  private loading: Promise<{ factory: BackendFactory; prototype: LogicalBackend }> | null = null;

  constructor(
    private readonly options: VaultBackendServerOptions,
    private readonly broker: Broker,
  ) {}

  /** The factory, and an instance that answers Type and SpecialPaths (static) even before Setup. */
  load(): Promise<{ factory: BackendFactory; prototype: LogicalBackend }> {
    this.loading ??= this.options.loadFactory().then((factory) => ({ factory, prototype: factory() }));
    return this.loading;
  }

  get mountCount(): number {
    return this.instances.size;
  }

  register(server: grpc.Server): void {
    server.addService(BackendService, this.backendService());
    const version: PluginVersionServer = {
      version: (_call, callback) => callback(null, { pluginVersion: this.options.pluginVersion }),
    };
    server.addService(PluginVersionService, version);
    const multiplexing: PluginMultiplexingServer = {
      multiplexingSupport: (_call, callback) => callback(null, { supported: true }),
    };
    server.addService(PluginMultiplexingService, multiplexing);
  }

  /** Cleans up every mount; used when the process is told to stop. */
  async closeAll(): Promise<void> {
    const ids = [...this.instances.keys()];
    await Promise.allSettled(ids.map((id) => this.cleanupInstance(id)));
  }

  private backendService(): BackendServer {
    return {
      setup: (call, callback) => {
        void this.guard(callback, async () => {
          const id = multiplexId(call.metadata);
          await this.cleanupInstance(id);
          const logger = this.options.logger.with({ multiplex_id: id });
          let channel: grpc.Channel | null = null;
          let storage: Storage = NOOP_STORAGE;
          let system: SystemView = STATIC_SYSTEM_VIEW;
          if (!this.options.metadataMode) {
            channel = await this.broker.dial(call.request.brokerId);
            storage = new GrpcStorage(channel);
            system = new GrpcSystemView(channel);
          }
          const backend = (await this.load()).factory();
          try {
            await backend.setup({
              storage,
              system,
              logger,
              config: { ...call.request.Config },
              backendUuid: call.request.backendUUID,
            });
          } catch (error) {
            channel?.close();
            return { err: toPluginError(error).message };
          }
          this.instances.set(id, { backend, storage, channel, logger });
          logger.debug("mount set up", { broker_id: call.request.brokerId });
          return { err: "" };
        });
      },
      type: (call, callback) => {
        void this.guard(callback, async () => ({ type: (await this.lookupOrPrototype(call.metadata)).type() }));
      },
      specialPaths: (call, callback) => {
        void this.guard(callback, async () => ({
          paths: specialPathsToPb((await this.lookupOrPrototype(call.metadata)).specialPaths()),
        }));
      },
      initialize: (call, callback) => {
        void this.guard(callback, async () => {
          const instance = this.lookup(call.metadata, true);
          try {
            await instance.backend.initialize(instance.storage);
            return {};
          } catch (error) {
            return { err: errorToPb(error) };
          }
        });
      },
      handleRequest: (call, callback) => {
        void this.guard(callback, async () => {
          const instance = this.lookup(call.metadata, true);
          if (call.request.request === undefined) throw new PluginError(ErrorCode.InvalidRequest, "request is missing");
          const cancelled = new AbortController();
          let answered = false;
          // grpc-js also emits "cancelled" as the stream closes after a normal
          // answer; an abort then would only build a DOMException with a stack
          // trace for nobody (1.5 % of the plugin's CPU under load).
          call.on("cancelled", () => {
            if (!answered) cancelled.abort();
          });
          // At the deadline grpc-js answers DEADLINE_EXCEEDED and closes the
          // stream, which emits "cancelled" above; the handler only needs the time.
          const deadline = deadlineMs(call.getDeadline());
          try {
            const request = {
              ...requestFromPb(call.request.request, instance.storage),
              signal: cancelled.signal,
              ...(deadline === undefined ? {} : { deadline }),
            };
            const response = await instance.backend.handleRequest(request);
            processMetrics.recordRequest(false);
            return { response: responseToPb(response) };
          } catch (error) {
            processMetrics.recordRequest(true);
            this.logFailure(instance, call.request.request.operation, call.request.request.path, error);
            return { err: errorToPb(error) };
          } finally {
            answered = true;
          }
        });
      },
      handleExistenceCheck: (call, callback) => {
        void this.guard(callback, async () => {
          const instance = this.lookup(call.metadata, true);
          if (call.request.request === undefined) throw new PluginError(ErrorCode.InvalidRequest, "request is missing");
          try {
            const request = requestFromPb(call.request.request, instance.storage);
            const result = await instance.backend.handleExistenceCheck(request);
            return { checkFound: result.checkFound, exists: result.exists };
          } catch (error) {
            return { checkFound: false, exists: false, err: errorToPb(error) };
          }
        });
      },
      invalidateKey: (call, callback) => {
        void this.guard(callback, async () => {
          await this.lookup(call.metadata, true).backend.invalidateKey(call.request.key);
          return {};
        });
      },
      cleanup: (call, callback) => {
        void this.guard(callback, async () => {
          await this.cleanupInstance(multiplexId(call.metadata));
          return {};
        });
      },
    };
  }

  private lookup(metadata: grpc.Metadata, refuseInMetadataMode: boolean): MountInstance {
    if (refuseInMetadataMode && this.options.metadataMode) {
      throw new PluginError(ErrorCode.Internal, METADATA_MODE_REFUSAL);
    }
    const id = multiplexId(metadata);
    const instance = this.instances.get(id);
    if (instance === undefined) {
      throw new PluginError(ErrorCode.Multiplex, `no backend instance for multiplex id "${id}": Setup was not called`);
    }
    return instance;
  }

  private async lookupOrPrototype(metadata: grpc.Metadata): Promise<LogicalBackend> {
    return this.instances.get(multiplexId(metadata))?.backend ?? (await this.load()).prototype;
  }

  private async cleanupInstance(id: string): Promise<void> {
    const instance = this.instances.get(id);
    if (instance === undefined) return;
    this.instances.delete(id);
    try {
      await instance.backend.cleanup();
    } finally {
      instance.channel?.close();
      instance.logger.debug("mount cleaned up");
    }
  }

  private logFailure(instance: MountInstance, operation: string, path: string, error: unknown): void {
    const pluginError = toPluginError(error);
    const level = pluginError.code === ErrorCode.Internal || pluginError.code === ErrorCode.Storage ? "error" : "debug";
    instance.logger[level]("request failed", { operation, path, code: pluginError.code, error: pluginError.message });
  }

  /** Turns a thrown error into a gRPC status, so no call is ever left unanswered. */
  private async guard<Res>(callback: grpc.sendUnaryData<Res>, handler: () => Promise<Res>): Promise<void> {
    try {
      callback(null, await handler());
    } catch (error) {
      const pluginError = toPluginError(error);
      callback({ code: grpcStatusFor(pluginError), details: pluginError.message });
    }
  }
}

function grpcStatusFor(error: PluginError): grpc.status {
  switch (error.code) {
    case ErrorCode.Multiplex:
      return grpc.status.FAILED_PRECONDITION;
    case ErrorCode.InvalidRequest:
      return grpc.status.INVALID_ARGUMENT;
    default:
      // grpc-go reports a plain Go error as UNKNOWN; Vault treats both alike.
      return grpc.status.UNKNOWN;
  }
}

/**
 * Vault tags every call with one `multiplex_id`. A host that does not multiplex
 * sends none, which selects the single instance, as Go plugins do.
 */
export function multiplexId(metadata: grpc.Metadata): string {
  const values = metadata.get(MULTIPLEX_METADATA_KEY);
  if (values.length === 0) return SINGLE_INSTANCE_ID;
  if (values.length > 1) {
    throw new PluginError(ErrorCode.Multiplex, `unexpected number of IDs in metadata: (${values.length})`);
  }
  const id = String(values[0]);
  if (id === "") throw new PluginError(ErrorCode.Multiplex, "empty multiplex ID in metadata");
  return id;
}

/** A grpc-js deadline as epoch ms; undefined when the host set none. */
function deadlineMs(deadline: grpc.Deadline): number | undefined {
  const value = deadline instanceof Date ? deadline.getTime() : deadline;
  return Number.isFinite(value) ? value : undefined;
}
