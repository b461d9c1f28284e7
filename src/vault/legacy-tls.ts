// Vault's legacy TLS bootstrap (protocol 4, Vault < 1.12 and the v5 fallback):
// the host passes a single-use response-wrapping JWT in VAULT_UNWRAP_TOKEN; we
// read `addr` from its claims, unwrap it at <addr>/v1/sys/wrapping/unwrap, and
// get the one certificate and key that both ends use. The token never appears
// in a message: errors name the address and the cause only.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { createPrivateKey, X509Certificate, type KeyObject } from "node:crypto";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { ErrorCode, PluginError } from "../shared/errors.ts";
import { toPem } from "../host/cert.ts";

/** The Vault API TLS flags operators put in the catalog `args` (Go flag syntax). */
export interface VaultApiTlsFlags {
  caCert?: string;
  caPath?: string;
  clientCert?: string;
  clientKey?: string;
  tlsSkipVerify: boolean;
}

const STRING_FLAGS: Record<string, keyof Omit<VaultApiTlsFlags, "tlsSkipVerify">> = {
  "ca-cert": "caCert",
  "ca-path": "caPath",
  "client-cert": "clientCert",
  "client-key": "clientKey",
};
const GO_TRUE = new Set(["1", "t", "T", "TRUE", "true", "True"]);
const GO_FALSE = new Set(["0", "f", "F", "FALSE", "false", "False"]);

/**
 * Go's flag rules: `-name=value`, `-name value`, one or two dashes, a bare bool
 * flag means true. Unknown flags are skipped (never fatal), and so is the value
 * that follows one, unless it looks like another flag.
 */
export function parseVaultApiTlsFlags(args: readonly string[]): VaultApiTlsFlags {
  const flags: VaultApiTlsFlags = { tlsSkipVerify: false };
  for (let index = 0; index < args.length; index += 1) {
    const arg = args[index] as string;
    const match = /^--?([^=]+)(?:=(.*))?$/s.exec(arg);
    if (match === null) continue;
    const name = match[1] as string;
    const inline = match[2];
    if (name === "tls-skip-verify") {
      if (inline === undefined) flags.tlsSkipVerify = true;
      else if (GO_TRUE.has(inline)) flags.tlsSkipVerify = true;
      else if (GO_FALSE.has(inline)) flags.tlsSkipVerify = false;
      continue;
    }
    const field = STRING_FLAGS[name];
    const value = inline ?? (args[index + 1] !== undefined && !args[index + 1]?.startsWith("-") ? args[++index] : undefined);
    if (field !== undefined && value !== undefined) flags[field] = value;
  }
  return flags;
}

interface WrappingClaims {
  addr: string;
}

export function readWrappingClaims(token: string): WrappingClaims {
  const parts = token.split(".");
  if (parts.length !== 3) throw new PluginError(ErrorCode.Tls, "VAULT_UNWRAP_TOKEN is not a JWT");
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(parts[1] as string, "base64url").toString("utf8"));
  } catch (error) {
    throw new PluginError(ErrorCode.Tls, "VAULT_UNWRAP_TOKEN has unreadable claims", { cause: error });
  }
  const addr = (claims as { addr?: unknown } | null)?.addr;
  if (typeof addr !== "string" || addr === "") {
    throw new PluginError(
      ErrorCode.Tls,
      "VAULT_UNWRAP_TOKEN carries no Vault address: set api_addr in the Vault server configuration",
    );
  }
  return { addr };
}

