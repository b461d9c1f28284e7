// The host's Storage and SystemView, reached over the brokered connection that
// Setup dialed. Storage errors come back as strings in the reply, not as status.
import * as grpc from "@grpc/grpc-js";
import { ErrorCode, PluginError } from "../shared/errors.ts";
import { StorageClient, SystemViewClient, type Empty } from "../generated/sdk/plugin/pb/backend.ts";
import type { PluginEnvironment, Storage, StorageEntry, SystemView } from "../framework/logical.ts";
import { unary } from "./grpc-call.ts";

const EMPTY: Empty = {};

function storageFailure(operation: string, key: string, cause: unknown): PluginError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new PluginError(ErrorCode.Storage, `storage ${operation} of "${key}" failed: ${reason}`, { cause });
}

export class GrpcStorage implements Storage {
  private readonly client: StorageClient;

  constructor(channel: grpc.Channel) {
    this.client = new StorageClient("unused", grpc.credentials.createInsecure(), { channelOverride: channel });
  }

  async list(prefix: string): Promise<string[]> {
    const reply = await unary(this.client.list.bind(this.client), { prefix }, new grpc.Metadata()).catch((error) => {
      throw storageFailure("list", prefix, error);
    });
    if (reply.err !== "") throw storageFailure("list", prefix, reply.err);
    return reply.keys;
  }

  async get(key: string): Promise<StorageEntry | null> {
    const reply = await unary(this.client.get.bind(this.client), { key }, new grpc.Metadata()).catch((error) => {
      throw storageFailure("read", key, error);
    });
    if (reply.err !== "") throw storageFailure("read", key, reply.err);
    if (reply.entry === undefined) return null;
    return { key: reply.entry.key, value: reply.entry.value, sealWrap: reply.entry.sealWrap };
  }

  async put(entry: StorageEntry): Promise<void> {
    const message = { entry: { key: entry.key, value: Buffer.from(entry.value), sealWrap: entry.sealWrap ?? false } };
    const reply = await unary(this.client.put.bind(this.client), message, new grpc.Metadata()).catch((error) => {
      throw storageFailure("write", entry.key, error);
    });
    if (reply.err !== "") throw storageFailure("write", entry.key, reply.err);
  }

  async delete(key: string): Promise<void> {
    const reply = await unary(this.client.delete.bind(this.client), { key }, new grpc.Metadata()).catch((error) => {
      throw storageFailure("delete", key, error);
    });
    if (reply.err !== "") throw storageFailure("delete", key, reply.err);
  }
}

export class GrpcSystemView implements SystemView {
  private readonly client: SystemViewClient;

  constructor(channel: grpc.Channel) {
    this.client = new SystemViewClient("unused", grpc.credentials.createInsecure(), { channelOverride: channel });
  }

  private call<Res>(method: keyof SystemViewClient & string, invoke: () => Promise<Res>): Promise<Res> {
    return invoke().catch((error: unknown) => {
      const reason = error instanceof Error ? error.message : String(error);
      throw new PluginError(ErrorCode.Broker, `system view ${method} failed: ${reason}`, { cause: error });
    });
  }

  async defaultLeaseTtl(): Promise<bigint> {
    const reply = await this.call("defaultLeaseTtl", () =>
      unary(this.client.defaultLeaseTtl.bind(this.client), EMPTY, new grpc.Metadata()),
    );
    return reply.TTL;
  }

  async maxLeaseTtl(): Promise<bigint> {
    const reply = await this.call("maxLeaseTtl", () =>
      unary(this.client.maxLeaseTtl.bind(this.client), EMPTY, new grpc.Metadata()),
    );
    return reply.TTL;
  }

  async tainted(): Promise<boolean> {
    const reply = await this.call("tainted", () => unary(this.client.tainted.bind(this.client), EMPTY, new grpc.Metadata()));
    return reply.tainted;
  }

  async localMount(): Promise<boolean> {
    const reply = await this.call("localMount", () =>
      unary(this.client.localMount.bind(this.client), EMPTY, new grpc.Metadata()),
    );
    return reply.local;
  }

  async replicationState(): Promise<number> {
    const reply = await this.call("replicationState", () =>
      unary(this.client.replicationState.bind(this.client), EMPTY, new grpc.Metadata()),
    );
    return reply.state;
  }

  async mlockEnabled(): Promise<boolean> {
    const reply = await this.call("mlockEnabled", () =>
      unary(this.client.mlockEnabled.bind(this.client), EMPTY, new grpc.Metadata()),
    );
    return reply.enabled;
  }

  async pluginEnv(): Promise<PluginEnvironment> {
    const reply = await this.call("pluginEnv", () =>
      unary(this.client.pluginEnv.bind(this.client), EMPTY, new grpc.Metadata()),
    );
    if (reply.err !== "") throw new PluginError(ErrorCode.Broker, `system view pluginEnv failed: ${reply.err}`);
    const env = reply.pluginEnvironment;
    return {
      vaultVersion: env?.vaultVersion ?? "",
      vaultVersionPrerelease: env?.vaultVersionPrerelease ?? "",
      vaultVersionMetadata: env?.vaultVersionMetadata ?? "",
    };
  }
}

/** Metadata-mode runs get no brokered connection: storage is a no-op, as Vault's host gives. */
export const NOOP_STORAGE: Storage = {
  list: async () => [],
  get: async () => null,
  put: async () => undefined,
  delete: async () => undefined,
};

export const STATIC_SYSTEM_VIEW: SystemView = {
  defaultLeaseTtl: async () => 0n,
  maxLeaseTtl: async () => 0n,
  tainted: async () => false,
  localMount: async () => false,
  replicationState: async () => 0,
  mlockEnabled: async () => false,
  pluginEnv: async () => ({ vaultVersion: "", vaultVersionPrerelease: "", vaultVersionMetadata: "" }),
};
