// A host certificate shaped like go-plugin's (P-521, CA, SAN localhost, both EKUs),
// for scripts that start the plugin the way a host would.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

export function makeHostCertificate() {
  const dir = mkdtempSync(path.join(tmpdir(), "host-cert-"));
  try {
    const key = path.join(dir, "host.key");
    const cert = path.join(dir, "host.pem");
    execFileSync("openssl", ["ecparam", "-name", "secp521r1", "-genkey", "-noout", "-out", key]);
    execFileSync("openssl", [
      "req", "-new", "-x509", "-key", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost/O=HashiCorp",
      "-addext", "subjectAltName=DNS:localhost", "-addext", "extendedKeyUsage=clientAuth,serverAuth",
      "-addext", "basicConstraints=critical,CA:TRUE",
    ]);
    return { certPem: readFileSync(cert, "utf8"), keyPem: readFileSync(key, "utf8") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const PLUGIN_COOKIE = { VAULT_BACKEND_PLUGIN: "6669da05-b1c8-4f49-97d9-c8e5bed98e20" };
