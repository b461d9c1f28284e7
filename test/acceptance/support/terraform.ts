// OpenTofu or Terraform run as an operator runs it: one working directory per
// state, the hashicorp/vault provider taken from a local build through the CLI
// configuration's `dev_overrides` (so no registry is ever asked, and `init` is
// not needed), and nothing printed that has not been through redact(): the
// state and the provider's answers hold Nomad SecretIDs and Vault tokens.
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { TerraformBinary } from "./binaries.ts";
import { runToExit } from "./process.ts";
import type { Stack } from "./stack.ts";
import { cleanEnv } from "./vault.ts";

export interface TerraformRun {
  code: number;
  /** Redacted. */
  stdout: string;
  /** Redacted. */
  stderr: string;
  command: string;
}

/** What `show -json` prints for a state (only the parts the tests read). */
export interface TerraformState {
  values?: { root_module?: { resources?: TerraformResource[] } };
}

export interface TerraformResource {
  address: string;
  mode: "managed" | "data";
  type: string;
  name: string;
  values: Record<string, unknown>;
}

/** What `show -json <planfile>` prints (only the parts the tests read). */
export interface TerraformPlan {
  resource_changes?: {
    address: string;
    mode: "managed" | "data";
    change: { actions: string[]; before: Record<string, unknown> | null; after: Record<string, unknown> | null };
  }[];
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

/** Every Nomad SecretID and accessor, and the suite's Vault root token, is a UUID. */
export function maskUuids(text: string): string {
  return text.replace(UUID, "<uuid>");
}

export class TerraformCli {
  /** Strings never to print (tokens, secret ids); UUIDs are masked as well, as every Nomad secret is one. */
  private readonly secrets = new Set<string>();

  constructor(
    readonly binary: TerraformBinary,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  addSecret(secret: string): void {
    if (secret.length >= 8) this.secrets.add(secret);
  }

  redact(text: string): string {
    let out = text;
    for (const secret of this.secrets) out = out.replaceAll(secret, "<redacted>");
    return maskUuids(out);
  }

  /** Runs in `dir` with `-no-color` style output; never throws on a non-zero exit. */
  async run(dir: string, args: string[], extraEnv: Record<string, string> = {}, timeoutMs = 300_000): Promise<TerraformRun> {
    const command = `${this.binary.name} ${args.join(" ")} (in ${path.basename(dir)})`;
    const outcome = await runToExit(this.binary.bin, args, { cwd: dir, env: { ...this.env, ...extraEnv }, timeoutMs, label: command });
    return { code: outcome.code, stdout: this.redact(outcome.stdout), stderr: this.redact(outcome.stderr), command };
  }

  /** Runs and insists on one of `codes` (default 0); the error carries the redacted output. */
  async expect(dir: string, args: string[], codes: number[] = [0], extraEnv: Record<string, string> = {}): Promise<TerraformRun> {
    const result = await this.run(dir, args, extraEnv);
    if (!codes.includes(result.code)) {
      throw new Error(`\`${result.command}\` exited ${result.code} (wanted ${codes.join(" or ")}):\n${result.stderr.trim()}\n${result.stdout.trim().slice(-6000)}`);
    }
    return result;
  }

  /**
   * `show -json [planfile]`, parsed. The raw text holds secrets in clear, so it is
   * never returned or printed; a parse failure says only that it failed.
   */
  async showJson<T>(dir: string, planFile?: string): Promise<T> {
    const args = ["show", "-json", "-no-color", ...(planFile === undefined ? [] : [planFile])];
    const label = `${this.binary.name} ${args.join(" ")}`;
    const outcome = await runToExit(this.binary.bin, args, { cwd: dir, env: this.env, timeoutMs: 300_000, label });
    const raw = { code: outcome.code, text: outcome.stdout, stderr: outcome.stderr };
    if (raw.code !== 0) throw new Error(`${this.binary.name} ${args.join(" ")} exited ${raw.code}: ${this.redact(raw.stderr).trim()}`);
    try {
      return JSON.parse(raw.text) as T;
    } catch {
      throw new Error(`${this.binary.name} ${args.join(" ")} did not print JSON (${raw.text.length} characters, not shown: they may hold secrets)`);
    }
  }

  /** A fresh working directory (its own state) holding `config` as main.tf. */
  workspace(stack: Stack, label: string, config: string): string {
    const dir = stack.tempDir(`tf-${label}`);
    writeFileSync(path.join(dir, "main.tf"), config, { mode: 0o600 });
    return dir;
  }
}

/**
 * A CLI configuration whose dev_overrides point "hashicorp/vault" at the built
 * provider (linked under the name the CLI looks for), and an environment that
 * reads nothing of the user's: no ~/.terraformrc, no TF_* or VAULT_* variables.
 */
export function prepareTerraform(stack: Stack, binary: TerraformBinary, providerBin: string, vault: { addr: string; token: string }): TerraformCli {
  const dir = stack.tempDir("tf-cli");
  const providerDir = path.join(dir, "provider");
  mkdirSync(providerDir);
  symlinkSync(providerBin, path.join(providerDir, "terraform-provider-vault"));
  const cliConfig = path.join(dir, "cli.tfrc");
  writeFileSync(
    cliConfig,
    `# written by the vault-plugin-secrets-nomad acceptance suite
provider_installation {
  dev_overrides {
    "hashicorp/vault" = "${providerDir}"
  }
  direct {}
}
`,
  );
  const base = Object.fromEntries(Object.entries(cleanEnv()).filter(([key]) => !/^(TF|CHECKPOINT|OTEL)_/.test(key)));
  const cli = new TerraformCli(binary, {
    ...base,
    HOME: dir,
    TF_CLI_CONFIG_FILE: cliConfig,
    TF_IN_AUTOMATION: "1",
    TF_INPUT: "0",
    CHECKPOINT_DISABLE: "1",
    VAULT_ADDR: vault.addr,
    VAULT_TOKEN: vault.token,
  });
  cli.addSecret(vault.token);
  return cli;
}
