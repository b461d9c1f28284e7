// The engine in a cluster, as production runs it: a 3-node Vault/OpenBao Raft
// cluster (the plugin registered by sha256, the same executable in every node's
// plugin directory) issuing tokens in a 3-server Nomad with ACLs, with nodes and
// Nomad servers SIGKILLed under load. Everything on 127.0.0.1, in temporary
// folders, stopped even on failure; a failed step prints where each log is.
//
// Runs only with VAULT_ACC=1 and a server binary (BAO_BIN — OpenBao standbys
// serve reads themselves, the interesting case — or VAULT_BIN) and NOMAD_BIN.
// A reused NOMAD_ADDR cannot serve: the file kills Nomad servers.
//
// Counts (defaults fit a shared 2-core machine; the figures in brackets):
//   ACC_STORM_SUCCESSES       creds answered in the storm around the active node's SIGKILL   2000 [>= 2000]
//   ACC_STORM_CONCURRENCY     concurrent clients in both storms                              16   [16]
//   ACC_NOMAD_STORM_SUCCESSES creds answered in the storm around the Nomad leader's SIGKILL  1000
//   ACC_SOAK_CYCLES           creds+revoke cycles in the soak (one failover)                 2000 [>= 20000]
//   ACC_SOAK_CONCURRENCY      concurrent clients in the soak                                 8
//   ACC_SOAK_FAILOVER_AT      fraction of the soak at which the active node is killed        0.1
//                             (before 1/4, so the plugin measured over the last three
//                             quarters is the new active node's)
//   ACC_CLUSTER_LOG_LEVEL     server log level                                               info
//   ACC_RESULTS_FILE          also write the measured figures there as JSON
// The figures (requests, failures in and outside each failover window, failover
// durations, orphans, RSS samples, durations) are printed as `[acceptance] figures`.
//
// Where the suite retries: plain reads (role, role list, config) sent to an
// OpenBao standby are answered from that node's own copy of storage, which
// follows the active node by a few milliseconds, so such a read right after a
// write is polled briefly (and the retries are counted in the figures). A
// mount just enabled may answer `no handler for route` on a standby for a
// second or two, so the suite waits for it on every node. Nothing else is
// retried: creds, writes, renew and revoke must answer on the first try.
import { createHash, randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { discoverNomad, discoverServer } from "./support/binaries.ts";
import { startBalancer, type Balancer } from "./support/balancer.ts";
import { NomadCluster, pluginPids, RaftCluster, rssKib, type NomadServer, type RaftNode } from "./support/cluster.ts";
import { createFlow } from "./support/flow.ts";
import { accGate, announceSkip, type Gate } from "./support/gate.ts";
import { sleep, waitFor, type HttpResult } from "./support/http.ts";
import {
  describeError,
  envFraction,
  envInt,
  failoverWindow,
  Picker,
  runPool,
  type Attempt,
  type WindowFigures,
} from "./support/load.ts";
import { DISPATCH_POLICY_RULES, NomadApi, parseNomadTime, type NomadToken, type NomadTokenStub } from "./support/nomad.ts";
import { builtPlugin, PLUGIN_COMMAND, PLUGIN_NAME, type BuiltPlugin } from "./support/plugin.ts";
import { Stack } from "./support/stack.ts";

function clusterGate(): Gate {
  const base = accGate();
  if (!base.enabled) return base;
  const server = discoverServer();
  if (!server.found) return { enabled: false, reason: `the cluster suite needs a server binary: ${server.reason}` };
  const nomad = discoverNomad();
  if (!nomad.found) return { enabled: false, reason: `the cluster suite starts its own Nomad servers: ${nomad.reason}` };
  return base;
}

const gate = clusterGate();
announceSkip("cluster.test.ts", gate);

const settings = gate.enabled
  ? {
      stormSuccesses: envInt("ACC_STORM_SUCCESSES", 2000),
      stormConcurrency: envInt("ACC_STORM_CONCURRENCY", 16),
      nomadStormSuccesses: envInt("ACC_NOMAD_STORM_SUCCESSES", 1000),
      soakCycles: envInt("ACC_SOAK_CYCLES", 2000),
      soakConcurrency: envInt("ACC_SOAK_CONCURRENCY", 8),
      soakFailoverAt: envFraction("ACC_SOAK_FAILOVER_AT", 0.1),
      logLevel: process.env.ACC_CLUSTER_LOG_LEVEL ?? "info",
    }
  : undefined;

const MOUNT = "nomad";
/** A step's time limit grows with its request count: a loaded machine is slow, not wrong. */
const stepTimeout = (requests: number) => 300_000 + requests * 200;

interface Environment {
  plugin: BuiltPlugin;
  nomad: NomadCluster;
  vault: RaftCluster;
  /** In front of all three Nomad servers: the address the engine starts with. */
  balancerA: Balancer;
  /** Another one, for the config/access change. */
  balancerB: Balancer;
  /** The management token handed to config/access first. */
  engineToken: NomadToken;
  policy: string;
}

/** One creds answer, as a client sees it. */
interface Issued {
  leaseId: string;
  secretId: string;
  accessorId: string;
  leaseDuration: number;
  node: string;
}

function vaultErrors(result: HttpResult): string {
  try {
    const errors = result.json<{ errors?: string[] }>().errors;
    return errors !== undefined ? errors.join("; ") : result.text.slice(0, 300);
  } catch {
    return result.text.slice(0, 300);
  }
}

describe.skipIf(!gate.enabled)("the engine on a Raft cluster with a multi-server Nomad", () => {
  const stack = new Stack();
  let current: Environment | undefined;
  const figures: Record<string, unknown> = {};
  /** Every secret the suite saw: none may ever appear in an error text. */
  const secrets = new Set<string>();
  /** Nomad tokens minted at a SIGKILL and never acknowledged: accessor → role. */
  const knownOrphans = new Map<string, string>();
  const flow = createFlow((title) => {
    stack.printLogs(`step "${title}" failed`);
    if (current !== undefined) {
      process.stderr.write(`[acceptance] logs: ${current.vault.logs()}; ${current.nomad.logs()}\n`);
    }
  });
  const suffix = randomBytes(3).toString("hex");

  const env = (): Environment => {
    if (current === undefined) throw new Error("the environment did not start (see beforeAll)");
    return current;
  };
  const record = (key: string, value: unknown) => {
    figures[key] = value;
    process.stderr.write(`[acceptance] ${key}: ${JSON.stringify(value)}\n`);
  };
  const expectNoSecretIn = (text: string, what: string) => {
    for (const secret of secrets) if (text.includes(secret)) throw new Error(`${what} contains a secret`);
  };

  /** GET <mount>/creds/<role> through one node; never retried. */
  async function requestCreds(node: RaftNode, role: string, mount = MOUNT): Promise<{ attempt: Attempt; issued?: Issued }> {
    const start = Date.now();
    try {
      const result = await env().vault.http(node, "GET", `${mount}/creds/${role}`, undefined, 30_000);
      const end = Date.now();
      if (result.status !== 200) {
        return { attempt: { start, end, ok: false, target: node.id, status: result.status, error: vaultErrors(result) } };
      }
      const body = result.json<{ lease_id: string; lease_duration: number; data: { secret_id: string; accessor_id: string } }>();
      secrets.add(body.data.secret_id);
      return {
        attempt: { start, end, ok: true, target: node.id, status: 200 },
        issued: {
          leaseId: body.lease_id,
          secretId: body.data.secret_id,
          accessorId: body.data.accessor_id,
          leaseDuration: body.lease_duration,
          node: node.id,
        },
      };
    } catch (error: unknown) {
      return { attempt: { start, end: Date.now(), ok: false, target: node.id, error: describeError(error) } };
    }
  }

  /** The secret works in Nomad and is the token the accessor names. */
  async function expectWorks(issued: Issued, policy?: string): Promise<void> {
    const self = await new NomadApi(env().nomad.api().addr, issued.secretId).self();
    expect(self.AccessorID).toBe(issued.accessorId);
    if (policy !== undefined) expect(self.Policies).toEqual([policy]);
  }

  async function engineTokens(rolePrefix: string): Promise<NomadTokenStub[]> {
    return (await env().nomad.api().tokens()).filter((token) => token.Name.startsWith(`vault-${rolePrefix}-`));
  }

  /** Waits until every node routes the mount (a fresh mount can be missing on a standby for a moment). */
  async function waitMountEverywhere(mount: string): Promise<void> {
    const { vault } = env();
    for (const node of vault.nodes.filter((candidate) => candidate.up)) {
      await waitFor(`${mount}/ on ${node.id}`, async () => ((await vault.http(node, "GET", `${mount}/?help=1`)).status === 200 ? true : undefined), {
        timeoutMs: 60_000,
      });
    }
  }

  beforeAll(async () => {
    try {
      const server = discoverServer();
      const nomadBin = discoverNomad();
      if (!server.found) throw new Error(server.reason);
      if (!nomadBin.found) throw new Error(nomadBin.reason);
      const plugin = builtPlugin();
      const setupStarted = Date.now();
      const nomad = await NomadCluster.start(stack, nomadBin.value, 3);
      await nomad.waitPeers();
      const backends = nomad.servers.map((nomadServer) => ({ host: "127.0.0.1", port: nomadServer.httpPort }));
      const balancerA = await startBalancer(stack, "A", backends);
      const balancerB = await startBalancer(stack, "B", backends);
      const api = nomad.api();
      const policy = `acc-cluster-${suffix}`;
      await api.upsertPolicy(policy, DISPATCH_POLICY_RULES, "acceptance: cluster");
      const engineToken = await api.createToken({ Name: `acc-engine-${suffix}`, Type: "management" });
      secrets.add(engineToken.SecretID);
      secrets.add(nomad.managementToken);
      const vault = await RaftCluster.start(stack, server.value, plugin, { size: 3, logLevel: settings?.logLevel ?? "info" });
      secrets.add(vault.rootToken);
      current = { plugin, nomad, vault, balancerA, balancerB, engineToken, policy };
      record("setup", {
        server: `${server.value.kind} ${server.value.bin}`,
        nomad: nomadBin.value,
        plugin: `${plugin.version} sha256 ${plugin.sha256}`,
        nodes: vault.nodes.map((node) => node.addr),
        nomadServers: nomad.servers.map((nomadServer) => nomadServer.addr),
        setupMs: Date.now() - setupStarted,
      });
    } catch (error: unknown) {
      stack.printLogs("setup failed");
      throw error;
    }
  }, 600_000);

  afterAll(async () => {
    if (Object.keys(figures).length > 0) {
      process.stderr.write(`[acceptance] figures ${JSON.stringify(figures)}\n`);
      const file = process.env.ACC_RESULTS_FILE;
      if (file !== undefined && file !== "") writeFileSync(file, `${JSON.stringify(figures, null, 2)}\n`);
    }
    await stack.close();
  }, 180_000);

  flow.step(
    "Raft: initialized, unsealed with one in-memory key share, three voters that autopilot calls healthy",
    async () => {
      const { vault } = env();
      const started = Date.now();
      const servers = await vault.waitVoters();
      expect(servers.map((server) => server.node_id).sort()).toEqual(["node1", "node2", "node3"]);
      expect(servers.filter((server) => server.leader)).toHaveLength(1);
      record("votersMs", Date.now() - started);
    },
    { timeoutMs: 300_000 },
  );

  flow.step("Nomad: three servers with ACLs, one leader, bootstrap token is management", async () => {
    const { nomad } = env();
    const leader = await nomad.waitLeader();
    expect(nomad.servers).toContain(leader);
    for (const nomadServer of nomad.servers) {
      const self = await nomad.api(nomadServer).self();
      expect(self.Type).toBe("management");
      // Without a token, ACLs refuse.
      expect((await new NomadApi(nomadServer.addr).request("GET", "/v1/acl/tokens")).status).toBe(403);
    }
  });

  flow.step("plugin registered by sha256 once; every node runs its own copy with that sha256", async () => {
    const { vault, plugin } = env();
    const active = await vault.waitActive();
    for (const node of vault.nodes) expect(node.pluginSha256).toBe(plugin.sha256);
    await vault
      .cli(active)
      .ok(["plugin", "register", `-sha256=${plugin.sha256}`, `-version=${plugin.version}`, `-command=${PLUGIN_COMMAND}`, "secret", PLUGIN_NAME]);
    // The catalog is replicated: every node (standbys answer this read themselves) shows the same entry.
    for (const node of vault.nodes) {
      const entry = await waitFor(`catalog entry on ${node.id}`, async () => {
        const result = await vault.http(node, "GET", `sys/plugins/catalog/secret/${PLUGIN_NAME}?version=${plugin.version}`);
        return result.status === 200 ? result.json<{ data: { sha256: string } }>().data : undefined;
      });
      expect(entry.sha256).toBe(plugin.sha256);
    }
    // Enabled through a standby: forwarded to the active node.
    const standby = vault.standbys(active)[0] as RaftNode;
    await vault.cli(standby).ok(["secrets", "enable", `-path=${MOUNT}`, PLUGIN_NAME]);
    await waitMountEverywhere(MOUNT);
    // Every node started its own plugin process from its own directory.
    for (const node of vault.nodes) {
      await waitFor(`a plugin process under ${node.id}`, async () => (pluginPids(node.process.pid).length > 0 ? true : undefined), {
        timeoutMs: 60_000,
      });
    }
  });

  flow.step(
    "every path and operation sent to each standby answers as on the active node",
    async () => {
      const { vault, balancerA, engineToken, policy } = env();
      const active = await vault.waitActive();
      const order = [active, ...vault.standbys(active)];
      let readRetries = 0;
      /** A read that a standby serves from its own storage copy: polled briefly after a write. */
      const settledRead = async (node: RaftNode, apiPath: string, settled: (result: HttpResult) => boolean): Promise<HttpResult> => {
        const deadline = Date.now() + 10_000;
        for (;;) {
          const result = await vault.http(node, "GET", apiPath);
          if (settled(result) || Date.now() > deadline) return result;
          readRetries += 1;
          await sleep(50);
        }
      };

      const signatures = new Map<string, Record<string, unknown>>();
      for (const [index, node] of order.entries()) {
        const role = `parity-${index}`;
        const signature: Record<string, unknown> = {};
        const write = await vault.http(node, "POST", `${MOUNT}/config/access`, { address: balancerA.addr, token: engineToken.SecretID });
        signature.writeAccess = write.status;
        const access = await vault.http(node, "GET", `${MOUNT}/config/access`);
        signature.readAccess = [access.status, access.json<{ data: unknown }>().data];
        expect(access.text).not.toContain(engineToken.SecretID);
        signature.writeLease = (await vault.http(node, "POST", `${MOUNT}/config/lease`, { ttl: "10m", max_ttl: "1h" })).status;
        const lease = await vault.http(node, "GET", `${MOUNT}/config/lease`);
        signature.readLease = [lease.status, lease.json<{ data: unknown }>().data];

        signature.writeRole = (await vault.http(node, "POST", `${MOUNT}/role/${role}`, { policies: [policy], ttl: "5m", max_ttl: "20m" })).status;
        // The role was written a moment ago, maybe through another node: creds must work at once (forwarded).
        const { attempt, issued } = await requestCreds(node, role);
        expect(attempt.ok, `creds/${role} on ${node.id}: ${attempt.status ?? ""} ${attempt.error ?? ""}`).toBe(true);
        const creds = issued as Issued;
        await expectWorks(creds, policy);
        signature.creds = [attempt.status, creds.leaseId.startsWith(`${MOUNT}/creds/${role}/`), creds.leaseDuration];

        const roleRead = await settledRead(node, `${MOUNT}/role/${role}`, (result) => result.status === 200);
        signature.readRole = [roleRead.status, roleRead.json<{ data: unknown }>().data];
        const list = await settledRead(node, `${MOUNT}/role?list=true`, (result) => result.status === 200 && result.text.includes(`"${role}"`));
        signature.listRoles = [list.status, list.json<{ data: { keys: string[] } }>().data.keys.includes(role)];

        const renew = await vault.http(node, "PUT", "sys/leases/renew", { lease_id: creds.leaseId });
        signature.renew = [renew.status, renew.json<{ renewable: boolean }>().renewable];
        const revoke = await vault.http(node, "PUT", "sys/leases/revoke", { lease_id: creds.leaseId });
        signature.revoke = revoke.status;
        await waitFor(`token of ${creds.leaseId} deleted`, async () =>
          (await env().nomad.api().tokenInfo(creds.accessorId)).status === 404 ? true : undefined,
        );

        const missing = await vault.http(node, "GET", `${MOUNT}/creds/no-such-role`);
        signature.credsMissingRole = [missing.status, vaultErrors(missing)];
        const invalid = await vault.http(node, "POST", `${MOUNT}/role/invalid`, { type: "client" });
        signature.invalidRole = [invalid.status, vaultErrors(invalid)];
        const help = await vault.http(node, "GET", `${MOUNT}/role/x?help=1`);
        signature.help = [help.status, createHash("sha256").update(help.json<{ help: string }>().help).digest("hex").slice(0, 16)];

        signature.deleteRole = (await vault.http(node, "DELETE", `${MOUNT}/role/${role}`)).status;
        signature.readDeleted = (await settledRead(node, `${MOUNT}/role/${role}`, (result) => result.status === 404)).status;
        signatures.set(node.id, signature);
      }
      const expected = signatures.get(active.id);
      for (const node of order.slice(1)) expect({ node: node.id, ...signatures.get(node.id) }).toEqual({ node: node.id, ...expected });

      // rotate-root through every node in turn: each time creds work through every node after it.
      const rotateStatuses: number[] = [];
      await vault.http(active, "POST", `${MOUNT}/role/parity`, { policies: [policy] });
      for (const node of order) {
        const rotate = await vault.http(node, "POST", `${MOUNT}/config/rotate-root`, {});
        rotateStatuses.push(rotate.status);
        expectNoSecretIn(rotate.text, "rotate-root's answer");
        for (const through of order) {
          const { attempt, issued } = await requestCreds(through, "parity");
          expect(attempt.ok, `creds on ${through.id} after rotate-root on ${node.id}: ${attempt.error ?? ""}`).toBe(true);
          await expectWorks(issued as Issued, policy);
          expect((await vault.http(through, "PUT", "sys/leases/revoke", { lease_id: (issued as Issued).leaseId })).status).toBe(204);
        }
      }
      expect(new Set(rotateStatuses).size).toBe(1);
      expect([200, 204]).toContain(rotateStatuses[0]);
      record("parity", { nodes: order.map((node) => node.id), signature: expected, standbyReadRetries: readRetries });
    },
    { timeoutMs: 300_000 },
  );
});
