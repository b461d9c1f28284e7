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
//   ACC_SOAK_CYCLES           creds+revoke cycles in the soak (one failover; RSS flatness    2000 [>= 20000]
//                             is judged from 1,000 cycles up)
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

/** Soaks shorter than this still print RSS, but do not judge its flatness. */
const MIN_CYCLES_FOR_FLAT_RSS = 1000;
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
  if (result.status === 307) return `redirected to ${result.location ?? "?"} (this standby could not forward)`;
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
  /** The management token config/access holds since the config/access change. */
  let currentEngineToken: string | undefined;
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

  flow.step("plugin registered by sha256 once; every node that serves the mount runs its own copy with that sha256", async () => {
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
    // OpenBao standbys serve reads, so every node starts its own plugin process
    // from its own directory. Vault OSS standbys forward every request and set
    // up no mounts: only the active node runs the plugin until a failover.
    const serving = vault.binary.kind === "bao" ? vault.nodes : [active];
    for (const node of serving) {
      await waitFor(`a plugin process under ${node.id}`, async () => (pluginPids(node.process.pid).length > 0 ? true : undefined), {
        timeoutMs: 60_000,
      });
    }
    record("pluginProcesses", Object.fromEntries(vault.nodes.map((node) => [node.id, pluginPids(node.process.pid).length])));
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

  /**
   * Creds spread over the nodes that are up until `successes` answered; the
   * fault runs once half of them have. Returns every attempt and every lease.
   */
  async function credsStorm(options: {
    role: string;
    successes: number;
    concurrency: number;
    /** Injects the fault; resolves to the instant of the SIGKILL once recovery was seen. */
    fault: () => Promise<number>;
  }): Promise<{ attempts: Attempt[]; issued: Issued[]; faultAt: number; durationMs: number }> {
    const { vault } = env();
    const picker = new Picker(vault.nodes.filter((node) => node.up));
    const attempts: Attempt[] = [];
    const issued: Issued[] = [];
    let faultDone: Promise<number> | undefined;
    const result = await runPool({
      successes: options.successes,
      concurrency: options.concurrency,
      maxAttempts: options.successes * 4 + 5_000,
      backoffMs: 200,
      body: async () => {
        const node = picker.next();
        const answer = await requestCreds(node, options.role);
        attempts.push(answer.attempt);
        if (answer.issued !== undefined) issued.push(answer.issued);
        // No HTTP answer at all: that node is gone; a load balancer would drop it too.
        if (!answer.attempt.ok && answer.attempt.status === undefined) picker.bench(node, /ECONNREFUSED/.test(answer.attempt.error ?? ""));
        if (faultDone === undefined && issued.length >= options.successes / 2) faultDone = options.fault();
        return answer.attempt.ok;
      },
    });
    if (faultDone === undefined) throw new Error("the storm ended before the fault was injected");
    const faultAt = await faultDone;
    return { attempts, issued, faultAt, durationMs: result.durationMs };
  }

  /** Every error text a client saw is a message (not a stack), names its cause, and holds no secret. */
  function expectClearErrors(window: WindowFigures): void {
    for (const text of Object.keys(window.errors)) {
      expectNoSecretIn(text, `the error "${text.slice(0, 80)}…"`);
      expect(text).not.toMatch(/\bat .+\.(js|ts):\d+/);
    }
  }

  /** Renews and revokes every lease through the nodes in turn; returns the failures. */
  async function renewAndRevokeAll(issued: readonly Issued[], concurrency: number): Promise<{ renewFailures: string[]; revokeFailures: string[]; durationMs: number }> {
    const { vault } = env();
    const picker = new Picker(vault.nodes.filter((node) => node.up));
    const renewFailures: string[] = [];
    const revokeFailures: string[] = [];
    const started = Date.now();
    let index = 0;
    const worker = async () => {
      while (index < issued.length) {
        const lease = issued[index] as Issued;
        index += 1;
        const renewNode = picker.next();
        const renew = await vault.http(renewNode, "PUT", "sys/leases/renew", { lease_id: lease.leaseId });
        if (renew.status !== 200) renewFailures.push(`renew on ${renewNode.id}: ${renew.status} ${vaultErrors(renew)}`);
        const revokeNode = picker.next();
        const revoke = await vault.http(revokeNode, "PUT", "sys/leases/revoke", { lease_id: lease.leaseId });
        if (revoke.status !== 204) revokeFailures.push(`revoke on ${revokeNode.id}: ${revoke.status} ${vaultErrors(revoke)}`);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    return { renewFailures, revokeFailures, durationMs: Date.now() - started };
  }

  /**
   * Tokens of a role still in Nomad that no client was given. Each must carry a
   * Nomad-side expiry no later than CreateTime + the role's max TTL; they are
   * remembered so later checks do not count them twice.
   */
  function checkUnacknowledged(left: readonly NomadTokenStub[], acknowledged: ReadonlySet<string>, maxTtlSeconds: number, role: string) {
    const acknowledgedLeft = left.filter((token) => acknowledged.has(token.AccessorID));
    expect(acknowledgedLeft.map((token) => token.Name), "tokens a client was given, still in Nomad").toEqual([]);
    const unbounded = left.filter((token) => {
      if (token.ExpirationTime === undefined || token.ExpirationTime === null) return true;
      return parseNomadTime(token.ExpirationTime) - parseNomadTime(token.CreateTime) > maxTtlSeconds * 1000 + 5_000;
    });
    expect(unbounded.map((token) => `${token.Name} expires ${String(token.ExpirationTime)}`), "tokens without a bounded expiry").toEqual([]);
    for (const token of left) knownOrphans.set(token.AccessorID, role);
    return left.map((token) => ({
      name: token.Name,
      lifetimeSeconds: Math.round((parseNomadTime(token.ExpirationTime as string) - parseNomadTime(token.CreateTime)) / 1000),
    }));
  }

  flow.step(
    `creds storm over all nodes (concurrency ${settings?.stormConcurrency}), SIGKILL of the active node in the middle`,
    async () => {
      const { vault, policy } = env();
      const role = "storm";
      const maxTtl = 45 * 60;
      await vault.http(await vault.waitActive(), "POST", `${MOUNT}/role/${role}`, { policies: [policy], ttl: "30m", max_ttl: "45m" });
      const killed = await vault.waitActive();
      let electedAt = 0;
      let elected: RaftNode | undefined;
      const storm = await credsStorm({
        role,
        successes: settings?.stormSuccesses ?? 2000,
        concurrency: settings?.stormConcurrency ?? 16,
        fault: async () => {
          const at = Date.now();
          await vault.kill(killed);
          elected = await vault.waitActive(180_000, 50);
          electedAt = Date.now();
          return at;
        },
      });
      const window = failoverWindow(storm.attempts, storm.faultAt, electedAt);
      record("stormWindow", { attempts: storm.attempts.length, answered: storm.issued.length, electionMs: electedAt - storm.faultAt, ...window });
      expectClearErrors(window);
      expect(elected).toBeDefined();
      expect(elected).not.toBe(killed);
      expect(window.recoveredAt, "a creds request succeeded after the failover").toBeDefined();

      // Every lease a client received renews and revokes on the new active node's cluster.
      const acknowledged = new Set(storm.issued.map((lease) => lease.accessorId));
      const leases = await renewAndRevokeAll(storm.issued, settings?.stormConcurrency ?? 16);
      expect(leases.renewFailures.slice(0, 5), `${leases.renewFailures.length} renewals failed`).toEqual([]);
      expect(leases.revokeFailures.slice(0, 5), `${leases.revokeFailures.length} revocations failed`).toEqual([]);
      const unacknowledgedMinted = (await engineTokens(role)).filter((token) => !acknowledged.has(token.AccessorID)).length;

      const prefix = await vault.http(elected as RaftNode, "PUT", `sys/leases/revoke-prefix/${MOUNT}/creds`, {});
      expect(prefix.status, vaultErrors(prefix)).toBe(204);
      const left = await engineTokens(role);
      const orphans = checkUnacknowledged(left, acknowledged, maxTtl, role);
      record("storm", {
        killed: killed.id,
        elected: elected?.id,
        attempts: storm.attempts.length,
        answered: storm.issued.length,
        durationMs: storm.durationMs,
        electionMs: electedAt - storm.faultAt,
        failoverWindowMs: window.durationMs,
        firstRecoveryMs: window.firstRecoveredAt === undefined ? undefined : window.firstRecoveredAt - window.faultAt,
        recoveredMsByNode: window.recoveredMsByTarget,
        failuresInWindow: window.failuresInWindow,
        failuresOutsideWindow: window.failuresOutsideWindow,
        errors: window.errors,
        renewAndRevokeMs: leases.durationMs,
        unacknowledgedMintedBeforeRevokePrefix: unacknowledgedMinted,
        leftAfterRevokePrefix: orphans,
      });
    },
    { timeoutMs: stepTimeout((settings?.stormSuccesses ?? 2000) * 3) },
  );

  flow.step(
    "a role and config/lease changed through the active node show on every node that had read them (the plugin's read cache follows InvalidateKey)",
    async () => {
      const { vault, policy } = env();
      // The storm's SIGKILLed node comes back as a standby with a new plugin process.
      for (const node of vault.nodes.filter((candidate) => !candidate.up)) await vault.restart(node);
      await waitMountEverywhere(MOUNT);
      const active = await vault.waitActive();
      /** Polls a read on `node` until `settled`; returns how long that took (ms), or fails after 15 s. */
      const convergeMs = async (node: RaftNode, apiPath: string, settled: (result: HttpResult) => boolean): Promise<number> => {
        const started = Date.now();
        for (;;) {
          const result = await vault.http(node, "GET", apiPath);
          if (settled(result)) return Date.now() - started;
          if (Date.now() - started > 15_000) throw new Error(`${node.id} still answers ${result.status} ${result.text.slice(0, 200)} for ${apiPath} after 15 s`);
          await sleep(50);
        }
      };
      const ttlOf = (result: HttpResult): number | undefined => (result.status === 200 ? result.json<{ data: { ttl: number } }>().data.ttl : undefined);
      const rolePath = `${MOUNT}/role/cached`;
      const leasePath = `${MOUNT}/config/lease`;
      expect((await vault.http(active, "POST", rolePath, { policies: [policy], ttl: "5m" })).status).toBe(204);
      expect((await vault.http(active, "POST", leasePath, { ttl: "10m", max_ttl: "1h" })).status).toBe(204);
      // Every node reads both, so each plugin holds them.
      for (const node of vault.nodes) {
        await convergeMs(node, rolePath, (result) => ttlOf(result) === 300);
        await convergeMs(node, leasePath, (result) => ttlOf(result) === 600);
      }
      expect((await vault.http(active, "POST", rolePath, { policies: [policy], ttl: "7m" })).status).toBe(204);
      expect((await vault.http(active, "POST", leasePath, { ttl: "11m", max_ttl: "1h" })).status).toBe(204);
      const changed: Record<string, number[]> = {};
      for (const node of vault.nodes) {
        changed[node.id] = [
          await convergeMs(node, rolePath, (result) => ttlOf(result) === 420),
          await convergeMs(node, leasePath, (result) => ttlOf(result) === 660),
        ];
      }
      // Creds through every node use the changed role at once (creds run on the active node).
      for (const node of vault.nodes) {
        const { attempt, issued } = await requestCreds(node, "cached");
        expect(attempt.ok, `creds/cached on ${node.id}: ${attempt.status ?? ""} ${attempt.error ?? ""}`).toBe(true);
        expect((issued as Issued).leaseDuration).toBe(420);
        expect((await vault.http(node, "PUT", "sys/leases/revoke", { lease_id: (issued as Issued).leaseId })).status).toBe(204);
      }
      expect((await vault.http(active, "DELETE", rolePath)).status).toBe(204);
      const deleted: Record<string, number> = {};
      for (const node of vault.nodes) deleted[node.id] = await convergeMs(node, rolePath, (result) => result.status === 404);
      record("readCache", { msUntilChangedRoleAndLeaseShown: changed, msUntilDeletedRoleShown: deleted });
    },
    { timeoutMs: 180_000 },
  );

  flow.step(
    "config/access changed, then failover: the new active node uses the new address and token at once",
    async () => {
      const { vault, nomad, balancerA, balancerB, policy } = env();
      for (const node of vault.nodes.filter((candidate) => !candidate.up)) await vault.restart(node);
      await vault.waitVoters();
      const api = nomad.api();
      const newToken = await api.createToken({ Name: `acc-engine-2-${suffix}`, Type: "management" });
      secrets.add(newToken.SecretID);
      currentEngineToken = newToken.SecretID;
      const active = await vault.waitActive();
      const standby = vault.standbys(active)[0] as RaftNode;
      // Written through a standby (forwarded), as an operator behind a load balancer would.
      const write = await vault.http(standby, "POST", `${MOUNT}/config/access`, { address: balancerB.addr, token: newToken.SecretID });
      expect(write.status, vaultErrors(write)).toBe(204);
      await vault.http(active, "POST", `${MOUNT}/role/after-change`, { policies: [policy] });
      // The old address stops answering and every other management token goes
      // (the one handed over first and the ones rotate-root made): only the new
      // address and token can work from here on.
      await balancerA.close();
      for (const token of await api.tokens()) {
        if (token.Type === "management" && token.AccessorID !== newToken.AccessorID && token.Name !== "Bootstrap Token") {
          await api.deleteToken(token.AccessorID);
        }
      }
      const beforeB = balancerB.connections();
      const standbyForwardingMs: Record<string, number> = {};
      const killedAt = Date.now();
      await vault.kill(active);
      const elected = await vault.waitActive(180_000, 50);
      const electedAt = Date.now();
      // At once: the first request to the new active node, and then one through each standby.
      const first = await requestCreds(elected, "after-change");
      expect(first.attempt.ok, `first creds on the new active node ${elected.id}: ${first.attempt.status ?? ""} ${first.attempt.error ?? ""}`).toBe(true);
      await expectWorks(first.issued as Issued, policy);
      for (const node of vault.standbys(elected)) {
        // A standby redirects (307) to the active node it last knew until it learns the new one.
        await waitFor(`${node.id} to know the new active node`, async () => {
          const leader = await vault.http(node, "GET", "sys/leader");
          return leader.status === 200 && leader.json<{ leader_address: string }>().leader_address === elected.addr ? true : undefined;
        });
        // Knowing the leader is not yet forwarding to it: the standby's
        // forwarding connection comes up a little later, and until then the
        // host answers 307. Only that is waited out; any other failure fails.
        let through = await requestCreds(node, "after-change");
        const redirectedSince = Date.now();
        while (!through.attempt.ok && through.attempt.status === 307 && Date.now() - redirectedSince < 60_000) {
          await new Promise((resolve) => setTimeout(resolve, 500));
          through = await requestCreds(node, "after-change");
        }
        standbyForwardingMs[node.id] = Date.now() - redirectedSince;
        expect(through.attempt.ok, `creds through ${node.id}: ${through.attempt.error ?? ""}`).toBe(true);
        await expectWorks(through.issued as Issued, policy);
      }
      expect(balancerB.connections()).toBeGreaterThan(beforeB);
      const self = await vault.http(elected, "GET", `${MOUNT}/config/access`);
      expect(self.json<{ data: { address: string } }>().data.address).toBe(balancerB.addr);
      record("configChangeFailover", {
        killed: active.id,
        elected: elected.id,
        electionMs: electedAt - killedAt,
        standbyForwardingMs,
        firstCredsMs: first.attempt.end - first.attempt.start,
      });
    },
    { timeoutMs: 600_000 },
  );

  flow.step(
    `SIGKILL of the Nomad leader during a creds storm (concurrency ${settings?.stormConcurrency}): serving again once a new leader exists, every secret works, 0 orphans`,
    async () => {
      const { vault, nomad, policy } = env();
      for (const node of vault.nodes.filter((candidate) => !candidate.up)) await vault.restart(node);
      await vault.waitVoters();
      const role = "nlstorm";
      await vault.http(await vault.waitActive(), "POST", `${MOUNT}/role/${role}`, { policies: [policy], ttl: "30m", max_ttl: "45m" });
      const killed = await nomad.waitLeader();
      let newLeader: NomadServer | undefined;
      let leaderAt = 0;
      const storm = await credsStorm({
        role,
        successes: settings?.nomadStormSuccesses ?? 1000,
        concurrency: settings?.stormConcurrency ?? 16,
        fault: async () => {
          const at = Date.now();
          await nomad.kill(killed);
          newLeader = await nomad.waitLeader(120_000, 50);
          leaderAt = Date.now();
          return at;
        },
      });
      const window = failoverWindow(storm.attempts, storm.faultAt, leaderAt);
      expectClearErrors(window);
      // Errors while Nomad had no leader name Nomad as the cause.
      for (const text of Object.keys(window.errors)) expect(text).toMatch(/nomad/i);
      expect(newLeader).toBeDefined();
      expect(newLeader).not.toBe(killed);
      // Serving again once a leader exists: nothing that started after the new leader was known failed.
      const lateFailures = storm.attempts.filter((attempt) => !attempt.ok && attempt.start > leaderAt + 1_000);
      expect(lateFailures.slice(0, 5), `${lateFailures.length} requests failed after the new leader`).toEqual([]);

      // Never a secret with a bad token: every one a client got works in Nomad.
      const bad: string[] = [];
      let checked = 0;
      const pending = [...storm.issued];
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          for (let lease = pending.pop(); lease !== undefined; lease = pending.pop()) {
            const self = await new NomadApi((newLeader as NomadServer).addr, lease.secretId).request("GET", "/v1/acl/token/self");
            checked += 1;
            if (self.status !== 200 || self.json<NomadToken>().AccessorID !== lease.accessorId) bad.push(`${lease.accessorId}: HTTP ${self.status}`);
          }
        }),
      );
      expect(bad.slice(0, 5), `${bad.length} issued secrets do not work in Nomad`).toEqual([]);

      const acknowledged = new Set(storm.issued.map((lease) => lease.accessorId));
      const prefix = await vault.http(await vault.waitActive(), "PUT", `sys/leases/revoke-prefix/${MOUNT}/creds`, {});
      expect(prefix.status, vaultErrors(prefix)).toBe(204);
      const left = await engineTokens(role);
      record("nomadLeaderStorm", {
        killed: killed.name,
        newLeader: newLeader?.name,
        attempts: storm.attempts.length,
        answered: storm.issued.length,
        durationMs: storm.durationMs,
        electionMs: leaderAt - storm.faultAt,
        failoverWindowMs: window.durationMs,
        firstRecoveryMs: window.firstRecoveredAt === undefined ? undefined : window.firstRecoveredAt - window.faultAt,
        recoveredMsByNode: window.recoveredMsByTarget,
        failuresInWindow: window.failuresInWindow,
        failuresOutsideWindow: window.failuresOutsideWindow,
        errors: window.errors,
        secretsCheckedInNomad: checked,
        orphansAfterRevokePrefix: left.map((token) => ({ name: token.Name, acknowledged: acknowledged.has(token.AccessorID) })),
      });
      expect(left.map((token) => token.Name), "orphan tokens after the Nomad leader's SIGKILL").toEqual([]);
      await nomad.restart(killed);
    },
    { timeoutMs: stepTimeout((settings?.nomadStormSuccesses ?? 1000) * 3) },
  );


  flow.step(
    `soak: ${settings?.soakCycles} creds+revoke cycles through the cluster with one failover; RSS flat, 0 orphans`,
    async () => {
      const { vault, policy } = env();
      for (const node of vault.nodes.filter((candidate) => !candidate.up)) await vault.restart(node);
      await vault.waitVoters();
      const cycles = settings?.soakCycles ?? 2000;
      const concurrency = settings?.soakConcurrency ?? 8;
      const failoverAfter = Math.max(1, Math.floor(cycles * (settings?.soakFailoverAt ?? 0.1)));
      const role = "soak";
      const maxTtl = 10 * 60;
      let active = await vault.waitActive();
      await vault.http(active, "POST", `${MOUNT}/role/${role}`, { policies: [policy], ttl: "5m", max_ttl: "10m" });

      const picker = new Picker(vault.nodes);
      const attempts: Attempt[] = [];
      const unrevoked: Issued[] = [];
      const sampleEvery = Math.max(1, Math.floor(cycles / 40));
      const samples: Array<{ cycle: number; node: string; pids: number[]; rssMib: number }> = [];
      const sample = (cycle: number) => {
        const pids = pluginPids(active.process.pid);
        const kib = pids.reduce((sum, pid) => sum + (rssKib(pid) ?? 0), 0);
        samples.push({ cycle, node: active.id, pids, rssMib: Math.round((kib / 1024) * 10) / 10 });
      };
      let done = 0;
      let fault: Promise<void> | undefined;
      let faultAt = 0;
      let electedAt = 0;
      let killed: RaftNode | undefined;
      sample(0);
      const pool = await runPool({
        successes: cycles,
        concurrency,
        maxAttempts: cycles * 2 + 5_000,
        backoffMs: 200,
        body: async () => {
          const node = picker.next();
          const start = Date.now();
          const creds = await requestCreds(node, role);
          if (!creds.attempt.ok) {
            attempts.push(creds.attempt);
            if (creds.attempt.status === undefined) picker.bench(node, /ECONNREFUSED/.test(creds.attempt.error ?? ""));
            return false;
          }
          const issued = creds.issued as Issued;
          const revokeNode = picker.next();
          let revokeError: string | undefined;
          let revokeStatus: number | undefined;
          try {
            const revoke = await vault.http(revokeNode, "PUT", "sys/leases/revoke", { lease_id: issued.leaseId }, 30_000);
            revokeStatus = revoke.status;
            if (revoke.status !== 204) revokeError = `revoke: ${vaultErrors(revoke)}`;
          } catch (error: unknown) {
            revokeError = `revoke: ${describeError(error)}`;
            picker.bench(revokeNode, /ECONNREFUSED/.test(revokeError));
          }
          const end = Date.now();
          if (revokeError !== undefined) {
            unrevoked.push(issued);
            attempts.push({ start, end, ok: false, target: revokeNode.id, ...(revokeStatus === undefined ? {} : { status: revokeStatus }), error: revokeError });
            return false;
          }
          attempts.push({ start, end, ok: true, target: `${node.id}+${revokeNode.id}` });
          done += 1;
          if (done % sampleEvery === 0) sample(done);
          if (fault === undefined && done >= failoverAfter) {
            killed = active;
            faultAt = Date.now();
            fault = (async () => {
              await vault.kill(killed as RaftNode);
              active = await vault.waitActive(180_000, 50);
              electedAt = Date.now();
            })();
          }
          return true;
        },
      });
      if (fault === undefined) throw new Error("the soak ended before the failover");
      await fault;
      sample(done);
      const window = failoverWindow(attempts, faultAt, electedAt);
      expectClearErrors(window);

      // Leases whose revoke failed in the window, then whatever a request in flight at the SIGKILL left.
      for (const lease of unrevoked) {
        const revoke = await vault.http(active, "PUT", "sys/leases/revoke", { lease_id: lease.leaseId });
        expect(revoke.status, vaultErrors(revoke)).toBe(204);
      }
      const prefix = await vault.http(active, "PUT", `sys/leases/revoke-prefix/${MOUNT}/creds`, {});
      expect(prefix.status, vaultErrors(prefix)).toBe(204);
      const windowEnd = window.recoveredAt ?? Date.now();
      const left = await engineTokens(role);
      const inWindow = left.filter((token) => {
        const created = parseNomadTime(token.CreateTime);
        return created >= faultAt - 2_000 && created <= windowEnd + 2_000;
      });
      const outsideWindow = left.filter((token) => !inWindow.includes(token));
      const acknowledged = new Set<string>();
      const orphans = checkUnacknowledged(inWindow, acknowledged, maxTtl, role);

      // RSS over the last three quarters, on the node that was active then.
      const measured = samples.filter((entry) => entry.cycle >= cycles / 4 && entry.cycle > failoverAfter);
      const rss = measured.map((entry) => entry.rssMib);
      const low = Math.min(...rss);
      const high = Math.max(...rss);
      record("soak", {
        cycles: pool.successes,
        attempts: pool.attempts,
        concurrency,
        durationMs: pool.durationMs,
        cyclesPerSecond: Math.round((pool.successes / pool.durationMs) * 1000 * 10) / 10,
        killed: killed?.id,
        elected: active.id,
        failoverAtCycle: failoverAfter,
        electionMs: electedAt - faultAt,
        failoverWindowMs: window.durationMs,
        firstRecoveryMs: window.firstRecoveredAt === undefined ? undefined : window.firstRecoveredAt - window.faultAt,
        recoveredMsByNode: window.recoveredMsByTarget,
        failuresInWindow: window.failuresInWindow,
        failuresOutsideWindow: window.failuresOutsideWindow,
        errors: window.errors,
        orphansMintedInWindow: orphans,
        orphansOutsideWindow: outsideWindow.length,
        rssMibLastThreeQuarters: { min: low, max: high, spreadPercent: Math.round(((high - low) / low) * 1000) / 10, samples: measured.length },
        rssSamples: samples.map((entry) => [entry.cycle, entry.node, entry.rssMib]),
      });
      expect(window.failuresOutsideWindow, JSON.stringify(window.errors)).toBe(0);
      expect(outsideWindow.map((token) => token.Name), "orphan tokens outside the failover window").toEqual([]);
      expect(measured.length, "RSS samples over the last three quarters").toBeGreaterThanOrEqual(5);
      // Below ~1,000 cycles the new active node's plugin is still warming up
      // (a 400-cycle run grew 100 → 113 MiB in its last 13 s): the figure is
      // printed, but flatness is only judged on a soak long enough to show it.
      if (pool.successes >= MIN_CYCLES_FOR_FLAT_RSS) {
        expect(high, `plugin RSS ${low}–${high} MiB over the last three quarters`).toBeLessThanOrEqual(low * 1.1);
      } else {
        console.log(`[acceptance] soak: RSS flatness not judged on ${pool.successes} cycles (needs ${MIN_CYCLES_FOR_FLAT_RSS}; the default is 2000)`);
      }
    },
    { timeoutMs: stepTimeout((settings?.soakCycles ?? 2000) * 4) },
  );

  flow.step("secrets disable on the cluster (through a standby) leaves no token in Nomad", async () => {
    const { vault, balancerB, policy } = env();
    for (const node of vault.nodes.filter((candidate) => !candidate.up)) await vault.restart(node);
    await vault.waitVoters();
    const active = await vault.waitActive();
    const standby = vault.standbys(active)[0] as RaftNode;
    const mount = "nomad-disable";
    const role = "disable";
    const access = (await vault.http(active, "GET", `${MOUNT}/config/access`)).json<{ data: { address: string } }>().data;
    expect(access.address).toBe(balancerB.addr);
    await vault.cli(standby).ok(["secrets", "enable", `-path=${mount}`, PLUGIN_NAME]);
    await waitMountEverywhere(mount);
    const token = currentEngineToken;
    expect(token, "the engine's current management token").toBeDefined();
    expect((await vault.http(standby, "POST", `${mount}/config/access`, { address: balancerB.addr, token })).status).toBe(204);
    expect((await vault.http(standby, "POST", `${mount}/role/${role}`, { policies: [policy] })).status).toBe(204);
    const picker = new Picker(vault.nodes);
    const issued: Issued[] = [];
    for (let i = 0; i < 30; i += 1) {
      const answer = await requestCreds(picker.next(), role, mount);
      expect(answer.attempt.ok, answer.attempt.error).toBe(true);
      issued.push(answer.issued as Issued);
    }
    await expectWorks(issued[0] as Issued, policy);
    expect(await engineTokens(role)).toHaveLength(30);
    await vault.cli(standby).ok(["secrets", "disable", mount]);
    const left = await waitFor("no vault-disable-* token in Nomad", async () => {
      const tokens = await engineTokens(role);
      return tokens.length === 0 ? tokens : undefined;
    }, { timeoutMs: 60_000, intervalMs: 500 });
    expect(left).toEqual([]);

    // The main mount too: what is left are only the tokens minted at a SIGKILL and counted above.
    await vault.cli(standby).ok(["secrets", "disable", MOUNT]);
    const remaining = (await env().nomad.api().tokens()).filter((stub) => stub.Name.startsWith("vault-"));
    const unexpected = remaining.filter((stub) => !knownOrphans.has(stub.AccessorID));
    record("disable", { disabledMountTokensLeft: left.length, knownOrphansLeft: remaining.length - unexpected.length });
    expect(unexpected.map((stub) => stub.Name)).toEqual([]);
  });

});
