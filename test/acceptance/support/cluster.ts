// Clusters for the acceptance suite, all on 127.0.0.1 in temporary folders:
// - a Vault/OpenBao Raft cluster (integrated storage, retry_join, one in-memory
//   unseal key share), each node with its own plugin directory holding the same
//   executable, as on separate hosts;
// - a Nomad server cluster with ACLs (bootstrap_expect, server_join).
// Nodes can be SIGKILLed (the whole process group: the server and the plugin
// processes it started, as when a host dies) and started again on their data.
import { readdirSync, readFileSync, readlinkSync, writeFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import type { ServerBinary } from "./binaries.ts";
import { signalGroup } from "./cleanup.ts";
import { httpRequest, sleep, waitFor, type HttpResult } from "./http.ts";
import { bootstrapAcl, NomadApi } from "./nomad.ts";
import { installPlugin, PLUGIN_COMMAND, sha256File, type BuiltPlugin } from "./plugin.ts";
import { freePorts } from "./ports.ts";
import { startProcess, type ManagedProcess } from "./process.ts";
import type { Stack } from "./stack.ts";
import { cleanEnv, VaultCli } from "./vault.ts";

/** SIGKILL to the group, then wait until the leader process is gone. */
async function killGroup(proc: ManagedProcess): Promise<void> {
  signalGroup(proc.pid, "SIGKILL");
  await waitFor(`${proc.name} to die`, async () => (proc.exit() !== undefined ? true : undefined), {
    timeoutMs: 30_000,
    intervalMs: 50,
  });
}

// ---------------------------------------------------------------------------
// Vault / OpenBao Raft cluster

export interface RaftNode {
  /** node1, node2, ... (also the Raft node_id) */
  id: string;
  addr: string;
  clusterAddr: string;
  dir: string;
  pluginDir: string;
  /** sha256 of this node's copy of the plugin. */
  pluginSha256: string;
  process: ManagedProcess;
  /** False between kill() and restart(). */
  up: boolean;
}

export interface RaftServerInfo {
  node_id: string;
  address: string;
  leader: boolean;
  voter: boolean;
}

export class RaftCluster {
  private unsealKey = "";
  private token = "";

  private constructor(
    private readonly stack: Stack,
    readonly binary: ServerBinary,
    readonly nodes: RaftNode[],
    private readonly configFiles: Map<string, string>,
    private readonly env: Record<string, string>,
  ) {}

  static async start(
    stack: Stack,
    binary: ServerBinary,
    plugin: BuiltPlugin,
    options: { size?: number; env?: Record<string, string>; logLevel?: string } = {},
  ): Promise<RaftCluster> {
    const size = options.size ?? 3;
    const ports = await freePorts(size * 2);
    const apiPort = (i: number) => ports[i * 2] as number;
    const clusterPort = (i: number) => ports[i * 2 + 1] as number;
    const nodes: RaftNode[] = [];
    const configs = new Map<string, string>();
    for (let i = 0; i < size; i += 1) {
      const id = `node${i + 1}`;
      const dir = stack.tempDir(`${binary.kind}-${id}`);
      const pluginDir = path.join(dir, "plugins");
      mkdirSync(pluginDir, { mode: 0o700 });
      mkdirSync(path.join(dir, "raft"), { mode: 0o700 });
      const installed = installPlugin(plugin, pluginDir);
      const addr = `http://127.0.0.1:${apiPort(i)}`;
      const clusterAddr = `https://127.0.0.1:${clusterPort(i)}`;
      // The first node is the one initialized; the others join it (or any member).
      const joins =
        i === 0
          ? ""
          : Array.from({ length: size }, (_, j) => j)
              .filter((j) => j !== i)
              .map((j) => `  retry_join {\n    leader_api_addr = "http://127.0.0.1:${apiPort(j)}"\n  }\n`)
              .join("");
      const config = path.join(dir, "server.hcl");
      writeFileSync(
        config,
        `# written by the vault-plugin-secrets-nomad acceptance suite (cluster)
ui               = false
disable_mlock    = true
api_addr         = "${addr}"
cluster_addr     = "${clusterAddr}"
plugin_directory = "${pluginDir}"
log_level        = "${options.logLevel ?? "info"}"

storage "raft" {
  path    = "${path.join(dir, "raft")}"
  node_id = "${id}"
${joins}}

listener "tcp" {
  address         = "127.0.0.1:${apiPort(i)}"
  cluster_address = "127.0.0.1:${clusterPort(i)}"
  tls_disable     = true
}
`,
      );
      configs.set(id, config);
      nodes.push({
        id,
        addr,
        clusterAddr,
        dir,
        pluginDir,
        pluginSha256: sha256File(installed),
        process: undefined as unknown as ManagedProcess, // set just below by launch()
        up: false,
      });
    }
    const cluster = new RaftCluster(stack, binary, nodes, configs, options.env ?? {});
    for (const node of nodes) cluster.launch(node);
    await cluster.initialize();
    return cluster;
  }

  private launch(node: RaftNode): void {
    node.process = this.stack.adopt(
      startProcess({
        name: `${this.binary.kind} ${node.id}`,
        bin: this.binary.bin,
        args: ["server", `-config=${this.configFiles.get(node.id) as string}`],
        env: cleanEnv(this.env),
        cwd: node.dir,
        logFile: path.join(node.dir, `${this.binary.kind}.log`),
      }),
    );
    node.up = true;
  }

  /** The root token (in memory only; never printed). */
  get rootToken(): string {
    return this.token;
  }

  node(id: string): RaftNode {
    const node = this.nodes.find((candidate) => candidate.id === id);
    if (node === undefined) throw new Error(`no node ${id}`);
    return node;
  }

  http(node: RaftNode, method: string, apiPath: string, body?: unknown, timeoutMs = 60_000): Promise<HttpResult> {
    return httpRequest(method, `${node.addr}/v1/${apiPath.replace(/^\/+/, "")}`, {
      headers: { "X-Vault-Token": this.token },
      body,
      timeoutMs,
      redirect: "manual",
    });
  }

  cli(node: RaftNode): VaultCli {
    return new VaultCli(this.binary, node.addr, this.token);
  }

  private async initialize(): Promise<void> {
    const first = this.nodes[0] as RaftNode;
    await waitFor(
      `${first.id} to answer sys/seal-status`,
      async () => ((await httpRequest("GET", `${first.addr}/v1/sys/seal-status`, { timeoutMs: 3_000 })).status === 200 ? true : undefined),
      { timeoutMs: 60_000, process: first.process },
    );
    const init = await httpRequest("PUT", `${first.addr}/v1/sys/init`, { body: { secret_shares: 1, secret_threshold: 1 } });
    if (init.status !== 200) throw new Error(`sys/init on ${first.id}: HTTP ${init.status}: ${init.text.slice(0, 300)}`);
    const answer = init.json<{ keys_base64: string[]; root_token: string }>();
    this.unsealKey = answer.keys_base64[0] as string;
    this.token = answer.root_token;
    await this.unseal(first);
    await this.waitActive(120_000);
    for (const node of this.nodes.slice(1)) await this.unseal(node);
  }

  /** Posts the key share until the node reports unsealed (a joining node needs the leader's challenge first). */
  async unseal(node: RaftNode): Promise<void> {
    await waitFor(
      `${node.id} to unseal`,
      async () => {
        const status = await httpRequest("GET", `${node.addr}/v1/sys/seal-status`, { timeoutMs: 5_000 });
        if (status.status === 200 && status.json<{ sealed: boolean }>().sealed === false) return true;
        const result = await httpRequest("PUT", `${node.addr}/v1/sys/unseal`, { body: { key: this.unsealKey }, timeoutMs: 30_000 });
        if (result.status === 200 && result.json<{ sealed: boolean }>().sealed === false) return true;
        throw new Error(`HTTP ${result.status}: ${result.text.slice(0, 200)}`);
      },
      { timeoutMs: 120_000, intervalMs: 1_000, process: node.process },
    );
  }

  /** The active node among those up, or undefined (sys/health answers 200 only there). */
  async findActive(): Promise<RaftNode | undefined> {
    for (const node of this.nodes) {
      if (!node.up) continue;
      try {
        const health = await httpRequest("GET", `${node.addr}/v1/sys/health`, { timeoutMs: 3_000 });
        if (health.status === 200) return node;
      } catch {
        // not answering: not active
      }
    }
    return undefined;
  }

  async waitActive(timeoutMs = 120_000, intervalMs = 100): Promise<RaftNode> {
    return waitFor("an active node", () => this.findActive(), { timeoutMs, intervalMs });
  }

  standbys(active: RaftNode): RaftNode[] {
    return this.nodes.filter((node) => node.up && node !== active);
  }

  async raftServers(): Promise<RaftServerInfo[]> {
    const active = await this.waitActive();
    const result = await this.http(active, "GET", "sys/storage/raft/configuration");
    if (result.status !== 200) throw new Error(`raft configuration: HTTP ${result.status}: ${result.text.slice(0, 300)}`);
    return result.json<{ data: { config: { servers: RaftServerInfo[] } } }>().data.config.servers;
  }

  /**
   * Until every node is a voter and autopilot calls the cluster healthy (a node
   * that joined or came back needs ~10 s of stable health first): only then can
   * one node be lost without losing quorum.
   */
  async waitVoters(timeoutMs = 180_000): Promise<RaftServerInfo[]> {
    return waitFor(
      `${this.nodes.length} healthy Raft voters`,
      async () => {
        const servers = await this.raftServers();
        if (servers.length !== this.nodes.length || !servers.every((server) => server.voter)) return undefined;
        const active = await this.waitActive();
        const state = await this.http(active, "GET", "sys/storage/raft/autopilot/state");
        if (state.status !== 200) return undefined;
        const autopilot = state.json<{ data: { healthy: boolean } }>().data;
        return autopilot.healthy ? servers : undefined;
      },
      { timeoutMs, intervalMs: 1_000 },
    );
  }

  /** SIGKILL of the node and every plugin process it started. */
  async kill(node: RaftNode): Promise<void> {
    node.up = false;
    await killGroup(node.process);
  }

  /** Starts a killed node again on its data and unseals it. */
  async restart(node: RaftNode): Promise<void> {
    if (node.up) throw new Error(`${node.id} is running`);
    this.launch(node);
    await this.unseal(node);
  }

  /** Every node's log, for messages. */
  logs(): string {
    return this.nodes.map((node) => `${node.id}: ${node.process.logFile}`).join(", ");
  }
}

/** PIDs of the plugin processes a server started (its children running our executable). */
export function pluginPids(serverPid: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = readFileSync(`/proc/${entry}/status`, "utf8");
      const parent = /^PPid:\s+(\d+)/m.exec(status)?.[1];
      if (parent === undefined || Number(parent) !== serverPid) continue;
      if (path.basename(readlinkSync(`/proc/${entry}/exe`)) === PLUGIN_COMMAND) pids.push(Number(entry));
    } catch {
      // the process went away while we looked
    }
  }
  return pids;
}

