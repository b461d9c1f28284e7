// Response-by-response parity with Vault's builtin Nomad engine: the builtin at
// nomad-builtin/ and this plugin (registered as nomad-ts) at nomad-plugin/ on one
// Vault dev server, both against the same Nomad. Every request of the table is sent
// to both mounts in the same order; the answers are reduced to what a client can
// rely on (status, keys, JSON types, the values that must agree, warnings, lease
// fields, error text) after normalising what must differ (ids, secrets, mounts).
//
// Every difference must be listed in docs/api.md between the `parity:begin` and
// `parity:end` markers, and every listed one must still occur: the list there is
// the one source of truth, held both ways by the last step.
//
// Runs only with VAULT_ACC=1 and a Vault server (VAULT_BIN); OpenBao has no builtin.
import { readFileSync } from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { discoverServer } from "./support/binaries.ts";
import { createFlow } from "./support/flow.ts";
import { accGate, announceSkip } from "./support/gate.ts";
import { DISPATCH_POLICY_RULES, provideNomad, type NomadEnv, type NomadToken } from "./support/nomad.ts";
import { builtPlugin, PLUGIN_COMMAND, REPO_ROOT } from "./support/plugin.ts";
import { Stack } from "./support/stack.ts";
import { startVaultDev, type VaultServer } from "./support/vault.ts";

const PLUGIN_CATALOG_NAME = "nomad-ts";
/** The server's -log-level: trace by default; PARITY_LOG_LEVEL=info checks the quiet end. */
const LOG_LEVEL = process.env.PARITY_LOG_LEVEL === "info" ? "info" : "trace";
const MOUNTS = { builtin: "nomad-builtin", plugin: "nomad-plugin" } as const;
type Side = keyof typeof MOUNTS;

const server = discoverServer();
const baseGate = accGate();
const gate =
  baseGate.enabled && !(server.found && server.value.kind === "vault")
    ? { enabled: false, reason: "the parity suite needs Vault (VAULT_BIN): OpenBao has no builtin nomad engine" }
    : baseGate;
announceSkip("builtin-parity.test.ts", gate);

/** What one side answered, as the suite compares it. */
interface Answer {
  status: number;
  body: unknown;
  /** CLI forms: stderr (error text). */
  stderr?: string;
}

interface Context {
  vault: VaultServer;
  nomad: NomadEnv;
  token: NomadToken;
  policy: string;
  /** Per side: lease ids of creds in the order issued. */
  leases: Record<Side, string[]>;
}

interface Case {
  id: string;
  /** HTTP: method and path relative to the mount ({mount} is the mount name, for sys/ paths). */
  method?: "GET" | "PUT" | "POST" | "DELETE" | "LIST";
  path?: string;
  body?: (ctx: Context, side: Side) => unknown;
  /** CLI form instead of HTTP: args with {mount} replaced. */
  cli?: string[];
}

const PEM_JUNK = "-----BEGIN CERTIFICATE-----\nnot-base64\n-----END CERTIFICATE-----";
const FAKE_KEY = "-----BEGIN PRIVATE KEY-----\ntest-key-content\n-----END PRIVATE KEY-----";

const access = (ctx: Context, extra: Record<string, unknown> = {}) => ({
  address: ctx.nomad.addr,
  token: ctx.token.SecretID,
  ...extra,
});

const lastLease = (ctx: Context, side: Side) => ({ lease_id: ctx.leases[side].at(-1) ?? "" });

