// The VAULT_ACC gate (the Go engines' convention): the acceptance suite starts
// real servers, so it runs only when asked to, and says why when it does not.
import { it } from "vitest";

export interface Gate {
  enabled: boolean;
  /** Why the suite (or one file) is skipped; empty when enabled. */
  reason: string;
}

export const ACC_HELP =
  "VAULT_ACC=1 npm run test:acceptance (needs `npm run build`, vault or bao [VAULT_BIN/BAO_BIN], " +
  "and nomad [NOMAD_BIN] or NOMAD_ADDR+NOMAD_TOKEN of a Nomad to reuse)";

export function accRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  const value = (env.VAULT_ACC ?? "").trim().toLowerCase();
  return value !== "" && value !== "0" && value !== "false" && value !== "no";
}

export function accGate(env: NodeJS.ProcessEnv = process.env): Gate {
  if (accRequested(env)) return { enabled: true, reason: "" };
  return { enabled: false, reason: `VAULT_ACC is not set; run: ${ACC_HELP}` };
}

/**
 * Makes a skip visible: one skipped test whose title carries the reason, plus a
 * line on stderr (vitest prints it next to the file).
 */
export function announceSkip(file: string, gate: Gate): void {
  if (gate.enabled) return;
  process.stderr.write(`[acceptance] ${file}: skipped: ${gate.reason}\n`);
  it.skip(`skipped: ${gate.reason}`, () => {});
}
