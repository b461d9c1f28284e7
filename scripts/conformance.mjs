// Runs the Go conformance host twice: against the Vault SDK, then OpenBao's.
import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dir = path.join(root, "test", "conformance");
const env = {
  ...process.env,
  PLUGIN_BINARY: process.env.PLUGIN_BINARY ?? path.join(root, "dist", "vault-plugin-secrets-nomad"),
  PLUGIN_DESCRIPTORS: process.env.PLUGIN_DESCRIPTORS ?? path.join(root, "src", "generated", "descriptors.binpb"),
};
const runs = [
  ["download modules", ["mod", "download"]],
  ["Vault SDK", ["test", "-count=1", "./..."]],
  ["OpenBao SDK", ["test", "-count=1", "-tags", "openbao", "./..."]],
];
// Both SDK runs always happen, so one failure never hides the other's result.
const failed = [];
for (const [title, args] of runs) {
  process.stderr.write(`--- conformance: ${title}: go ${args.join(" ")}\n`);
  const result = spawnSync("go", args, { cwd: dir, env, stdio: "inherit" });
  if (result.status !== 0) failed.push(title);
}
if (failed.length > 0) {
  process.stderr.write(`--- conformance FAILED: ${failed.join(", ")}\n`);
  process.exit(1);
}