/** The request table, run in this order on both mounts. */
const CASES: Case[] = [
  { id: "access read (unset)", method: "GET", path: "config/access" },
  { id: "lease read (unset)", method: "GET", path: "config/lease" },
  { id: "creds before config", method: "GET", path: "creds/none" },
  { id: "access write", method: "POST", path: "config/access", body: (ctx) => access(ctx) },
  { id: "access read", method: "GET", path: "config/access" },
  { id: "access wrong type", method: "POST", path: "config/access", body: (ctx) => access(ctx, { max_token_name_length: "many" }) },
  { id: "access unknown field", method: "POST", path: "config/access", body: (ctx) => access(ctx, { colour: "blue" }) },
  { id: "access out of range", method: "POST", path: "config/access", body: (ctx) => access(ctx, { max_token_name_length: 5 }) },
  { id: "access negative length", method: "POST", path: "config/access", body: (ctx) => access(ctx, { max_token_name_length: -1 }) },
  { id: "access bad ca_cert", method: "POST", path: "config/access", body: (ctx) => access(ctx, { ca_cert: "garbage" }) },
  { id: "access junk cert PEM", method: "POST", path: "config/access", body: (ctx) => access(ctx, { client_cert: PEM_JUNK }) },
  { id: "access fake client_key", method: "POST", path: "config/access", body: (ctx) => access(ctx, { client_key: FAKE_KEY }) },
  { id: "access read after PEMs", method: "GET", path: "config/access" },
  { id: "access reset", method: "POST", path: "config/access", body: (ctx) => access(ctx, { ca_cert: "", client_cert: "", client_key: "" }) },
  { id: "access address foobar", method: "POST", path: "config/access", body: (ctx) => access(ctx, { address: "foobar" }) },
  { id: "access read foobar", method: "GET", path: "config/access" },
  { id: "role for foobar", method: "POST", path: "role/m", body: () => ({ type: "management" }) },
  { id: "creds with address foobar", method: "GET", path: "creds/m" },
  { id: "access ftp address", method: "POST", path: "config/access", body: (ctx) => access(ctx, { address: "ftp://127.0.0.1:4646" }) },
  { id: "access restore", method: "POST", path: "config/access", body: (ctx) => access(ctx) },
  { id: "access partial update", method: "POST", path: "config/access", body: () => ({ max_token_name_length: 64 }) },
  { id: "access read after partial", method: "GET", path: "config/access" },
  { id: "lease write", method: "POST", path: "config/lease", body: () => ({ ttl: "10m", max_ttl: 3600 }) },
  { id: "lease read", method: "GET", path: "config/lease" },
  { id: "lease wrong type", method: "POST", path: "config/lease", body: () => ({ ttl: "soon" }) },
  { id: "lease negative", method: "POST", path: "config/lease", body: () => ({ ttl: -5 }) },
  { id: "lease ttl above max", method: "POST", path: "config/lease", body: () => ({ ttl: 7200, max_ttl: 60 }) },
  { id: "lease empty write", method: "POST", path: "config/lease", body: () => ({}) },
  { id: "lease read after empty", method: "GET", path: "config/lease" },
  { id: "lease rewrite", method: "POST", path: "config/lease", body: () => ({ ttl: 600, max_ttl: 3600 }) },
  { id: "role client", method: "POST", path: "role/dispatch", body: (ctx) => ({ policies: [ctx.policy], global: false }) },
  { id: "role read client", method: "GET", path: "role/dispatch" },
  { id: "role comma policies", method: "POST", path: "role/two", body: (ctx) => ({ policies: `${ctx.policy},other` }) },
  { id: "role read comma", method: "GET", path: "role/two" },
  { id: "role duplicate policies", method: "POST", path: "role/dup", body: (ctx) => ({ policies: [ctx.policy, ctx.policy] }) },
  { id: "role read duplicate", method: "GET", path: "role/dup" },
  { id: "role empty policies", method: "POST", path: "role/empty", body: () => ({ policies: [] }) },
  { id: "role missing policies", method: "POST", path: "role/nopol", body: () => ({ type: "client" }) },
  { id: "role management", method: "POST", path: "role/admin", body: () => ({ type: "management", global: true }) },
  { id: "role read management", method: "GET", path: "role/admin" },
  { id: "role management with policies", method: "POST", path: "role/badmgmt", body: (ctx) => ({ type: "management", policies: [ctx.policy] }) },
  { id: "role unknown type", method: "POST", path: "role/badtype", body: (ctx) => ({ type: "superuser", policies: [ctx.policy] }) },
  { id: "role wrong type global", method: "POST", path: "role/badglobal", body: (ctx) => ({ policies: [ctx.policy], global: "maybe" }) },
  { id: "role unknown field", method: "POST", path: "role/extra", body: (ctx) => ({ policies: [ctx.policy], colour: "blue" }) },
  { id: "role partial update", method: "POST", path: "role/admin", body: () => ({ global: false }) },
  { id: "role read after partial", method: "GET", path: "role/admin" },
  { id: "role read missing", method: "GET", path: "role/missing" },
  { id: "role list", method: "LIST", path: "role" },
  { id: "role list trailing slash", method: "LIST", path: "role/" },
  { id: "creds unknown role", method: "GET", path: "creds/missing" },
  { id: "creds client", method: "GET", path: "creds/dispatch" },
  { id: "renew", method: "PUT", path: "sys/leases/renew", body: (ctx, side) => lastLease(ctx, side) },
  { id: "renew increment", method: "PUT", path: "sys/leases/renew", body: (ctx, side) => ({ ...lastLease(ctx, side), increment: 60 }) },
  { id: "revoke", method: "PUT", path: "sys/leases/revoke", body: (ctx, side) => lastLease(ctx, side) },
  { id: "creds management", method: "GET", path: "creds/admin" },
  { id: "creds write method", method: "POST", path: "creds/admin", body: () => ({}) },
  { id: "role delete", method: "DELETE", path: "role/two" },
  { id: "role delete missing", method: "DELETE", path: "role/never" },
  { id: "path-help role", method: "GET", path: "role/x?help=1" },
  { id: "path-help creds", method: "GET", path: "creds/x?help=1" },
  { id: "path-help config/access", method: "GET", path: "config/access?help=1" },
  { id: "path-help root", method: "GET", path: "?help=1" },
  { id: "unknown path", method: "GET", path: "nothing/here" },
  // The CLI forms, -format=json.
  { id: "cli read lease", cli: ["read", "-format=json", "{mount}/config/lease"] },
  { id: "cli write role", cli: ["write", "-format=json", "{mount}/role/cli", "policies={policy}", "global=true"] },
  { id: "cli read role", cli: ["read", "-format=json", "{mount}/role/cli"] },
  { id: "cli list roles", cli: ["list", "-format=json", "{mount}/role"] },
  { id: "cli write bad role", cli: ["write", "-format=json", "{mount}/role/cli", "type=client", "policies="] },
  { id: "cli read creds", cli: ["read", "-format=json", "{mount}/creds/cli"] },
  { id: "cli read missing role", cli: ["read", "-format=json", "{mount}/role/absent"] },
  // Terraform's vault_nomad_secret_backend (create, read, update twice, import, delete),
  // on a mount of its own, with the exact calls and payload types the provider sends.
  { id: "tf backend mount", method: "POST", path: "sys/mounts/{mount}-tf", body: (_ctx, side) => ({ type: side === "builtin" ? "nomad" : PLUGIN_CATALOG_NAME, description: "test description", config: { default_lease_ttl: "3600s", max_lease_ttl: "7200s" } }) },
  { id: "tf backend access", method: "PUT", path: "{mount}-tf/config/access", body: (ctx) => ({ address: ctx.nomad.addr, token: ctx.token.SecretID }) },
  { id: "tf backend lease", method: "PUT", path: "{mount}-tf/config/lease", body: () => ({ max_ttl: 60, ttl: 30 }) },
  { id: "tf backend read mount", method: "GET", path: "sys/mounts/{mount}-tf" },
  { id: "tf backend read access", method: "GET", path: "{mount}-tf/config/access" },
  { id: "tf backend read lease", method: "GET", path: "{mount}-tf/config/lease" },
  { id: "tf backend tune", method: "POST", path: "sys/mounts/{mount}-tf/tune", body: () => ({ default_lease_ttl: "7200s", max_lease_ttl: "14400s", description: "test description" }) },
  { id: "tf backend update access foobar", method: "PUT", path: "{mount}-tf/config/access", body: (ctx) => ({ address: "foobar", token: ctx.token.SecretID }) },
  { id: "tf backend update lease", method: "PUT", path: "{mount}-tf/config/lease", body: () => ({ max_ttl: 90, ttl: 60 }) },
  { id: "tf backend read access foobar", method: "GET", path: "{mount}-tf/config/access" },
  { id: "tf backend read lease 90/60", method: "GET", path: "{mount}-tf/config/lease" },
  { id: "tf backend lease removed", method: "PUT", path: "{mount}-tf/config/lease", body: () => ({}) },
  { id: "tf backend read lease 0/0", method: "GET", path: "{mount}-tf/config/lease" },
  { id: "tf backend write-only client_key", method: "PUT", path: "{mount}-tf/config/access", body: (ctx) => ({ address: ctx.nomad.addr, token: ctx.token.SecretID, client_key: FAKE_KEY }) },
  { id: "tf backend import read access", method: "GET", path: "{mount}-tf/config/access" },
  // vault_nomad_secret_role: client (policies list, global bool), management, import, delete.
  { id: "tf role create client", method: "PUT", path: "{mount}-tf/role/bob", body: () => ({ type: "client", global: true, policies: ["readonly"] }) },
  { id: "tf role read client", method: "GET", path: "{mount}-tf/role/bob" },
  { id: "tf role update client", method: "PUT", path: "{mount}-tf/role/bob", body: () => ({ type: "client", global: true, policies: ["readonly", "other"] }) },
  { id: "tf role create management", method: "PUT", path: "{mount}-tf/role/mgmt", body: () => ({ type: "management", global: false }) },
  { id: "tf role read management", method: "GET", path: "{mount}-tf/role/mgmt" },
  { id: "tf role delete", method: "DELETE", path: "{mount}-tf/role/bob" },
  { id: "tf role read deleted", method: "GET", path: "{mount}-tf/role/bob" },
  // vault_nomad_access_token (data source): creds/<role> read.
  { id: "tf access token", method: "GET", path: "{mount}-tf/creds/mgmt" },
  { id: "tf backend unmount", method: "DELETE", path: "sys/mounts/{mount}-tf" },
];

