// A TCP load balancer on loopback, standing in for the one operators put in
// front of Nomad's servers (HAProxy, an LB, Consul DNS): each new connection goes
// to the next backend in turn; a backend that refuses the connection is skipped
// for that connection, as a health-checked pool would. It counts connections per
// backend, so a test can tell which address a client really used.
import net from "node:net";
import type { Stack } from "./stack.ts";

export interface Backend {
  host: string;
  port: number;
}

export interface Balancer {
  /** http://127.0.0.1:<port> */
  addr: string;
  /** Connections accepted so far (each one reached some backend or was refused). */
  connections(): number;
  /** Stop accepting and cut every open connection: the address now refuses. */
  close(): Promise<void>;
}

export async function startBalancer(stack: Stack, name: string, backends: readonly Backend[]): Promise<Balancer> {
  if (backends.length === 0) throw new Error(`balancer ${name}: no backends`);
  const open = new Set<net.Socket>();
  let next = 0;
  let accepted = 0;

  const connectTo = (client: net.Socket, triesLeft: number): void => {
    const backend = backends[next % backends.length] as Backend;
    next += 1;
    const upstream = net.connect({ host: backend.host, port: backend.port });
    open.add(upstream);
    let connected = false;
    upstream.once("connect", () => {
      connected = true;
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
    upstream.on("error", () => {
      if (!connected && triesLeft > 1 && !client.destroyed) {
        connectTo(client, triesLeft - 1);
        return;
      }
      client.destroy();
    });
    upstream.once("close", () => {
      open.delete(upstream);
      if (connected) client.destroy();
    });
    client.once("close", () => upstream.destroy());
  };

  const server = net.createServer({ pauseOnConnect: true }, (client) => {
    accepted += 1;
    open.add(client);
    client.on("error", () => client.destroy());
    client.once("close", () => open.delete(client));
    connectTo(client, backends.length);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: "127.0.0.1", port: 0 }, () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error(`balancer ${name}: not a TCP listener`);

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const socket of open) socket.destroy();
    });
    return closing;
  };
  stack.defer(`close balancer ${name}`, close);
  return { addr: `http://127.0.0.1:${address.port}`, connections: () => accepted, close };
}
