// config/access with no token: the engine bootstraps Nomad's ACL system itself
// and keeps the bootstrap token (Vault PR #12451). Needs a Nomad that has never
// been bootstrapped, so this file always starts its own agent (a reused
// NOMAD_ADDR cannot serve) — and a server of its own, without NOMAD_* in its
// environment, so the engine cannot fall back to one.
import { afterAll, beforeAll, describe, expect } from "vitest";
import { discoverNomad, discoverServer } from "./support/binaries.ts";
import { createFlow } from "./support/flow.ts";
import { accGate, announceSkip, type Gate } from "./support/gate.ts";
import { httpRequest } from "./support/http.ts";
import { NomadApi, provideNomad, type NomadTokenStub } from "./support/nomad.ts";
import { builtPlugin, PLUGIN_COMMAND, PLUGIN_NAME, type BuiltPlugin } from "./support/plugin.ts";
import { Stack } from "./support/stack.ts";
import { startVaultDev, type LeasedSecret, type NomadCreds, type ReadResponse, type VaultServer } from "./support/vault.ts";

function bootstrapGate(): Gate {
  const base = accGate();
  if (!base.enabled) return base;
  const nomad = discoverNomad();
  if (!nomad.found) {
    return { enabled: false, reason: `needs a Nomad binary to start an un-bootstrapped agent: ${nomad.reason}` };
  }
  return base;
}

const gate = bootstrapGate();
announceSkip("bootstrap.test.ts", gate);

interface Environment {
  plugin: BuiltPlugin;
  nomadAddr: string;
  vault: VaultServer;
}

describe.skipIf(!gate.enabled)("config/access without a token bootstraps Nomad ACLs", () => {
  const stack = new Stack();
  const flow = createFlow((title) => stack.printLogs(`step "${title}" failed`));
  let current: Environment | undefined;
  /** A management token minted by the engine: the suite's only way into this Nomad. */
  let management: NomadApi | undefined;

  const env = (): Environment => {
    if (current === undefined) throw new Error("the environment did not start (see beforeAll)");
    return current;
  };
  const admin = (): NomadApi => {
    if (management === undefined) throw new Error("no management creds were issued (an earlier step failed)");
    return management;
  };

  beforeAll(async () => {
    try {
      const server = discoverServer();
      if (!server.found) throw new Error(server.reason);
      const plugin = builtPlugin();
      const nomad = await provideNomad(stack, { fresh: true });
      const vault = await startVaultDev(stack, server.value, { plugin });
      current = { plugin, nomadAddr: nomad.addr, vault };
      const { cli } = vault;
      await cli.ok([
        "plugin",
        "register",
        `-sha256=${vault.pluginSha256}`,
        `-version=${plugin.version}`,
        `-command=${PLUGIN_COMMAND}`,
        "secret",
        PLUGIN_NAME,
      ]);
      await cli.ok(["secrets", "enable", "-path=nomad", PLUGIN_NAME]);
    } catch (error: unknown) {
      stack.printLogs("setup failed");
      throw error;
    }
  }, 240_000);

  afterAll(async () => {
    await stack.close();
  }, 120_000);

  flow.step("write nomad/config/access address=<nomad> (no token) bootstraps ACLs", async () => {
    const { vault, nomadAddr } = env();
    await vault.cli.ok(["write", "nomad/config/access", `address=${nomadAddr}`]);
    const config = await vault.cli.json<ReadResponse<Record<string, unknown>>>(["read", "-format=json", "nomad/config/access"]);
    expect(config.data.address).toBe(nomadAddr);
    expect(config.data).not.toHaveProperty("token");

    const second = await httpRequest("POST", `${nomadAddr}/v1/acl/bootstrap`);
    expect(second.status, second.text).toBe(400);
    expect(second.text).toMatch(/bootstrap already done/i);
  });

  flow.step("the bootstrapped engine issues working management creds", async () => {
    const { vault, nomadAddr } = env();
    await vault.cli.ok(["write", "nomad/config/lease", "ttl=10m", "max_ttl=1h"]);
    await vault.cli.ok(["write", "nomad/role/admin", "type=management"]);
    const creds = await vault.cli.json<LeasedSecret<NomadCreds>>(["read", "-format=json", "nomad/creds/admin"]);
    management = new NomadApi(nomadAddr, creds.data.secret_id);
    const self = await admin().self();
    expect(self.Type).toBe("management");
    expect(self.AccessorID).toBe(creds.data.accessor_id);
    const tokens = await admin().tokens();
    expect(tokens.map((token) => token.Name)).toContain("Bootstrap Token");
  });

  flow.step("write -f nomad/config/rotate-root replaces the bootstrap token", async () => {
    const { vault } = env();
    const bootstrap = (await admin().tokens()).find((token: NomadTokenStub) => token.Name === "Bootstrap Token");
    expect(bootstrap).toBeDefined();
    await vault.cli.ok(["write", "-f", "nomad/config/rotate-root"]);
    const gone = await admin().tokenInfo((bootstrap as NomadTokenStub).AccessorID);
    expect(gone.status, gone.text).toBe(404);
    // The engine still works with the token it rotated to.
    const creds = await vault.cli.json<LeasedSecret<NomadCreds>>(["read", "-format=json", "nomad/creds/admin"]);
    expect((await admin().tokenInfo(creds.data.accessor_id)).status).toBe(200);
  });

  flow.step("secrets disable nomad revokes the issued tokens", async () => {
    const { vault } = env();
    const api = admin();
    await vault.cli.ok(["secrets", "disable", "nomad"]);
    // The creds token that let the suite in was revoked too.
    expect((await api.request("GET", "/v1/jobs")).status).toBe(403);
  });
});