/** VmRSS of a process in KiB, or undefined once it is gone. */
export function rssKib(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match?.[1] === undefined ? undefined : Number(match[1]);
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------
// Nomad server cluster

export interface NomadServer {
  name: string;
  addr: string;
  /** 127.0.0.1:<rpc>, what /v1/status/leader answers. */
  rpcAddr: string;
  httpPort: number;
  dir: string;
  config: string;
  process: ManagedProcess;
  up: boolean;
}

export class NomadCluster {
  /** The bootstrap (management) token; in memory only. */
  managementToken = "";

  private constructor(
    private readonly stack: Stack,
    private readonly bin: string,
    readonly servers: NomadServer[],
  ) {}

  /** `size` servers with ACLs, bootstrap_expect = size; ACLs bootstrapped through the first. */
  static async start(stack: Stack, bin: string, size = 3): Promise<NomadCluster> {
    const ports = await freePorts(size * 3);
    const port = (i: number, k: number) => ports[i * 3 + k] as number;
    const joins = Array.from({ length: size }, (_, i) => `"127.0.0.1:${port(i, 2)}"`).join(", ");
    const servers: NomadServer[] = [];
    for (let i = 0; i < size; i += 1) {
      const name = `nomad${i + 1}`;
      const dir = stack.tempDir(`nomad-${name}`);
      const [http, rpc, serf] = [port(i, 0), port(i, 1), port(i, 2)];
      const config = path.join(dir, "server.hcl");
      writeFileSync(
        config,
        `# written by the vault-plugin-secrets-nomad acceptance suite (cluster)
name                 = "${name}"
data_dir             = "${path.join(dir, "data")}"
bind_addr            = "127.0.0.1"
log_level            = "INFO"
disable_update_check = true
ports {
  http = ${http}
  rpc  = ${rpc}
  serf = ${serf}
}
advertise {
  http = "127.0.0.1:${http}"
  rpc  = "127.0.0.1:${rpc}"
  serf = "127.0.0.1:${serf}"
}
server {
  enabled          = true
  bootstrap_expect = ${size}
  server_join {
    retry_join = [${joins}]
  }
}
client {
  enabled = false
}
acl {
  enabled = true
}
`,
      );
      servers.push({
        name,
        addr: `http://127.0.0.1:${http}`,
        rpcAddr: `127.0.0.1:${rpc}`,
        httpPort: http,
        dir,
        config,
        process: undefined as unknown as ManagedProcess, // set by launch()
        up: false,
      });
    }
    const cluster = new NomadCluster(stack, bin, servers);
    for (const server of servers) cluster.launch(server);
    const first = servers[0] as NomadServer;
    await cluster.waitLeader(180_000);
    cluster.managementToken = await bootstrapAcl(first.addr, first.process);
    return cluster;
  }

  private launch(server: NomadServer): void {
    // AWS_CA_BUNDLE (set on some build boxes) breaks Nomad's start-up.
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([key]) => !key.startsWith("NOMAD_") && key !== "AWS_CA_BUNDLE"),
    );
    server.process = this.stack.adopt(
      startProcess({
        name: `nomad ${server.name}`,
        bin: this.bin,
        args: ["agent", `-config=${server.config}`],
        env,
        cwd: server.dir,
        logFile: path.join(server.dir, "nomad.log"),
      }),
    );
    server.up = true;
  }

  api(server?: NomadServer): NomadApi {
    const target = server ?? this.servers.find((candidate) => candidate.up);
    if (target === undefined) throw new Error("no Nomad server is up");
    return new NomadApi(target.addr, this.managementToken);
  }

  /** The leader as the running servers see it, or undefined while there is none. */
  async leader(): Promise<NomadServer | undefined> {
    for (const server of this.servers) {
      if (!server.up) continue;
      try {
        const result = await httpRequest("GET", `${server.addr}/v1/status/leader`, { timeoutMs: 3_000 });
        if (result.status !== 200) continue;
        const rpc = result.json<string>();
        const leader = this.servers.find((candidate) => candidate.rpcAddr === rpc && candidate.up);
        if (leader !== undefined) return leader;
      } catch {
        // this one is not answering; ask the next
      }
    }
    return undefined;
  }

  waitLeader(timeoutMs = 120_000, intervalMs = 200): Promise<NomadServer> {
    return waitFor("a Nomad leader", () => this.leader(), { timeoutMs, intervalMs });
  }

  /** Until every running server lists every server as a Raft peer. */
  async waitPeers(timeoutMs = 120_000): Promise<void> {
    await waitFor(
      `${this.servers.length} Nomad Raft peers`,
      async () => {
        for (const server of this.servers.filter((candidate) => candidate.up)) {
          const result = await httpRequest("GET", `${server.addr}/v1/status/peers`, { timeoutMs: 3_000 });
          if (result.status !== 200 || result.json<string[]>().length !== this.servers.length) return undefined;
        }
        return (await this.leader()) !== undefined ? true : undefined;
      },
      { timeoutMs, intervalMs: 500 },
    );
  }

  async kill(server: NomadServer): Promise<void> {
    server.up = false;
    await killGroup(server.process);
  }

  async restart(server: NomadServer): Promise<void> {
    if (server.up) throw new Error(`${server.name} is running`);
    this.launch(server);
    await sleep(500);
    await this.waitPeers();
  }

  logs(): string {
    return this.servers.map((server) => `${server.name}: ${server.process.logFile}`).join(", ");
  }
}
