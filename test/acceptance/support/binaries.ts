// Which server and Nomad binaries the acceptance suite drives. It never builds
// them: it uses what the user already has, in this order:
//   server: $VAULT_BIN, then $BAO_BIN, then `vault` on PATH, then `bao` on PATH
//   nomad:  $NOMAD_BIN, then `nomad` on PATH (not needed when NOMAD_ADDR and
//           NOMAD_TOKEN point at a Nomad to reuse)
//   terraform.test.ts only: $TOFU_BIN, then $TERRAFORM_BIN, then `tofu` or
//           `terraform` on PATH; and $TF_PROVIDER_VAULT_BIN, the built
//           hashicorp/vault provider (no registry is ever asked for it)
// scripts/dev.sh follows the same rules.
import { accessSync, constants, statSync } from "node:fs";
import path from "node:path";

export type ServerKind = "vault" | "bao";

export interface ServerBinary {
  kind: ServerKind;
  /** Absolute path (or the value of $VAULT_BIN / $BAO_BIN as given). */
  bin: string;
  /** Where it came from, for messages: "$VAULT_BIN", "PATH", ... */
  source: string;
}

export type Discovery<T> = { found: true; value: T } | { found: false; reason: string };

function isExecutableFile(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Like `command -v`: the first executable `name` on PATH. */
export function onPath(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? "").split(path.delimiter)) {
    if (dir === "") continue;
    const candidate = path.join(dir, name);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

function fromVariable(variable: string, env: NodeJS.ProcessEnv): Discovery<string> | undefined {
  const value = env[variable];
  if (value === undefined || value === "") return undefined;
  if (isExecutableFile(value)) return { found: true, value };
  return { found: false, reason: `$${variable}=${value} is not an executable file` };
}

export function discoverServer(env: NodeJS.ProcessEnv = process.env): Discovery<ServerBinary> {
  for (const [variable, kind] of [
    ["VAULT_BIN", "vault"],
    ["BAO_BIN", "bao"],
  ] as const) {
    const explicit = fromVariable(variable, env);
    if (explicit === undefined) continue;
    if (!explicit.found) return explicit;
    return { found: true, value: { kind, bin: explicit.value, source: `$${variable}` } };
  }
  for (const kind of ["vault", "bao"] as const) {
    const bin = onPath(kind, env);
    if (bin !== undefined) return { found: true, value: { kind, bin, source: "PATH" } };
  }
  return { found: false, reason: "no Vault or OpenBao binary: set VAULT_BIN or BAO_BIN, or put `vault` or `bao` on PATH" };
}

export function discoverNomad(env: NodeJS.ProcessEnv = process.env): Discovery<string> {
  const explicit = fromVariable("NOMAD_BIN", env);
  if (explicit !== undefined) return explicit;
  const bin = onPath("nomad", env);
  if (bin !== undefined) return { found: true, value: bin };
  return { found: false, reason: "no Nomad binary: set NOMAD_BIN or put `nomad` on PATH" };
}

/** NOMAD_ADDR + NOMAD_TOKEN both set: reuse that Nomad instead of starting one. */
export function reusableNomad(env: NodeJS.ProcessEnv = process.env): { addr: string; token: string } | undefined {
  const addr = env.NOMAD_ADDR;
  const token = env.NOMAD_TOKEN;
  if (addr === undefined || addr === "" || token === undefined || token === "") return undefined;
  return { addr: addr.replace(/\/+$/, ""), token };
}

export interface TerraformBinary {
  /** "tofu" or "terraform": for messages. */
  name: string;
  bin: string;
  source: string;
}

export function discoverTerraform(env: NodeJS.ProcessEnv = process.env): Discovery<TerraformBinary> {
  for (const [variable, name] of [
    ["TOFU_BIN", "tofu"],
    ["TERRAFORM_BIN", "terraform"],
  ] as const) {
    const explicit = fromVariable(variable, env);
    if (explicit === undefined) continue;
    if (!explicit.found) return explicit;
    return { found: true, value: { name, bin: explicit.value, source: `$${variable}` } };
  }
  for (const name of ["tofu", "terraform"] as const) {
    const bin = onPath(name, env);
    if (bin !== undefined) return { found: true, value: { name, bin, source: "PATH" } };
  }
  return { found: false, reason: "no OpenTofu or Terraform binary: set TOFU_BIN or TERRAFORM_BIN, or put `tofu` or `terraform` on PATH" };
}

/** The hashicorp/vault provider executable, used through a CLI config `dev_overrides`. */
export function discoverTerraformProviderVault(env: NodeJS.ProcessEnv = process.env): Discovery<string> {
  return (
    fromVariable("TF_PROVIDER_VAULT_BIN", env) ?? {
      found: false,
      reason: "no hashicorp/vault provider: set TF_PROVIDER_VAULT_BIN to a built terraform-provider-vault executable",
    }
  );
}
