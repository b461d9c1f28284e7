// The Terraform provider's real resources against both engines on one Vault:
// hashicorp/vault's vault_nomad_secret_backend, vault_nomad_secret_role and the
// vault_nomad_access_token data source, run by OpenTofu (or Terraform) with the
// same configuration against the builtin (nomad-builtin/) and this plugin
// (nomad-plugin/), both against the same Nomad. Each stage is applied, then
// planned again (`plan -detailed-exitcode` must find nothing to do), and the two
// states must agree once mount names, ids, accessors and secrets are normalised.
//
// vault_nomad_secret_backend always mounts type `nomad`, so this plugin is
// registered as `nomad` (versioned), as a Terraform user would: Vault then picks
// it for every new `nomad` mount without a plugin_version, and mounts made before
// the registration keep the builtin. The builtin side's stage 1 therefore runs
// before the registration.
//
// Runs only with VAULT_ACC=1, Vault (VAULT_BIN), Nomad, OpenTofu or Terraform
// (TOFU_BIN / TERRAFORM_BIN) and the built provider (TF_PROVIDER_VAULT_BIN).
// The states hold Nomad SecretIDs: they stay in the temp folders, and only
// redacted output is ever printed.
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { discoverServer, discoverTerraform, discoverTerraformProviderVault } from "./support/binaries.ts";
import { createFlow } from "./support/flow.ts";
import { waitFor } from "./support/http.ts";
import { accGate, announceSkip, type Gate } from "./support/gate.ts";
import { DISPATCH_POLICY_RULES, provideNomad, type NomadEnv, type NomadToken } from "./support/nomad.ts";
import { builtPlugin, PLUGIN_COMMAND, PLUGIN_NAME, type BuiltPlugin } from "./support/plugin.ts";
import { Stack } from "./support/stack.ts";
import { maskUuids, prepareTerraform, type TerraformCli, type TerraformPlan, type TerraformResource, type TerraformState } from "./support/terraform.ts";
import { startVaultDev, type VaultServer } from "./support/vault.ts";

const MOUNTS = { builtin: "nomad-builtin", plugin: "nomad-plugin" } as const;
type Side = keyof typeof MOUNTS;
const SIDES: Side[] = ["builtin", "plugin"];

const server = discoverServer();
const terraformBinary = discoverTerraform();
const providerBinary = discoverTerraformProviderVault();

function terraformGate(): Gate {
  const base = accGate();
  if (!base.enabled) return base;
  if (!(server.found && server.value.kind === "vault")) {
    return { enabled: false, reason: "the Terraform suite needs Vault (VAULT_BIN): it compares with the builtin nomad engine, which OpenBao lacks" };
  }
  if (!terraformBinary.found) return { enabled: false, reason: terraformBinary.reason };
  if (!providerBinary.found) return { enabled: false, reason: providerBinary.reason };
  return base;
}
const gate = terraformGate();
announceSkip("terraform.test.ts", gate);

/**
 * One stage of the configuration. `main` carries the role and the data source;
 * `seq` replays the provider's own TestAccNomadSecretBackend steps (the second
 * and third write `address = "foobar"`, the third `ttl = max_ttl = 0`, which the
 * provider sends as `{}` to config/lease and expects to read back as 0).
 */
interface Stage {
  title: string;
  main: { description: string; ttl?: number; maxTtl?: number; defaultLease: number; maxLease: number; maxTokenNameLength?: number };
  seq: { address: "nomad" | "foobar"; ttl: number; maxTtl: number; defaultLease: number; maxLease: number };
  /** The `ops` role: a client role, given more policies and made global. */
  ops: RoleStage;
  /** The `admin` role: a management role, made global, then turned into a client role. */
  admin: RoleStage;
}

interface RoleStage {
  type?: "client" | "management";
  policies?: "a" | "a+b";
  global?: boolean;
}

