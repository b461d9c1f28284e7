// Free loopback ports. There is a window between closing the probe socket and
// the server binding the port; on a developer machine that is good enough.
import net from "node:net";

function listen(port: number): Promise<net.Server | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(undefined));
    server.listen({ host: "127.0.0.1", port, exclusive: true }, () => resolve(server));
  });
}

function close(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

function portOf(server: net.Server): number {
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("not a TCP listener");
  return address.port;
}

/** `count` distinct free ports on 127.0.0.1. */
export async function freePorts(count: number): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    for (let i = 0; i < count; i += 1) {
      const server = await listen(0);
      if (server === undefined) throw new Error("cannot bind an ephemeral port on 127.0.0.1");
      servers.push(server);
    }
    return servers.map(portOf);
  } finally {
    await Promise.all(servers.map(close));
  }
}

/**
 * A free port P whose neighbour P+1 is free too: a Vault/OpenBao dev server puts
 * its cluster listener on the API port + 1.
 */
export async function freePortPair(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const first = await listen(0);
    if (first === undefined) continue;
    const port = portOf(first);
    const second = port < 65535 ? await listen(port + 1) : undefined;
    await close(first);
    if (second !== undefined) {
      await close(second);
      return port;
    }
  }
  throw new Error("no pair of adjacent free ports found on 127.0.0.1");
}
