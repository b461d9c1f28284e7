// The README's test command: type-check, unit tests, then the conformance host
// (the real Vault and OpenBao SDKs driving the built executable). Fails loudly.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const binary = path.join(root, "dist", "vault-plugin-secrets-nomad");

function step(title, command, args, options = {}) {
  process.stderr.write(`\n=== ${title}\n`);
  const result = spawnSync(command, args, { cwd: root, stdio: "inherit", ...options });
  if (result.status !== 0) {
    process.stderr.write(`\n*** FAILED: ${title} (exit ${result.status ?? result.signal})\n`);
    process.exit(1);
  }
}

if (!existsSync(binary)) {
  process.stderr.write(`${path.relative(root, binary)} is missing: run \`npm ci && npm run build\` first\n`);
  process.exit(1);
}
const npm = process.platform === "win32" ? "npm.cmd" : "npm";
if (spawnSync("protoc", ["--version"], { stdio: "ignore" }).status === 0) {
  step("generated wire code matches proto/", npm, ["run", "--silent", "gen:check"]);
} else {
  process.stderr.write("\n=== generated wire code: not checked (protoc is not installed; CI installs it)\n");
}
step("type-check", npm, ["run", "--silent", "typecheck"]);
step("unit tests", npm, ["run", "--silent", "test:unit"]);
step("conformance host (Vault SDK, then OpenBao SDK)", npm, ["run", "--silent", "test:conformance"]);