const STAGES: Stage[] = [
  {
    title: "create",
    main: { description: "created by the Terraform suite", ttl: 1800, maxTtl: 3600, defaultLease: 3600, maxLease: 7200 },
    seq: { address: "nomad", maxTtl: 60, ttl: 30, defaultLease: 3600, maxLease: 7200 },
    ops: { policies: "a" },
    admin: { type: "management" },
  },
  {
    title: "update",
    main: { description: "updated by the Terraform suite", ttl: 2400, maxTtl: 4800, defaultLease: 7200, maxLease: 14400, maxTokenNameLength: 64 },
    seq: { address: "foobar", maxTtl: 90, ttl: 60, defaultLease: 7200, maxLease: 14400 },
    ops: { policies: "a+b", global: true },
    admin: { type: "management", global: true },
  },
  {
    title: "ttl and max_ttl back to 0, the management role to client",
    main: { description: "updated by the Terraform suite", ttl: 0, maxTtl: 0, defaultLease: 7200, maxLease: 14400, maxTokenNameLength: 64 },
    seq: { address: "foobar", maxTtl: 0, ttl: 0, defaultLease: -1, maxLease: -1 },
    // type stated: the provider sends the type in state when the configuration has none.
    ops: { type: "client", policies: "a+b", global: true },
    admin: { type: "client", policies: "a", global: true },
  },
];

interface Context {
  vault: VaultServer;
  nomad: NomadEnv;
  token: NomadToken;
  policies: { a: string; b: string };
  plugin: BuiltPlugin;
  tf: TerraformCli;
  /** Per side: the working directory whose state owns the resources. */
  dirs: Record<Side, string>;
}

const hcl = (value: string) => JSON.stringify(value);

function configFor(ctx: Context, side: Side, stage: Stage): string {
  const mount = MOUNTS[side];
  const line = (key: string, value: string | number | boolean | undefined) => (value === undefined ? "" : `  ${key} = ${typeof value === "string" ? hcl(value) : String(value)}\n`);
  const role = (name: string, spec: RoleStage) => {
    const policies = spec.policies === undefined ? [] : spec.policies === "a" ? [ctx.policies.a] : [ctx.policies.a, ctx.policies.b];
    return `resource "vault_nomad_secret_role" ${hcl(name)} {
  backend = vault_nomad_secret_backend.main.backend
${line("role", name)}${line("type", spec.type)}${policies.length > 0 ? `  policies = [${policies.map(hcl).join(", ")}]\n` : ""}${line("global", spec.global)}}
`;
  };
  return `# written by terraform.test.ts (${side})
terraform {
  required_providers {
    vault = { source = "hashicorp/vault" }
  }
}

provider "vault" {
  address = ${hcl(ctx.vault.addr)}
}

variable "nomad_token" {
  type      = string
  sensitive = true
}

resource "vault_nomad_secret_backend" "main" {
${line("backend", mount)}${line("description", stage.main.description)}${line("address", ctx.nomad.addr)}  token = var.nomad_token
${line("ttl", stage.main.ttl)}${line("max_ttl", stage.main.maxTtl)}${line("default_lease_ttl_seconds", stage.main.defaultLease)}${line("max_lease_ttl_seconds", stage.main.maxLease)}${line("max_token_name_length", stage.main.maxTokenNameLength)}}

resource "vault_nomad_secret_backend" "seq" {
${line("backend", `${mount}-seq`)}  description = "test description"
${line("address", stage.seq.address === "nomad" ? ctx.nomad.addr : "foobar")}  token = var.nomad_token
${line("max_ttl", stage.seq.maxTtl)}${line("ttl", stage.seq.ttl)}${line("default_lease_ttl_seconds", stage.seq.defaultLease)}${line("max_lease_ttl_seconds", stage.seq.maxLease)}}

resource "vault_nomad_secret_role" "client" {
  backend  = vault_nomad_secret_backend.main.backend
  role     = "client"
  policies = [${hcl(ctx.policies.a)}]
}

${role("ops", stage.ops)}
${role("admin", stage.admin)}

data "vault_nomad_access_token" "client" {
  backend = vault_nomad_secret_role.client.backend
  role    = vault_nomad_secret_role.client.role
}
`;
}

/** Keys whose values are fresh per mount or per read: compared by presence and length only. */
const MINTED_KEYS = new Set(["accessor", "accessor_id", "secret_id"]);

/** A state's resources with everything that must differ between the two mounts normalised. */
function normaliseState(state: TerraformState, ctx: Context, side: Side): Record<string, unknown> {
  const mount = MOUNTS[side];
  const resources = state.values?.root_module?.resources ?? [];
  const text = (value: string) => value.replaceAll(mount, "<mount>").replaceAll(ctx.nomad.addr, "<nomad>");
  const normalise = (key: string, value: unknown): unknown => {
    if (typeof value === "string") {
      if (value === ctx.token.SecretID) return "<engine token>";
      if (MINTED_KEYS.has(key) || (key === "id" && /^[0-9a-f-]{36}$/.test(value))) return `<minted, ${value.length} chars>`;
      return text(value);
    }
    if (Array.isArray(value)) return value.map((item) => normalise("", item));
    if (value !== null && typeof value === "object") {
      return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, normalise(k, v)]));
    }
    return value;
  };
  return Object.fromEntries(resources.map((resource: TerraformResource) => [resource.address, normalise("", resource.values)]));
}

