// Nomad for the acceptance suite: a dev agent with ACLs on loopback (or the one
// NOMAD_ADDR/NOMAD_TOKEN point at), and a thin client for the HTTP API calls the
// tests make (nomad.md §2).
import { writeFileSync } from "node:fs";
import path from "node:path";
import { discoverNomad, reusableNomad } from "./binaries.ts";
import { httpRequest, waitFor, type HttpResult } from "./http.ts";
import { freePorts } from "./ports.ts";
import { startProcess, type ManagedProcess } from "./process.ts";
import type { Stack } from "./stack.ts";

export interface NomadRoleLink {
  ID: string;
  Name: string;
}

/** GET /v1/acl/token/:accessor (management caller). */
export interface NomadToken {
  AccessorID: string;
  SecretID: string;
  Name: string;
  Type: "client" | "management";
  Policies: string[] | null;
  Roles: NomadRoleLink[] | null;
  Global: boolean;
  CreateTime: string;
  ExpirationTime?: string | null;
  ExpirationTTL?: string | number;
}

/** GET /v1/acl/tokens lists stubs: no SecretID. */
export type NomadTokenStub = Omit<NomadToken, "SecretID">;

export interface NomadAclRole {
  ID: string;
  Name: string;
}

export class NomadApi {
  constructor(
    readonly addr: string,
    readonly token?: string,
  ) {}

  /** The same Nomad, authenticated with another token. */
  as(token: string): NomadApi {
    return new NomadApi(this.addr, token);
  }

  request(method: string, apiPath: string, body?: unknown): Promise<HttpResult> {
    const headers: Record<string, string> = {};
    if (this.token !== undefined) headers["X-Nomad-Token"] = this.token;
    return httpRequest(method, `${this.addr}${apiPath}`, { headers, body });
  }

  /** Like request, but insists on the status and parses the JSON body (if any). */
  async call<T>(method: string, apiPath: string, body?: unknown, status = 200): Promise<T> {
    const result = await this.request(method, apiPath, body);
    if (result.status !== status) {
      throw new Error(`Nomad ${method} ${apiPath}: HTTP ${result.status} (wanted ${status}): ${result.text.slice(0, 500)}`);
    }
    return (result.text === "" ? undefined : result.json<T>()) as T;
  }

  self(): Promise<NomadToken> {
    return this.call<NomadToken>("GET", "/v1/acl/token/self");
  }

  tokenInfo(accessor: string): Promise<HttpResult> {
    return this.request("GET", `/v1/acl/token/${encodeURIComponent(accessor)}`);
  }

  getToken(accessor: string): Promise<NomadToken> {
    return this.call<NomadToken>("GET", `/v1/acl/token/${encodeURIComponent(accessor)}`);
  }

  async tokens(): Promise<NomadTokenStub[]> {
    return (await this.call<NomadTokenStub[] | null>("GET", "/v1/acl/tokens")) ?? [];
  }

  createToken(spec: { Name: string; Type: "client" | "management"; Policies?: string[] }): Promise<NomadToken> {
    return this.call<NomadToken>("POST", "/v1/acl/token", spec);
  }

  deleteToken(accessor: string): Promise<HttpResult> {
    return this.request("DELETE", `/v1/acl/token/${encodeURIComponent(accessor)}`);
  }

  async upsertPolicy(name: string, rules: string, description: string): Promise<void> {
    await this.call<unknown>("POST", `/v1/acl/policy/${encodeURIComponent(name)}`, {
      Name: name,
      Description: description,
      Rules: rules,
    });
  }

  deletePolicy(name: string): Promise<HttpResult> {
    return this.request("DELETE", `/v1/acl/policy/${encodeURIComponent(name)}`);
  }

  createRole(name: string, policies: string[]): Promise<NomadAclRole> {
    return this.call<NomadAclRole>("POST", "/v1/acl/role", {
      Name: name,
      Description: "vault-plugin-secrets-nomad acceptance test",
      Policies: policies.map((policy) => ({ Name: policy })),
    });
  }

  deleteRole(id: string): Promise<HttpResult> {
    return this.request("DELETE", `/v1/acl/role/${encodeURIComponent(id)}`);
  }

  registerJob(job: unknown): Promise<HttpResult> {
    return this.request("POST", "/v1/jobs", { Job: job });
  }

  dispatch(jobId: string, meta: Record<string, string>): Promise<HttpResult> {
    return this.request("POST", `/v1/job/${encodeURIComponent(jobId)}/dispatch`, { Meta: meta });
  }

  purgeJob(jobId: string): Promise<HttpResult> {
    return this.request("DELETE", `/v1/job/${encodeURIComponent(jobId)}?purge=true`);
  }
}

/** Policies the tests create in Nomad (nomad.md §2.11 for dispatch-job). */
export const ADMIN_POLICY_RULES = `namespace "*" {
  policy = "write"
}
node {
  policy = "read"
}
agent {
  policy = "read"
}
`;

export const DISPATCH_POLICY_RULES = `namespace "default" {
  capabilities = ["dispatch-job", "read-job"]
}
`;

