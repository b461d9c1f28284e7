// exec → handshake line, the way Vault starts the plugin (AutoMTLS, protocol 5).
// A benchmark, not a test: it reports the median and spread, and never fails on time.
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { makeHostCertificate, PLUGIN_COOKIE } from "./lib/host-cert.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** `args`: catalog args the host would pass (e.g. `--node-options=…` for our executable). */
export async function measureStartup({ runs = 40, binary = path.join(root, "dist", "vault-plugin-secrets-nomad"), args = [] } = {}) {
  const { certPem } = makeHostCertificate();
  const env = {
    PATH: process.env.PATH,
    ...PLUGIN_COOKIE,
    PLUGIN_PROTOCOL_VERSIONS: "5",
    PLUGIN_CLIENT_CERT: certPem,
    VAULT_PLUGIN_AUTOMTLS_ENABLED: "true",
    VAULT_PLUGIN_METADATA_MODE: "false",
  };
  const samples = [];
  for (let run = 0; run < runs + 3; run += 1) {
    const elapsed = await oneStart(binary, args, env);
    if (run >= 3) samples.push(elapsed); // the first runs warm the page cache
  }
  samples.sort((a, b) => a - b);
  const at = (q) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))];
  return { runs, medianMs: at(0.5), p10Ms: at(0.1), p90Ms: at(0.9), minMs: samples[0], maxMs: samples[samples.length - 1] };
}

function oneStart(binary, args, env) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(binary, args, { env, stdio: ["ignore", "pipe", "ignore"] });
    let seen = "";
    child.stdout.on("data", (chunk) => {
      seen += chunk;
      if (seen.includes("\n")) {
        const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
        child.kill("SIGTERM");
        child.once("exit", () => resolve(elapsedMs));
      }
    });
    child.once("error", reject);
    child.once("exit", (code) => {
      if (!seen.includes("\n")) reject(new Error(`plugin exited with ${code} before the handshake`));
    });
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await measureStartup({ runs: Number(process.env.RUNS ?? 40) });
  const fmt = (ms) => `${ms.toFixed(1)} ms`;
  process.stdout.write(
    `exec → handshake line over ${result.runs} runs: median ${fmt(result.medianMs)} ` +
      `(p10 ${fmt(result.p10Ms)}, p90 ${fmt(result.p90Ms)}, min ${fmt(result.minMs)}, max ${fmt(result.maxMs)})\n`,
  );
}