/** Fields whose values must agree (after normalising); all others: keys and JSON types only. */
const COMPARED_VALUES = new Set([
  "ttl",
  "max_ttl",
  "policies",
  "type",
  "global",
  "address",
  "max_token_name_length",
  "ca_cert",
  "client_cert",
  "keys",
  "description",
  "default_lease_ttl",
  "max_lease_ttl",
]);
/** Compared by length only: freshly minted. */
const COMPARED_LENGTHS = new Set(["secret_id", "accessor_id"]);

function jsonType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

function normaliseText(text: string, ctx: Context): string {
  return text
    .replaceAll(ctx.nomad.addr, "<nomad>")
    .replace(/nomad-(builtin|plugin)/g, "<mount>")
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, "<uuid>")
    .replace(/\bv\d+\.\d+\.\d+(\+builtin(\.vault)?)?/g, "<version>")
    .trim();
}

/** The aspects of one answer, each a short JSON string. */
function aspects(answer: Answer, ctx: Context): Map<string, string> {
  const out = new Map<string, string>();
  const put = (aspect: string, value: unknown) => out.set(aspect, normaliseText(JSON.stringify(value) ?? "undefined", ctx));
  put("status", answer.status);
  const body = answer.body;
  if (answer.stderr !== undefined) {
    const errors = answer.stderr.split("\n").filter((line) => line.startsWith("* ")).map((line) => line.slice(2));
    if (errors.length > 0) put("errors", errors);
  }
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    if (body !== undefined) put("body", Array.isArray(body) ? [...(body as unknown[])].sort() : jsonType(body));
    return out;
  }
  const record = body as Record<string, unknown>;
  // The response envelope is Vault's, the same for every engine: compare only what
  // an engine puts in it. A 200 with only warnings is compared by its warnings.
  const extraKeys = Object.keys(record).filter((key) => !ENVELOPE_KEYS.has(key));
  if (extraKeys.length > 0) put("keys", extraKeys.sort());
  if ("errors" in record) put("errors", record.errors);
  if (Array.isArray(record.warnings) && record.warnings.length > 0) put("warnings", record.warnings);
  if (typeof record.lease_id === "string" && record.lease_id !== "") {
    for (const key of ["lease_duration", "renewable"]) put(key, record[key]);
  }
  const data = record.data;
  if (data !== null && typeof data === "object" && !Array.isArray(data)) {
    const fields = data as Record<string, unknown>;
    put("data keys", Object.keys(fields).sort());
    for (const [key, value] of Object.entries(fields)) {
      // Keyed by field, so a field only one side has shows once, in "data keys".
      out.set(`data.${key}`, normaliseText(JSON.stringify(valueAspect(key, value)), ctx));
    }
    if (typeof fields.help === "string") put("help mentions fields", helpFields(fields.help));
  } else if (data !== undefined && data !== null) {
    put("data type", jsonType(data));
  }
  return out;
}

