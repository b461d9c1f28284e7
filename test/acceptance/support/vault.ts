// A Vault or OpenBao dev server with a plugin directory holding the built
// executable, and a runner for the operator CLI (`vault ...` / `bao ...`), so
// the commands operators type are what is tested.
import { randomUUID } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { ServerBinary } from "./binaries.ts";
import { httpRequest, waitFor, type HttpResult } from "./http.ts";
import { installPlugin, sha256File, type BuiltPlugin } from "./plugin.ts";
import { freePortPair } from "./ports.ts";
import { runToExit, startProcess, type ManagedProcess } from "./process.ts";
import type { Stack } from "./stack.ts";

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** The command line, with secret-looking arguments masked. */
  command: string;
}

const SECRET_ARGUMENT = /^(token|secret_id|client_key|bootstrap_secret)=.*/s;

function maskArgument(arg: string): string {
  return arg.replace(SECRET_ARGUMENT, "$1=<redacted>");
}

/** process.env without anything that would steer a Vault/OpenBao/Nomad client or server. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const kept = Object.entries(process.env).filter(([key]) => !/^(VAULT|BAO|NOMAD)_/.test(key));
  return { ...Object.fromEntries(kept), ...extra };
}

export class VaultCli {
  constructor(
    readonly server: ServerBinary,
    readonly addr: string,
    readonly token: string,
  ) {}

  /** "vault" or "bao": for messages and printed commands. */
  get name(): string {
    return this.server.kind;
  }

  /** Both spellings: Vault reads VAULT_*, OpenBao reads BAO_* (and accepts VAULT_*). */
  env(): NodeJS.ProcessEnv {
    return cleanEnv({
      VAULT_ADDR: this.addr,
      VAULT_TOKEN: this.token,
      BAO_ADDR: this.addr,
      BAO_TOKEN: this.token,
    });
  }

  async run(args: string[], timeoutMs = 120_000): Promise<CliResult> {
    const command = `${this.name} ${args.map(maskArgument).join(" ")}`;
    return { ...(await runToExit(this.server.bin, args, { env: this.env(), timeoutMs, label: command })), command };
  }

  /** Runs and insists on exit code 0; returns stdout. */
  async ok(args: string[]): Promise<string> {
    const result = await this.run(args);
    if (result.code !== 0) {
      throw new Error(`\`${result.command}\` exited ${result.code}:\n${result.stderr.trim()}\n${result.stdout.trim()}`);
    }
    return result.stdout;
  }

  /** Runs (args should include -format=json) and parses stdout. */
  async json<T>(args: string[]): Promise<T> {
    const stdout = await this.ok(args);
    try {
      return JSON.parse(stdout) as T;
    } catch {
      throw new Error(`\`${this.name} ${args.map(maskArgument).join(" ")}\` did not print JSON:\n${stdout.slice(0, 1000)}`);
    }
  }
}

export interface VaultServer {
  binary: ServerBinary;
  addr: string;
  rootToken: string;
  pluginDir: string;
  /** sha256 of the copy in the plugin directory (what the catalog must hold). */
  pluginSha256: string;
  process: ManagedProcess;
  cli: VaultCli;
  /** The HTTP API with the root token. */
  http(method: string, apiPath: string, body?: unknown): Promise<HttpResult>;
}

export interface StartVaultOptions {
  plugin: BuiltPlugin;
  /** Extra environment for the server (and so for the plugin processes it starts). */
  env?: Record<string, string>;
  /** The server's -log-level (default debug). */
  logLevel?: "trace" | "debug" | "info" | "warn" | "error";
  /** More server configuration (HCL), after plugin_directory. */
  extraConfig?: string;
  /** false: leave plugin_directory empty (the server fetches the plugin itself, e.g. from OCI). */
  installBuilt?: boolean;
}

/**
 * `<vault|bao> server -dev` on 127.0.0.1 with a free port and a config file
 * that sets plugin_directory (so nothing is auto-registered, unlike
 * -dev-plugin-dir, and registration is the operator's step under test).
 */
export async function startVaultDev(stack: Stack, binary: ServerBinary, options: StartVaultOptions): Promise<VaultServer> {
  const dir = stack.tempDir(binary.kind);
  const pluginDir = path.join(dir, "plugins");
  mkdirSync(pluginDir, { mode: 0o700 });
  const installed = options.installBuilt === false ? undefined : installPlugin(options.plugin, pluginDir);
  const config = path.join(dir, "server.hcl");
  writeFileSync(config, `# written by the vault-plugin-secrets-nomad acceptance suite\nplugin_directory = "${pluginDir}"\n${options.extraConfig ?? ""}`);
  const port = await freePortPair();
  const addr = `http://127.0.0.1:${port}`;
  const rootToken = `acc-root-${randomUUID()}`;
  const server = stack.adopt(
    startProcess({
      name: `${binary.kind} server -dev`,
      bin: binary.bin,
      args: [
        "server",
        "-dev",
        `-dev-root-token-id=${rootToken}`,
        `-dev-listen-address=127.0.0.1:${port}`,
        "-dev-no-store-token",
        `-config=${config}`,
        `-log-level=${options.logLevel ?? "debug"}`,
      ],
      env: cleanEnv(options.env),
      cwd: dir,
      logFile: path.join(dir, `${binary.kind}.log`),
    }),
  );
  const http = (method: string, apiPath: string, body?: unknown) =>
    httpRequest(method, `${addr}/v1/${apiPath.replace(/^\/+/, "")}`, { headers: { "X-Vault-Token": rootToken }, body });
  await waitFor(
    `${binary.kind} dev server at ${addr}`,
    async () => ((await httpRequest("GET", `${addr}/v1/sys/health`, { timeoutMs: 2_000 })).status === 200 ? true : undefined),
    { timeoutMs: 60_000, process: server },
  );
  return {
    binary,
    addr,
    rootToken,
    pluginDir,
    pluginSha256: installed === undefined ? options.plugin.sha256 : sha256File(installed),
    process: server,
    cli: new VaultCli(binary, addr, rootToken),
    http,
  };
}

/** `read -format=json nomad/creds/<role>` and `lease renew -format=json`. */
export interface LeasedSecret<T> {
  lease_id: string;
  lease_duration: number;
  renewable: boolean;
  data: T;
  warnings: string[] | null;
}

export interface NomadCreds {
  secret_id: string;
  accessor_id: string;
}

export interface ReadResponse<T> {
  data: T;
  warnings?: string[] | null;
}
