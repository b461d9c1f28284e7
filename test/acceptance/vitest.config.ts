// Acceptance suite: real Vault/OpenBao dev server + Nomad dev agent, driven
// through the operator CLI. Runs only with VAULT_ACC=1 (see support/gate.ts);
// without it every file reports itself skipped and the run exits 0.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    root: new URL("../..", import.meta.url).pathname,
    include: ["test/acceptance/**/*.test.ts"],
    environment: "node",
    // Each file starts its own servers; one at a time keeps ports, CPU and logs sane.
    pool: "forks",
    fileParallelism: false,
    // Steps in a file depend on each other: never shuffle them.
    sequence: { shuffle: false },
    testTimeout: 120_000,
    hookTimeout: 240_000,
    teardownTimeout: 60_000,
    passWithNoTests: true,
  },
});