/** A parameterized batch job whose task exits at once (raw_exec is on in -dev). */
export function parameterizedJob(id: string): Record<string, unknown> {
  return {
    ID: id,
    Name: id,
    Namespace: "default",
    Type: "batch",
    Datacenters: ["*"],
    ParameterizedJob: { Payload: "optional", MetaOptional: ["run"] },
    TaskGroups: [
      {
        Name: "dispatch",
        Count: 1,
        Tasks: [
          {
            Name: "noop",
            Driver: "raw_exec",
            Config: { command: "/bin/sh", args: ["-c", "exit 0"] },
            Resources: { CPU: 20, MemoryMB: 16 },
          },
        ],
      },
    ],
  };
}

export function parseNomadTime(value: string): number {
  // Go writes nanoseconds; keep milliseconds for Date.
  const millis = Date.parse(value.replace(/(\.\d{3})\d+/, "$1"));
  if (Number.isNaN(millis)) throw new Error(`not a time: ${value}`);
  return millis;
}

export interface NomadEnv {
  addr: string;
  /** Authenticated with the management token. */
  api: NomadApi;
  managementToken: string;
  /** false when reusing NOMAD_ADDR/NOMAD_TOKEN: clean up what we create there. */
  owned: boolean;
  process?: ManagedProcess;
}

/**
 * Starts `nomad agent -dev -acl-enabled` on loopback with free ports; waits for a leader.
 * `extraConfig` (HCL) is appended to the agent's configuration file.
 */
export async function startNomadAgent(stack: Stack, bin: string, extraConfig = ""): Promise<{ addr: string; process: ManagedProcess }> {
  const dir = stack.tempDir("nomad");
  const [http, rpc, serf] = (await freePorts(3)) as [number, number, number];
  const config = path.join(dir, "agent.hcl");
  writeFileSync(
    config,
    `# written by the vault-plugin-secrets-nomad acceptance suite
data_dir  = "${path.join(dir, "data")}"
bind_addr = "127.0.0.1"
ports {
  http = ${http}
  rpc  = ${rpc}
  serf = ${serf}
}
acl {
  enabled = true
}
client {
  # No cloud-metadata probing on a laptop or CI box: it only slows the start
  # (and some builds fail on it outright).
  options = {
    "fingerprint.denylist" = "env_aws,env_gce,env_azure,env_digitalocean"
  }
}
${extraConfig}`,
  );
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("NOMAD_")));
  const agent = stack.adopt(
    startProcess({
      name: "nomad agent",
      bin,
      args: ["agent", "-dev", "-acl-enabled", "-bind=127.0.0.1", `-config=${config}`],
      env,
      cwd: dir,
      logFile: path.join(dir, "nomad.log"),
    }),
  );
  const addr = `http://127.0.0.1:${http}`;
  await waitFor(
    `a Nomad leader at ${addr}`,
    async () => {
      const result = await httpRequest("GET", `${addr}/v1/status/leader`, { timeoutMs: 2_000 });
      return result.status === 200 && result.json<string>() !== "" ? true : undefined;
    },
    { timeoutMs: 90_000, process: agent },
  );
  return { addr, process: agent };
}

/** POST /v1/acl/bootstrap until the cluster is ready for it; returns the management secret. */
export async function bootstrapAcl(addr: string, agent?: ManagedProcess): Promise<string> {
  let refused: string | undefined;
  const secret = await waitFor(
    "Nomad ACL bootstrap",
    async () => {
      const result = await httpRequest("POST", `${addr}/v1/acl/bootstrap`, { timeoutMs: 5_000 });
      if (result.status === 200) return result.json<NomadToken>().SecretID;
      if (/already done/i.test(result.text)) {
        refused = result.text;
        return "";
      }
      throw new Error(`HTTP ${result.status}: ${result.text.trim()}`);
    },
    { timeoutMs: 60_000, ...(agent !== undefined ? { process: agent } : {}) },
  );
  if (refused !== undefined) throw new Error(`Nomad at ${addr} was bootstrapped already: ${refused.trim()}`);
  return secret;
}

/**
 * The Nomad the tests run against. `fresh` always starts a new agent (and leaves
 * it un-bootstrapped); otherwise NOMAD_ADDR/NOMAD_TOKEN are reused when set, and
 * a started agent is bootstrapped here.
 */
export async function provideNomad(stack: Stack, options: { fresh: true }): Promise<{ addr: string; process: ManagedProcess }>;
export async function provideNomad(stack: Stack, options?: { fresh?: false }): Promise<NomadEnv>;
export async function provideNomad(
  stack: Stack,
  options: { fresh?: boolean } = {},
): Promise<NomadEnv | { addr: string; process: ManagedProcess }> {
  const reuse = reusableNomad();
  if (reuse !== undefined && options.fresh !== true) {
    const api = new NomadApi(reuse.addr, reuse.token);
    const self = await api.self().catch((error: unknown) => {
      throw new Error(`cannot use NOMAD_ADDR=${reuse.addr} with NOMAD_TOKEN: ${String(error)}`);
    });
    if (self.Type !== "management") throw new Error(`NOMAD_TOKEN must be a management token (it is "${self.Type}")`);
    return { addr: reuse.addr, api, managementToken: reuse.token, owned: false };
  }
  const bin = discoverNomad();
  if (!bin.found) throw new Error(`${bin.reason} (or set NOMAD_ADDR and NOMAD_TOKEN to reuse a Nomad)`);
  const started = await startNomadAgent(stack, bin.value);
  if (options.fresh === true) return started;
  const managementToken = await bootstrapAcl(started.addr, started.process);
  return {
    addr: started.addr,
    api: new NomadApi(started.addr, managementToken),
    managementToken,
    owned: true,
    process: started.process,
  };
}
