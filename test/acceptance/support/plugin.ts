// The built plugin executable (npm run build) and its catalog facts.
import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, existsSync, readFileSync } from "node:fs";
import path from "node:path";

export const PLUGIN_COMMAND = "vault-plugin-secrets-nomad";
/** The catalog name the docs use: `plugin register ... secret nomad`. */
export const PLUGIN_NAME = "nomad";

export const REPO_ROOT = path.resolve(import.meta.dirname, "..", "..", "..");

export interface BuiltPlugin {
  file: string;
  /** sha256 of the file, computed here. */
  sha256: string;
  /** What dist/vault-plugin-secrets-nomad.sha256 says. */
  recordedSha256: string;
  /** `v` + package.json version: what `-version=` must say. */
  version: string;
}

export function sha256File(file: string): string {
  return createHash("sha256").update(readFileSync(file)).digest("hex");
}

export function builtPlugin(root: string = REPO_ROOT): BuiltPlugin {
  const file = path.join(root, "dist", PLUGIN_COMMAND);
  const shaFile = `${file}.sha256`;
  if (!existsSync(file) || !existsSync(shaFile)) {
    throw new Error(`${path.relative(root, file)}(.sha256) missing: run \`npm run build\` before the acceptance suite`);
  }
  const pkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as { version: string };
  return {
    file,
    sha256: sha256File(file),
    recordedSha256: readFileSync(shaFile, "utf8"),
    version: `v${pkg.version}`,
  };
}

/** Copies the executable into a plugin directory; returns the copy's path. */
export function installPlugin(plugin: BuiltPlugin, pluginDir: string): string {
  const target = path.join(pluginDir, PLUGIN_COMMAND);
  copyFileSync(plugin.file, target);
  chmodSync(target, 0o755);
  return target;
}