const ENVELOPE_KEYS = new Set(["request_id", "lease_id", "lease_duration", "renewable", "data", "wrap_info", "warnings", "auth", "mount_type"]);

/** A data field as compared: its JSON type, plus its value or length where those must agree. */
function valueAspect(key: string, value: unknown): unknown {
  if (COMPARED_VALUES.has(key)) return { type: jsonType(value), value: Array.isArray(value) && key === "keys" ? [...value].sort() : value };
  if (COMPARED_LENGTHS.has(key) && typeof value === "string") return { type: jsonType(value), length: value.length };
  return { type: jsonType(value) };
}

/** Which known field names a path-help text mentions. */
function helpFields(help: string): string[] {
  return ["address", "token", "max_token_name_length", "ca_cert", "client_cert", "client_key", "policies", "global", "type", "ttl", "max_ttl", "name"].filter((field) =>
    new RegExp(`\\b${field}\\b`).test(help),
  );
}

/** The parts of an OpenAPI document the suite reads. */
interface OpenApiSchema {
  $ref?: string;
  type?: string;
  format?: string;
  items?: OpenApiSchema;
  properties?: Record<string, OpenApiSchema>;
}
interface OpenApiOperation {
  operationId?: string;
  requestBody?: { content?: Record<string, { schema?: OpenApiSchema }> };
}
interface OpenApiDocument {
  paths: Record<string, Record<string, OpenApiOperation>>;
  components?: { schemas?: Record<string, OpenApiSchema> };
}