function readCaBundle(flags: VaultApiTlsFlags): string[] | undefined {
  const pems: string[] = [];
  try {
    if (flags.caCert) pems.push(readFileSync(flags.caCert, "utf8"));
    if (flags.caPath) {
      for (const entry of readdirSync(flags.caPath)) {
        if (/\.(pem|crt)$/i.test(entry)) pems.push(readFileSync(path.join(flags.caPath, entry), "utf8"));
      }
    }
  } catch (error) {
    throw new PluginError(ErrorCode.Tls, `could not read the CA given by -ca-cert/-ca-path: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return pems.length > 0 ? pems : undefined;
}

export interface UnwrappedTls {
  certPem: string;
  keyPem: string;
  serverName: string;
}

export async function unwrapPluginTls(token: string, flags: VaultApiTlsFlags, timeoutMs = 30_000): Promise<UnwrappedTls> {
  const { addr } = readWrappingClaims(token);
  const url = `${addr.replace(/\/+$/, "")}/v1/sys/wrapping/unwrap`;
  let clientCert: string | undefined;
  let clientKey: string | undefined;
  try {
    clientCert = flags.clientCert ? readFileSync(flags.clientCert, "utf8") : undefined;
    clientKey = flags.clientKey ? readFileSync(flags.clientKey, "utf8") : undefined;
  } catch (error) {
    throw new PluginError(ErrorCode.Tls, `could not read -client-cert/-client-key: ${(error as Error).message}`, { cause: error });
  }
  let answer: { status: number; body: string };
  try {
    answer = await putJson(url, token, {
      ca: readCaBundle(flags),
      cert: clientCert,
      key: clientKey,
      rejectUnauthorized: !flags.tlsSkipVerify,
      timeoutMs,
    });
  } catch (error) {
    if (PluginError.is(error)) throw error;
    const raw = error instanceof Error ? error.message : String(error);
    // Node's own hint (--use-system-ca) cannot apply to this executable; the catalog args can.
    const untrusted = /certificate|self[- ]signed|CERT_/i.test(raw);
    const reason = `${raw.replace(/;?\s*if the root CA is installed locally, try running Node\.js with --use-system-ca\.?/i, "")}${
      untrusted ? "; pass -ca-cert=<file> or -ca-path=<dir> (or -tls-skip-verify for tests) in the plugin's catalog args" : ""
    }`;
    throw new PluginError(
      ErrorCode.Tls,
      `could not reach Vault at ${addr} to unwrap the plugin's TLS certificate: ${reason} (api_addr must be reachable from the plugin)`,
      { cause: error },
    );
  }
  if (answer.status !== 200) {
    const errors = safeErrors(answer.body);
    throw new PluginError(
      ErrorCode.Tls,
      `Vault at ${addr} refused to unwrap the plugin's TLS certificate (HTTP ${answer.status}${errors ? `: ${errors}` : ""}); the wrapping token may have expired (60 s) or been used already`,
    );
  }
  return certificateFromUnwrap(answer.body);
}

interface PutOptions {
  ca: string[] | undefined;
  cert: string | undefined;
  key: string | undefined;
  rejectUnauthorized: boolean;
  timeoutMs: number;
}

/**
 * One PUT with Vault's token header, on Node's own HTTP client: this runs before
 * the engine (and its HTTP client library) is loaded, at every legacy start.
 */
function putJson(url: string, token: string, options: PutOptions): Promise<{ status: number; body: string }> {
  const target = new URL(url);
  const send = target.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const request = send(
      target,
      {
        method: "PUT",
        headers: { "X-Vault-Token": token, "content-type": "application/json" },
        timeout: options.timeoutMs,
        ...(target.protocol === "https:"
          ? { ca: options.ca, cert: options.cert, key: options.key, rejectUnauthorized: options.rejectUnauthorized, minVersion: "TLSv1.2" as const }
          : {}),
      },
      (response) => {
        let body = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => (body += chunk));
        response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
        response.on("error", reject);
      },
    );
    request.on("timeout", () => request.destroy(new Error(`no answer within ${options.timeoutMs}ms`)));
    request.on("error", reject);
    request.end("null");
  });
}

function safeErrors(body: string): string {
  try {
    const errors = (JSON.parse(body) as { errors?: unknown }).errors;
    return Array.isArray(errors) ? errors.filter((e) => typeof e === "string").join("; ") : "";
  } catch {
    return "";
  }
}

function certificateFromUnwrap(body: string): UnwrappedTls {
  let data: { ServerCert?: unknown; ServerKey?: unknown } | undefined;
  try {
    data = (JSON.parse(body) as { data?: typeof data }).data;
  } catch (error) {
    throw new PluginError(ErrorCode.Tls, "Vault's unwrap response is not JSON", { cause: error });
  }
  if (typeof data?.ServerCert !== "string" || typeof data.ServerKey !== "string") {
    throw new PluginError(ErrorCode.Tls, "Vault's unwrap response has no ServerCert/ServerKey");
  }
  const certPem = toPem("CERTIFICATE", Buffer.from(data.ServerCert, "base64"));
  const keyPem = toPem("EC PRIVATE KEY", Buffer.from(data.ServerKey, "base64"));
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(certPem);
  } catch (error) {
    throw new PluginError(ErrorCode.Tls, "the unwrapped plugin certificate does not parse", { cause: error });
  }
  if (!certificate.checkPrivateKey(createKey(keyPem))) {
    throw new PluginError(ErrorCode.Tls, "the unwrapped plugin key does not match its certificate");
  }
  const commonName = /(?:^|\n)CN=([^\n]+)/.exec(certificate.subject)?.[1];
  if (commonName === undefined) throw new PluginError(ErrorCode.Tls, "the unwrapped plugin certificate has no common name");
  return { certPem, keyPem, serverName: commonName };
}

function createKey(pem: string): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch (error) {
    throw new PluginError(ErrorCode.Tls, "the unwrapped plugin key does not parse", { cause: error });
  }
}
