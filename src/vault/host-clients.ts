// The host's Storage and SystemView, reached over the brokered connection that
// Setup dialed. Storage errors come back as strings in the reply, not as status.
import * as grpc from "@grpc/grpc-js";
import { ErrorCode, PluginError } from "../shared/errors.ts";
import { StorageClient, SystemViewClient, type Empty } from "../generated/sdk/plugin/pb/backend.ts";
import type { PluginEnvironment, Storage, StorageEntry, SystemView } from "../framework/logical.ts";
import { unary, type UnaryMethod } from "./grpc-call.ts";

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

  /** Storage reports failures in the reply's `err`, and transport failures as status. */
  private async call<Req, Res extends { err: string }>(
    operation: string,
    key: string,
    method: UnaryMethod<Req, Res>,
    request: Req,
  ): Promise<Res> {
    let reply: Res;
    try {
      reply = await unary(method.bind(this.client), request, new grpc.Metadata());
    } catch (error) {
      throw storageFailure(operation, key, error);
    }
    if (reply.err !== "") throw storageFailure(operation, key, reply.err);
    return reply;
  }

  async list(prefix: string): Promise<string[]> {
    return (await this.call("list", prefix, this.client.list, { prefix })).keys;
  }

  async get(key: string): Promise<StorageEntry | null> {
    const { entry } = await this.call("read", key, this.client.get, { key });
    return entry === undefined ? null : { key: entry.key, value: entry.value, sealWrap: entry.sealWrap };
  }

  async put(entry: StorageEntry): Promise<void> {
    const message = { entry: { key: entry.key, value: Buffer.from(entry.value), sealWrap: entry.sealWrap ?? false } };
    await this.call("write", entry.key, this.client.put, message);
  }

  async delete(key: string): Promise<void> {
    await this.call("delete", key, this.client.delete, { key });
  }
}

export class GrpcSystemView implements SystemView {
  private readonly client: SystemViewClient;

  constructor(channel: grpc.Channel) {
    this.client = new SystemViewClient("unused", grpc.credentials.createInsecure(), { channelOverride: channel });
  }

  /** Every SystemView call takes Empty; a failure names the call. */
  private async ask<Res>(name: string, method: UnaryMethod<Empty, Res>): Promise<Res> {
    try {
      return await unary(method.bind(this.client), EMPTY, new grpc.Metadata());
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new PluginError(ErrorCode.Broker, `system view ${name} failed: ${reason}`, { cause: error });
    }
  }

  async defaultLeaseTtl(): Promise<bigint> {
    return (await this.ask("defaultLeaseTtl", this.client.defaultLeaseTtl)).TTL;
  }

  async maxLeaseTtl(): Promise<bigint> {
    return (await this.ask("maxLeaseTtl", this.client.maxLeaseTtl)).TTL;
  }

  async tainted(): Promise<boolean> {
    return (await this.ask("tainted", this.client.tainted)).tainted;
  }

  async localMount(): Promise<boolean> {
    return (await this.ask("localMount", this.client.localMount)).local;
  }

  async replicationState(): Promise<number> {
    return (await this.ask("replicationState", this.client.replicationState)).state;
  }

  async mlockEnabled(): Promise<boolean> {
    return (await this.ask("mlockEnabled", this.client.mlockEnabled)).enabled;
  }

  async pluginEnv(): Promise<PluginEnvironment> {
    const reply = await this.ask("pluginEnv", this.client.pluginEnv);
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