function operationsOf(item: Record<string, OpenApiOperation>): string[] {
  return Object.keys(item).filter((key) => ["get", "post", "delete", "list", "patch"].includes(key)).sort();
}

/** Follows a `#/components/schemas/...` reference within the same document. */
function resolveSchema(schema: OpenApiSchema, document: OpenApiDocument): OpenApiSchema {
  if (schema.$ref === undefined) return schema;
  const name = schema.$ref.replace(/^#\/components\/schemas\//, "");
  const target = document.components?.schemas?.[name];
  if (target === undefined) throw new Error(`OpenAPI $ref ${schema.$ref} names no component of its document`);
  return target;
}

/** A field's wire type as a client generator sees it: `string(duration)`, `array<string>`, ... */
function schemaType(schema: OpenApiSchema): string {
  const base = schema.type ?? "(untyped)";
  if (base === "array") return `array<${schema.items === undefined ? "(untyped)" : schemaType(schema.items)}>`;
  return schema.format === undefined ? base : `${base}(${schema.format})`;
}

export interface Difference {
  case: string;
  aspect: string;
  builtin: string;
  plugin: string;
}

function compare(id: string, builtin: Answer, plugin: Answer, ctx: Context): Difference[] {
  const left = aspects(builtin, ctx);
  const right = aspects(plugin, ctx);
  const differences: Difference[] = [];
  for (const aspect of new Set([...left.keys(), ...right.keys()])) {
    const b = left.get(aspect) ?? "(absent)";
    const p = right.get(aspect) ?? "(absent)";
    // A field only one side has is reported once, by "data keys".
    if (aspect.startsWith("data.") && (!left.has(aspect) || !right.has(aspect))) continue;
    if (b !== p) differences.push({ case: id, aspect, builtin: b, plugin: p });
  }
  return differences;
}

/** The listed differences: rows of the table between the parity markers in docs/api.md. */
export function listedDifferences(markdown: string): Difference[] {
  const begin = markdown.indexOf("<!-- parity:begin -->");
  const end = markdown.indexOf("<!-- parity:end -->");
  if (begin < 0 || end < begin) throw new Error("docs/api.md has no <!-- parity:begin --> ... <!-- parity:end --> table");
  const cell = (text: string) => text.trim().replace(/^`(.*)`$/s, "$1").replaceAll("\\|", "|");
  return markdown
    .slice(begin, end)
    .split("\n")
    .filter((line) => line.startsWith("| `"))
    .map((line) => {
      const cells = line.slice(1, -1).split(/(?<!\\)\|/);
      if (cells.length < 5) throw new Error(`docs/api.md parity row needs 5 cells: ${line}`);
      // One row may name several requests that differ the same way: `a`, `b`.
      const cases = [...(cells[0] ?? "").matchAll(/`([^`]+)`/g)].map((match) => match[1] ?? "");
      const rest = { aspect: cell(cells[1] ?? ""), builtin: cell(cells[2] ?? ""), plugin: cell(cells[3] ?? "") };
      return cases.map((name) => ({ case: name, ...rest }));
    })
    .flat();
}

function asRow(difference: Difference): string {
  const code = (text: string) => `\`${text.replaceAll("|", "\\|")}\``;
  return `| ${code(difference.case)} | ${code(difference.aspect)} | ${code(difference.builtin)} | ${code(difference.plugin)} | ... |`;
}

describe.skipIf(!gate.enabled)("parity with Vault's builtin nomad engine (same server, same Nomad)", () => {
  const stack = new Stack();
  const flow = createFlow((title) => stack.printLogs(`step "${title}" failed`));
  const observed: Difference[] = [];
  /** Every secret the run saw: none may appear in the server log. */
  const secrets = new Map<string, string>();
  let ctx: Context | undefined;
  const context = (): Context => {
    if (ctx === undefined) throw new Error("the environment did not start (see beforeAll)");
    return ctx;
  };

  beforeAll(async () => {
    try {
      if (!server.found) throw new Error(server.reason);
      const plugin = builtPlugin();
      const nomad = await provideNomad(stack);
      secrets.set(nomad.managementToken, "the Nomad bootstrap token");
      const suffix = randomBytes(3).toString("hex");
      const policy = `parity-dispatch-${suffix}`;
      await nomad.api.upsertPolicy(policy, DISPATCH_POLICY_RULES, "parity: dispatch only");
      if (!nomad.owned) stack.defer("remove the parity policy", async () => void (await nomad.api.deletePolicy(policy)));
      const token = await nomad.api.createToken({ Name: `parity-engine-${suffix}`, Type: "management" });
      secrets.set(token.SecretID, "the engine's management token");
      if (!nomad.owned) stack.defer("remove the parity engine token", async () => void (await nomad.api.deleteToken(token.AccessorID)));
      const vault = await startVaultDev(stack, server.value, { plugin, logLevel: LOG_LEVEL });
      secrets.set(vault.rootToken, "Vault's root token");
      // The plugin's own level comes from its catalog env: trace under a trace server; debug
      // under an info server, whose host-side filter must then drop those lines, not promote them.
      const pluginLevel = LOG_LEVEL === "trace" ? "trace" : "debug";
      await vault.cli.ok([
        "plugin",
        "register",
        `-sha256=${plugin.sha256}`,
        `-version=${plugin.version}`,
        `-command=${PLUGIN_COMMAND}`,
        `-env=NOMAD_PLUGIN_LOG_LEVEL=${pluginLevel}`,
        "secret",
        PLUGIN_CATALOG_NAME,
      ]);
      await vault.cli.ok(["secrets", "enable", `-path=${MOUNTS.builtin}`, "nomad"]);
      await vault.cli.ok(["secrets", "enable", `-path=${MOUNTS.plugin}`, PLUGIN_CATALOG_NAME]);
      ctx = { vault, nomad, token, policy, leases: { builtin: [], plugin: [] } };
    } catch (error: unknown) {
      stack.printLogs("setup failed");
      throw error;
    }
  }, 240_000);

  afterAll(async () => {
    await stack.close();
  }, 120_000);

  async function send(testCase: Case, side: Side): Promise<Answer> {
    const c = context();
    const mount = MOUNTS[side];
    if (testCase.cli !== undefined) {
      const args = testCase.cli.map((arg) => arg.replaceAll("{mount}", mount).replaceAll("{policy}", c.policy));
      const result = await c.vault.cli.run(args);
      let body: unknown;
      try {
        body = result.stdout.trim() === "" ? undefined : JSON.parse(result.stdout);
      } catch {
        body = result.stdout.trim();
      }
      return { status: result.code, body, stderr: result.stderr };
    }
    const raw = (testCase.path ?? "").replaceAll("{mount}", mount);
    const apiPath = raw.startsWith("sys/") || raw.startsWith(`${mount}-tf`) ? raw : `${mount}/${raw}`;
    const body = testCase.body?.(c, side);
    const result = await c.vault.http(testCase.method ?? "GET", apiPath, body);
    const parsed: unknown = result.text === "" ? undefined : result.json<unknown>();
    return { status: result.status, body: parsed };
  }

  function remember(side: Side, answer: Answer): void {
    const body = answer.body as { lease_id?: string; data?: { secret_id?: string } } | undefined;
    if (typeof body?.data?.secret_id === "string") secrets.set(body.data.secret_id, `a secret_id minted on ${side}`);
    if (typeof body?.lease_id === "string" && body.lease_id !== "" && body.data?.secret_id !== undefined) context().leases[side].push(body.lease_id);
  }

  flow.step(`the table (${CASES.length} requests) against both mounts`, async () => {
    const c = context();
    for (const testCase of CASES) {
      const builtin = await send(testCase, "builtin");
      remember("builtin", builtin);
      const plugin = await send(testCase, "plugin");
      remember("plugin", plugin);
      observed.push(...compare(testCase.id, builtin, plugin, c));
    }
  }, { timeoutMs: 600_000 });

  flow.step("OpenAPI: same paths, operations, operation ids and request body fields", async () => {
    const c = context();
    const result = await c.vault.http("GET", "sys/internal/specs/openapi");
    expect(result.status).toBe(200);
    const spec = result.json<OpenApiDocument>();
    const describePaths = (mount: string) => {
      const entries = new Map<string, string>();
      for (const [route, item] of Object.entries(spec.paths)) {
        if (!route.startsWith(`/${mount}/`)) continue;
        const name = route.slice(mount.length + 1);
        const methods = operationsOf(item);
        entries.set(`${name} methods`, methods.join(","));
        for (const method of methods) {
          entries.set(`${name} ${method}`, item[method]?.operationId ?? "(no operationId)");
          // What a client generated from the merged document sees as the request body.
          const body = item[method]?.requestBody?.content?.["application/json"]?.schema;
          if (body !== undefined) entries.set(`${name} ${method} request schema (merged)`, JSON.stringify(body));
        }
      }
      return entries;
    };
    // The merged document cannot say which fields each mount takes: request schemas
    // are components named after the operation id, which both mounts share (the
    // mount enabled last wins). Each mount's own document (`<mount>?help=1`) has
    // its own components, so the fields are compared from there.
    const describeRequestFields = async (mount: string) => {
      const own = await c.vault.http("GET", `${mount}?help=1`);
      expect(own.status, `${mount}?help=1`).toBe(200);
      const document = own.json<{ openapi: OpenApiDocument }>().openapi;
      const entries = new Map<string, string>();
      for (const [route, item] of Object.entries(document.paths)) {
        for (const method of operationsOf(item)) {
          const body = item[method]?.requestBody?.content?.["application/json"]?.schema;
          if (body === undefined) continue;
          const schema = resolveSchema(body, document);
          const fields = Object.entries(schema.properties ?? {});
          entries.set(`${route} ${method} request fields`, fields.map(([field]) => field).sort().join(","));
          for (const [field, fieldSchema] of fields) entries.set(`${route} ${method} request.${field}`, schemaType(resolveSchema(fieldSchema, document)));
        }
      }
      return entries;
    };
    const builtin = new Map([...describePaths(MOUNTS.builtin), ...(await describeRequestFields(MOUNTS.builtin))]);
    const plugin = new Map([...describePaths(MOUNTS.plugin), ...(await describeRequestFields(MOUNTS.plugin))]);
    expect(builtin.size, "the builtin has OpenAPI paths").toBeGreaterThan(0);
    expect([...builtin.keys()].filter((aspect) => aspect.includes(" request.")).length, "the builtin documents request fields").toBeGreaterThan(0);
    for (const aspect of new Set([...builtin.keys(), ...plugin.keys()])) {
      const b = builtin.get(aspect) ?? "(absent)";
      const p = plugin.get(aspect) ?? "(absent)";
      // A field only one side has is reported once, by "request fields".
      if (aspect.includes(" request.") && (!builtin.has(aspect) || !plugin.has(aspect))) continue;
      if (b !== p) observed.push({ case: "openapi", aspect, builtin: b, plugin: p });
    }
  });

  flow.step("every difference is listed in docs/api.md, and every listed one still occurs", async () => {
    const listed = listedDifferences(readFileSync(path.join(REPO_ROOT, "docs", "api.md"), "utf8"));
    const key = (d: Difference) => `${d.case} :: ${d.aspect} :: ${d.builtin} :: ${d.plugin}`;
    const listedKeys = new Set(listed.map(key));
    const observedKeys = new Set(observed.map(key));
    const unlisted = observed.filter((d) => !listedKeys.has(key(d)));
    const gone = listed.filter((d) => !observedKeys.has(key(d)));
    if (unlisted.length > 0) process.stderr.write(`[parity] unlisted differences (rows for docs/api.md):\n${unlisted.map(asRow).join("\n")}\n`);
    // Both lists in one assertion, so a run reports both kinds at once.
    expect({ unlistedInDocs: unlisted.map(key), listedButNotObserved: gone.map(key) }).toEqual({ unlistedInDocs: [], listedButNotObserved: [] });
  }, { independent: true });

  flow.step(`the server log (-log-level=${LOG_LEVEL}): plugin lines under the plugin's name at their own levels, never doubled; no secret anywhere`, async () => {
    const c = context();
    const log = readFileSync(c.vault.process.logFile, "utf8");
    // A dev server prints its root token once in its start-up banner, by design; nowhere else.
    const banner = /^\s*Root Token: \S+$/m;
    expect(log).toMatch(banner);
    const rest = log.replace(banner, "");
    for (const [secret, label] of secrets) {
      expect(secret.length).toBeGreaterThan(8);
      expect(rest.includes(secret), `${label} appears in the server log`).toBe(false);
    }
    // Vault names a plugin's logger secrets.<catalog name>.<mount accessor>.<catalog name>;
    // the plugin's own lines carry its hclog name after that, Vault's lines about it do not.
    const pluginLines = log.split("\n").filter((line) => new RegExp(`secrets\\.${PLUGIN_CATALOG_NAME}\\.[^ ]*\\.vault-plugin-secrets-nomad: `).test(line));
    if (LOG_LEVEL === "trace") expect(pluginLines.length, "the plugin's lines reach Vault's log under its name").toBeGreaterThan(0);
    for (const line of pluginLines) {
      // One level per line, the host's: a line printed as text or JSON inside another is doubled.
      expect(line.match(/\[(TRACE|DEBUG|INFO|WARN|ERROR)\]/g)?.length ?? 0, line).toBe(1);
      expect(line, line).not.toMatch(/"@level"|"@message"/);
    }
    const levels = new Set(pluginLines.map((line) => /\[(TRACE|DEBUG|INFO|WARN|ERROR)\]/.exec(line)?.[1]));
    if (LOG_LEVEL === "trace") {
      expect(levels.has("DEBUG") || levels.has("TRACE"), [...levels].join(",")).toBe(true);
    } else {
      // At info the plugin's debug lines (one per request) are filtered, not shown as info.
      expect([...levels].filter((level) => level === "DEBUG" || level === "TRACE")).toEqual([]);
    }
  }, { independent: true });
});

it.skipIf(gate.enabled)("docs/api.md parity table parses (no server needed)", () => {
  const listed = listedDifferences(readFileSync(path.join(REPO_ROOT, "docs", "api.md"), "utf8"));
  expect(listed.length).toBeGreaterThan(0);
  for (const row of listed) expect(row.builtin).not.toBe(row.plugin);
});