/** Attributes a plan changes per resource (no-op and read-only data source reads left out). */
function plannedChanges(plan: TerraformPlan): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const change of plan.resource_changes ?? []) {
    if (change.mode !== "managed" || change.change.actions.every((action) => action === "no-op")) continue;
    const before = change.change.before ?? {};
    const after = change.change.after ?? {};
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((key) => JSON.stringify(before[key]) !== JSON.stringify(after[key]));
    out[`${change.address} (${change.change.actions.join("+")})`] = keys.sort();
  }
  return out;
}

/**
 * What the provider's own import test of vault_nomad_secret_backend ignores
 * (ImportStateVerifyIgnore): Vault never returns the token or the write-only
 * fields, and the provider does not read disable_remount back.
 */
const IMPORT_UNREADABLE = new Set(["description", "token", "disable_remount", "token_wo", "token_wo_version", "client_key_wo", "client_key_wo_version"]);

describe.skipIf(!gate.enabled)("Terraform (hashicorp/vault provider) against the builtin and this plugin, same Vault, same Nomad", () => {
  const stack = new Stack();
  let ctx: Context | undefined;
  // The servers' logs hold no secret by design; the redaction is a second line of defence.
  const flow = createFlow((title) => stack.printLogs(`step "${title}" failed`, (text) => (ctx === undefined ? maskUuids(text) : ctx.tf.redact(text))));
  const context = (): Context => {
    if (ctx === undefined) throw new Error("the environment did not start (see beforeAll)");
    return ctx;
  };
  const tfVars = (c: Context) => ({ TF_VAR_nomad_token: c.token.SecretID });
  const states: Partial<Record<Side, Record<string, unknown>>> = {};
  /** Accessors of tokens the data source handed out (what a reused Nomad is checked for). */
  const minted = new Set<string>();
  /** Every secret the run handled, by what it is: none may appear in the server log. */
  const secrets = new Map<string, string>();

  beforeAll(async () => {
    try {
      if (!server.found) throw new Error(server.reason);
      if (!terraformBinary.found) throw new Error(terraformBinary.reason);
      if (!providerBinary.found) throw new Error(providerBinary.reason);
      const plugin = builtPlugin();
      const nomad = await provideNomad(stack);
      const suffix = randomBytes(3).toString("hex");
      const policies = { a: `tf-a-${suffix}`, b: `tf-b-${suffix}` };
      for (const policy of Object.values(policies)) {
        await nomad.api.upsertPolicy(policy, DISPATCH_POLICY_RULES, "terraform.test.ts");
        if (!nomad.owned) stack.defer(`remove the policy ${policy}`, async () => void (await nomad.api.deletePolicy(policy)));
      }
      const token = await nomad.api.createToken({ Name: `tf-engine-${suffix}`, Type: "management" });
      if (!nomad.owned) stack.defer("remove the engine token", async () => void (await nomad.api.deleteToken(token.AccessorID)));
      const vault = await startVaultDev(stack, server.value, { plugin });
      const tf = prepareTerraform(stack, terraformBinary.value, providerBinary.value, { addr: vault.addr, token: vault.rootToken });
      tf.addSecret(nomad.managementToken);
      tf.addSecret(token.SecretID);
      secrets.set(nomad.managementToken, "the Nomad bootstrap token");
      secrets.set(token.SecretID, "the engine's management token");
      const version = await tf.expect(stack.tempDir("tf-version"), ["version"]);
      process.stderr.write(`[terraform] ${version.stdout.split("\n")[0] ?? ""}; provider ${providerBinary.value}\n`);
      ctx = { vault, nomad, token, policies, plugin, tf, dirs: { builtin: "", plugin: "" } };
    } catch (error: unknown) {
      stack.printLogs("setup failed", maskUuids);
      throw error;
    }
  }, 240_000);

  afterAll(async () => {
    await stack.close();
  }, 180_000);

  async function applyAndReplan(c: Context, side: Side, stage: Stage): Promise<void> {
    const dir = c.dirs[side];
    await c.tf.expect(dir, ["apply", "-auto-approve", "-no-color", "-input=false"], [0], tfVars(c));
    const replan = await c.tf.run(dir, ["plan", "-detailed-exitcode", "-no-color", "-input=false"], tfVars(c));
    expect(replan.code, `${side}: a second plan after "${stage.title}" must find nothing to change:\n${replan.stdout}\n${replan.stderr}`).toBe(0);
  }

  /** Both states, normalised, must be the same; returns them for further checks. */
  async function compareStates(c: Context, what: string): Promise<Record<Side, Record<string, unknown>>> {
    for (const side of SIDES) states[side] = normaliseState(await c.tf.showJson<TerraformState>(c.dirs[side]), c, side);
    expect(states.plugin, `${what}: the plugin's state differs from the builtin's`).toEqual(states.builtin);
    return states as Record<Side, Record<string, unknown>>;
  }

  /** Which plugin each mount runs: the comparison is only worth something if it is builtin vs this plugin. */
  async function expectEngines(c: Context): Promise<void> {
    const mounts = (await c.vault.http("GET", "sys/mounts")).json<{ data: Record<string, { type: string; running_plugin_version?: string }> }>().data;
    for (const side of SIDES) {
      for (const mount of [MOUNTS[side], `${MOUNTS[side]}-seq`]) {
        const entry = mounts[`${mount}/`];
        expect(entry?.type, mount).toBe("nomad");
        if (side === "builtin") expect(entry?.running_plugin_version ?? "", mount).toMatch(/\+builtin/);
        else expect(entry?.running_plugin_version, mount).toBe(c.plugin.version);
      }
    }
  }

  /** The data source's token is a live Nomad token with the role's policy, on both sides. */
  async function expectLiveCreds(c: Context): Promise<void> {
    for (const side of SIDES) {
      const state = await c.tf.showJson<TerraformState>(c.dirs[side]);
      const creds = state.values?.root_module?.resources?.find((resource) => resource.address === "data.vault_nomad_access_token.client");
      const accessor = creds?.values.accessor_id;
      const secret = creds?.values.secret_id;
      expect(typeof accessor === "string" && typeof secret === "string", `${side}: the data source has accessor_id and secret_id`).toBe(true);
      c.tf.addSecret(secret as string);
      secrets.set(secret as string, `a secret_id the data source read on ${side}`);
      minted.add(accessor as string);
      const nomadToken = await c.nomad.api.getToken(accessor as string);
      // Compared as a boolean: the values are secrets and must not reach a diff.
      expect(nomadToken.SecretID === secret, `${side}: secret_id is the SecretID of the Nomad token accessor_id names`).toBe(true);
      expect(nomadToken.Policies, side).toEqual([c.policies.a]);
    }
  }

  const [create, update, leaseZero] = STAGES as [Stage, Stage, Stage];

  flow.step(`stage "${create.title}": apply on the builtin, register this plugin as \`${PLUGIN_NAME}\`, apply on it; re-plans are empty`, async () => {
    const c = context();
    c.dirs.builtin = c.tf.workspace(stack, "builtin", configFor(c, "builtin", create));
    await applyAndReplan(c, "builtin", create);
    await c.vault.cli.ok(["plugin", "register", `-sha256=${c.plugin.sha256}`, `-version=${c.plugin.version}`, `-command=${PLUGIN_COMMAND}`, "secret", PLUGIN_NAME]);
    c.dirs.plugin = c.tf.workspace(stack, "plugin", configFor(c, "plugin", create));
    await applyAndReplan(c, "plugin", create);
    await expectEngines(c);
  }, { timeoutMs: 900_000 });

  flow.step(`stage "${create.title}": same state on both; the data source's token works`, async () => {
    const c = context();
    const both = await compareStates(c, create.title);
    expect(both.builtin["vault_nomad_secret_backend.main"]).toMatchObject({ ttl: 1800, max_ttl: 3600, default_lease_ttl_seconds: 3600, max_lease_ttl_seconds: 7200 });
    expect(both.builtin["vault_nomad_secret_role.admin"]).toMatchObject({ type: "management", global: false, policies: [] });
    await expectLiveCreds(c);
  });

  flow.step(`stage "${update.title}": apply on both; re-plans are empty; same state`, async () => {
    const c = context();
    for (const side of SIDES) {
      rewrite(c, side, update);
      await applyAndReplan(c, side, update);
    }
    const both = await compareStates(c, update.title);
    expect(both.builtin["vault_nomad_secret_backend.seq"]).toMatchObject({ address: "foobar", ttl: 60, max_ttl: 90 });
    expect(both.builtin["vault_nomad_secret_role.ops"]).toMatchObject({ global: true, type: "client", policies: [c.policies.a, c.policies.b] });
    expect(both.builtin["vault_nomad_secret_role.admin"]).toMatchObject({ global: true, type: "management", policies: [] });
    await expectEngines(c);
  }, { timeoutMs: 900_000 });

  flow.step(`stage "${leaseZero.title}": config/lease written as {} reads back 0/0 on both; re-plans are empty`, async () => {
    const c = context();
    for (const side of SIDES) {
      rewrite(c, side, leaseZero);
      await applyAndReplan(c, side, leaseZero);
    }
    const both = await compareStates(c, leaseZero.title);
    expect(both.builtin["vault_nomad_secret_backend.main"]).toMatchObject({ ttl: 0, max_ttl: 0 });
    expect(both.builtin["vault_nomad_secret_backend.seq"]).toMatchObject({ ttl: 0, max_ttl: 0 });
    expect(both.builtin["vault_nomad_secret_role.admin"]).toMatchObject({ type: "client", global: true, policies: [c.policies.a] });
    for (const side of SIDES) {
      const lease = (await c.vault.http("GET", `${MOUNTS[side]}/config/lease`)).json<{ data: { ttl: number; max_ttl: number } }>();
      expect(lease.data, side).toEqual({ ttl: 0, max_ttl: 0 });
      // Deleting the ttl/max_ttl lines instead plans nothing: both are Computed, so the state's 0 stands.
      const { ttl: _ttl, maxTtl: _maxTtl, ...withoutLease } = leaseZero.main;
      rewrite(c, side, { ...leaseZero, main: withoutLease });
      const plan = await c.tf.run(c.dirs[side], ["plan", "-detailed-exitcode", "-no-color", "-input=false"], tfVars(c));
      expect(plan.code, `${side}: plan without the ttl/max_ttl lines:\n${plan.stdout}\n${plan.stderr}`).toBe(0);
      rewrite(c, side, leaseZero);
    }
  }, { timeoutMs: 900_000 });

  flow.step("a client role switched to management (policies removed) is refused the same way on both; -replace does it on both", async () => {
    const c = context();
    const switched: Stage = { ...leaseZero, title: "ops switched to management", ops: { type: "management", global: true } };
    const errors: Partial<Record<Side, string>> = {};
    for (const side of SIDES) {
      rewrite(c, side, switched);
      const apply = await c.tf.run(c.dirs[side], ["apply", "-auto-approve", "-no-color", "-input=false"], tfVars(c));
      // The provider sends only type and global; both engines keep the stored policies and refuse.
      expect(apply.code, `${side}: ${apply.stdout}\n${apply.stderr}`).toBe(1);
      errors[side] = /policies should be empty when using management tokens/.exec(apply.stderr)?.[0];
      await c.tf.expect(c.dirs[side], ["apply", "-auto-approve", "-no-color", "-input=false", "-replace=vault_nomad_secret_role.ops"], [0], tfVars(c));
      await applyAndReplan(c, side, switched);
    }
    expect(errors.builtin, "the builtin's error").toBe("policies should be empty when using management tokens");
    expect(errors.plugin).toBe(errors.builtin);
    const both = await compareStates(c, "after the switch by -replace");
    expect(both.builtin["vault_nomad_secret_role.ops"]).toMatchObject({ type: "management", global: true, policies: [] });
    // And back: management to client is a plain update on both.
    for (const side of SIDES) {
      rewrite(c, side, leaseZero);
      await applyAndReplan(c, side, leaseZero);
    }
    const back = await compareStates(c, "after the switch back");
    expect(back.builtin["vault_nomad_secret_role.ops"]).toMatchObject({ type: "client", policies: [c.policies.a, c.policies.b] });
  }, { timeoutMs: 900_000 });

  flow.step("import into an empty state: the same on both, only what the provider cannot read back is planned; applied, the re-plan is empty", async () => {
    const c = context();
    const planned: Partial<Record<Side, Record<string, string[]>>> = {};
    for (const side of SIDES) {
      const mount = MOUNTS[side];
      const dir = c.tf.workspace(stack, `import-${side}`, configFor(c, side, leaseZero));
      for (const [address, id] of [
        ["vault_nomad_secret_backend.main", mount],
        ["vault_nomad_secret_backend.seq", `${mount}-seq`],
        ["vault_nomad_secret_role.client", `${mount}/role/client`],
        ["vault_nomad_secret_role.ops", `${mount}/role/ops`],
        ["vault_nomad_secret_role.admin", `${mount}/role/admin`],
      ] as const) {
        await c.tf.expect(dir, ["import", "-no-color", "-input=false", address, id], [0], tfVars(c));
      }
      const plan = await c.tf.run(dir, ["plan", "-detailed-exitcode", "-no-color", "-input=false", "-out=import.tfplan"], tfVars(c));
      expect([0, 2], `${side}: plan after import:\n${plan.stdout}\n${plan.stderr}`).toContain(plan.code);
      planned[side] = plannedChanges(await c.tf.showJson<TerraformPlan>(dir, "import.tfplan"));
      for (const [address, keys] of Object.entries(planned[side])) {
        expect(address, `${side}: after import only in-place updates of the backends`).toMatch(/^vault_nomad_secret_backend\.(main|seq) \(update\)$/);
        expect(keys.filter((key) => !IMPORT_UNREADABLE.has(key)), `${side} ${address}: planned changes beyond what the provider cannot read back`).toEqual([]);
      }
      c.dirs[side] = dir;
    }
    process.stderr.write(`[terraform] planned after import (builtin): ${JSON.stringify(planned.builtin)}\n`);
    expect(planned.plugin, "the plan after import differs between the mounts").toEqual(planned.builtin);
    for (const side of SIDES) await applyAndReplan(c, side, leaseZero);
    await compareStates(c, "after import");
    await expectEngines(c);
  }, { timeoutMs: 900_000 });

  flow.step("destroy on both: every mount gone, both states empty, no Nomad token left behind", async () => {
    const c = context();
    const keep = new Set([c.token.AccessorID, (await c.nomad.api.self()).AccessorID]);
    const issued = (await c.nomad.api.tokens()).filter((token) => !keep.has(token.AccessorID) && (c.nomad.owned || minted.has(token.AccessorID)));
    expect(issued.length, "tokens the data source minted, before destroy").toBeGreaterThan(0);
    for (const side of SIDES) await c.tf.expect(c.dirs[side], ["destroy", "-auto-approve", "-no-color", "-input=false"], [0], tfVars(c));
    const mounts = (await c.vault.http("GET", "sys/mounts")).json<{ data: Record<string, unknown> }>().data;
    expect(Object.keys(mounts).filter((mount) => mount.startsWith("nomad-"))).toEqual([]);
    await compareStates(c, "after destroy");
    expect(states.builtin).toEqual({});
    // Every plan and apply read the data source, minting a token each time; unmounting
    // revokes their leases, so only the bootstrap and engine tokens may remain (on a
    // reused Nomad: none of the tokens this run saw).
    await waitFor(
      "every Nomad token the two engines minted to be revoked",
      async () => {
        const left = (await c.nomad.api.tokens()).filter((token) => !keep.has(token.AccessorID) && (c.nomad.owned || minted.has(token.AccessorID)));
        if (left.length > 0) throw new Error(`${left.length} left: ${left.map((token) => token.Name).join(", ")}`);
        return true;
      },
      { timeoutMs: 120_000, intervalMs: 1_000 },
    );
  }, { timeoutMs: 900_000 });

  flow.step("no secret the run handled appears in the server log", async () => {
    const c = context();
    // A dev server prints its root token once in its start-up banner, by design; nowhere else.
    const log = readFileSync(c.vault.process.logFile, "utf8").replace(/^\s*Root Token: \S+$/m, "");
    expect(secrets.size, "secrets collected").toBeGreaterThanOrEqual(4);
    for (const [secret, label] of [...secrets, [c.vault.rootToken, "Vault's root token"] as const]) {
      expect(log.includes(secret), `${label} appears in the server log`).toBe(false);
    }
  }, { independent: true });

  /** The next stage in the same working directory (same state): only main.tf changes. */
  function rewrite(c: Context, side: Side, stage: Stage): void {
    writeFileSync(path.join(c.dirs[side], "main.tf"), configFor(c, side, stage), { mode: 0o600 });
  }
});
