// go-plugin's GRPCBroker, plugin side. For each brokered service the host listens,
// announces the address on the StartStream stream, and the plugin dials it.
// ConnInfo may arrive before or after the request that needs it, so it is kept by id.
import * as grpc from "@grpc/grpc-js";
import { ErrorCode, PluginError } from "../shared/errors.ts";
import type { Logger } from "../shared/log.ts";
import type { ConnInfo } from "../generated/plugin/grpc_broker.ts";
import { GRPCBrokerService, type GRPCBrokerServer } from "../generated/plugin/grpc_broker.ts";
import type { TransportSecurity } from "./transport-security.ts";

/** go-plugin waits 5 s for connection info; an unclaimed entry is dropped after a while. */
const DIAL_WAIT_MS = 5_000;
const UNCLAIMED_TTL_MS = 30_000;

export interface BrokerAddress {
  network: string;
  address: string;
}

export class Broker {
  private readonly arrived = new Map<number, { info: BrokerAddress; timer: NodeJS.Timeout }>();
  private readonly waiting = new Map<number, (info: BrokerAddress) => void>();
  private readonly streams = new Set<grpc.ServerDuplexStream<ConnInfo, ConnInfo>>();

  constructor(
    private readonly security: TransportSecurity,
    private readonly logger: Logger,
    private readonly dialWaitMs: number = DIAL_WAIT_MS,
  ) {}

  register(server: grpc.Server): void {
    const implementation: GRPCBrokerServer = {
      startStream: (call) => this.acceptStream(call),
    };
    server.addService(GRPCBrokerService, implementation);
  }

  private acceptStream(call: grpc.ServerDuplexStream<ConnInfo, ConnInfo>): void {
    this.streams.add(call);
    call.on("data", (info: ConnInfo) => this.deliver(info));
    call.on("error", () => this.streams.delete(call));
    call.on("end", () => {
      this.streams.delete(call);
      call.end();
    });
  }

  private deliver(info: ConnInfo): void {
    if (info.knock !== undefined) {
      // Knocks belong to go-plugin's multiplexed broker, which we never announce.
      this.logger.debug("ignoring broker knock", { service_id: info.serviceId });
      return;
    }
    const address = { network: info.network, address: info.address };
    const waiter = this.waiting.get(info.serviceId);
    if (waiter !== undefined) {
      this.waiting.delete(info.serviceId);
      waiter(address);
      return;
    }
    const timer = setTimeout(() => this.arrived.delete(info.serviceId), UNCLAIMED_TTL_MS);
    timer.unref();
    this.arrived.get(info.serviceId)?.timer.close();
    this.arrived.set(info.serviceId, { info: address, timer });
  }

  /** Resolves the address the host announced for `serviceId`, waiting up to 5 s. */
  waitForAddress(serviceId: number): Promise<BrokerAddress> {
    const ready = this.arrived.get(serviceId);
    if (ready !== undefined) {
      this.arrived.delete(serviceId);
      clearTimeout(ready.timer);
      return Promise.resolve(ready.info);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(serviceId);
        reject(new PluginError(ErrorCode.Broker, `timeout waiting for connection info for broker id ${serviceId}`));
      }, this.dialWaitMs);
      this.waiting.set(serviceId, (info) => {
        clearTimeout(timer);
        resolve(info);
      });
    });
  }

  /** Dials the host's brokered server for `serviceId` with the same mutual TLS as the main connection. */
  async dial(serviceId: number): Promise<grpc.Channel> {
    const { network, address } = await this.waitForAddress(serviceId);
    let target: string;
    if (network === "unix") target = `unix://${address}`;
    else if (network === "tcp") target = address;
    else throw new PluginError(ErrorCode.Broker, `unsupported broker network "${network}" for broker id ${serviceId}`);
    return new grpc.Channel(target, this.security.channelCredentials(), {
      ...this.security.channelOptions(),
      "grpc.max_receive_message_length": -1,
      "grpc.max_send_message_length": -1,
      "grpc.enable_channelz": 0,
    });
  }

  close(): void {
    for (const stream of this.streams) stream.end();
    this.streams.clear();
    for (const { timer } of this.arrived.values()) clearTimeout(timer);
    this.arrived.clear();
  }
}
