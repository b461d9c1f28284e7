// Checks for config/access input. Each returns a message naming the field (Vault's
// wire name) or undefined; the engine turns messages into user-error responses.
// Messages never echo key material.
import { createPrivateKey, X509Certificate, type KeyObject } from "node:crypto";

export interface AccessConfigFields {
  address?: string | undefined;
  ca_cert?: string | undefined;
  client_cert?: string | undefined;
  client_key?: string | undefined;
}

const PEM_CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

export function validateNomadAddress(address: string, field = "address"): string | undefined {
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    return `${field} must be an http:// or https:// URL such as https://nomad.example.com:4646, got ${quoteAddress(address)}`;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return `${field} must use http:// or https://, got ${quoteAddress(address)}`;
  }
  if (url.hostname === "") return `${field} has no host: ${quoteAddress(address)}`;
  if (url.search !== "" || url.hash !== "") {
    return `${field} must not contain a query or fragment: ${quoteAddress(address)}`;
  }
  return undefined;
}

/** Parses every certificate in a PEM bundle; throws with a field-naming message. */
export function parsePemCertificates(pem: string, field: string): X509Certificate[] {
  const blocks = pem.match(PEM_CERTIFICATE_BLOCK) ?? [];
  if (blocks.length === 0) throw new Error(`${field} contains no PEM "CERTIFICATE" block`);
  return blocks.map((block, index) => {
    try {
      return new X509Certificate(block);
    } catch (error) {
      const which = blocks.length > 1 ? ` (certificate ${index + 1} of ${blocks.length})` : "";
      throw new Error(`${field} is not a valid PEM certificate${which}: ${describe(error)}`);
    }
  });
}

export function validateCertificatePem(pem: string, field: string): string | undefined {
  try {
    parsePemCertificates(pem, field);
    return undefined;
  } catch (error) {
    return describe(error);
  }
}

export function validatePrivateKeyPem(pem: string, field = "client_key"): string | undefined {
  return parsePrivateKey(pem, field).problem;
}

/**
 * All problems with a config/access write, after merging with stored values.
 * Unlike the builtin engine this enforces the documented rule that client_cert and
 * client_key come together, because one without the other fails every TLS handshake.
 */
export function validateAccessConfig(fields: AccessConfigFields): string[] {
  const problems: string[] = [];
  if (fields.address !== undefined && fields.address !== "") {
    pushIfSet(problems, validateNomadAddress(fields.address));
  }
  if (fields.ca_cert !== undefined && fields.ca_cert !== "") {
    pushIfSet(problems, validateCertificatePem(fields.ca_cert, "ca_cert"));
  }
  const hasCert = fields.client_cert !== undefined && fields.client_cert !== "";
  const hasKey = fields.client_key !== undefined && fields.client_key !== "";
  if (hasCert !== hasKey) {
    problems.push(hasCert ? "client_cert requires client_key to be set" : "client_key requires client_cert to be set");
  }
  let leaf: X509Certificate | undefined;
  if (hasCert) {
    try {
      leaf = parsePemCertificates(fields.client_cert ?? "", "client_cert")[0];
    } catch (error) {
      problems.push(describe(error));
    }
  }
  let key: KeyObject | undefined;
  if (hasKey) {
    const parsed = parsePrivateKey(fields.client_key ?? "", "client_key");
    pushIfSet(problems, parsed.problem);
    key = parsed.key;
  }
  if (leaf !== undefined && key !== undefined && !leaf.checkPrivateKey(key)) {
    problems.push("client_key does not belong to client_cert (the public keys differ)");
  }
  return problems;
}

function parsePrivateKey(pem: string, field: string): { key?: KeyObject; problem?: string } {
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) {
    return { problem: `${field} contains no PEM private key block` };
  }
  // PKCS#8 "ENCRYPTED PRIVATE KEY" and traditional "Proc-Type: 4,ENCRYPTED" blocks
  // fail inside OpenSSL with an unhelpful "interrupted or cancelled".
  const encrypted = /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type:\s*4,ENCRYPTED/.test(pem);
  try {
    return { key: createPrivateKey({ key: pem, format: "pem" }) };
  } catch (error) {
    if (encrypted || (error as { code?: unknown }).code === "ERR_MISSING_PASSPHRASE") {
      return { problem: `${field} is encrypted with a passphrase; supply an unencrypted key` };
    }
    // OpenSSL's reason text names a decoder step, never key bytes.
    return { problem: `${field} is not a valid PEM private key: ${describe(error)}` };
  }
}

/** Shows an address without any user:password part. */
function quoteAddress(address: string): string {
  return JSON.stringify(address.replace(/\/\/[^/@]*@/, "//<redacted>@"));
}

function pushIfSet(problems: string[], problem: string | undefined): void {
  if (problem !== undefined) problems.push(problem);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
