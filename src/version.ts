import packageJson from "../package.json" with { type: "json" };

export const PLUGIN_NAME = "vault-plugin-secrets-nomad";
/**
 * Reported through logical.PluginVersion. Vault compares it by exact string with
 * the registered `-version`, which it canonicalises to a leading "v".
 */
export const PLUGIN_VERSION = `v${packageJson.version}`;

/** Replaced by scripts/build.mjs with the commit built from; absent when running the sources (tests). */
declare const __PLUGIN_COMMIT__: string | undefined;
export const PLUGIN_COMMIT = typeof __PLUGIN_COMMIT__ === "string" ? __PLUGIN_COMMIT__ : "unknown (not a built executable)";

/** The SEA asset scripts/build.mjs stores the third-party notices under, printed by --licenses. */
export const NOTICES_ASSET = "THIRD_PARTY_NOTICES.txt";

/** --version: what an operator needs to match a binary to a release and its SBOM. */
export function versionText(): string {
  return `${PLUGIN_NAME} ${PLUGIN_VERSION}\ncommit ${PLUGIN_COMMIT}\nnode ${process.version}\n`;
}

export function usageText(): string {
  return `${PLUGIN_NAME} ${PLUGIN_VERSION}

A Nomad secrets engine plugin for HashiCorp Vault and OpenBao. It mints Nomad
ACL tokens on demand. Vault or OpenBao starts this executable itself; it is not
meant to be run by hand.

Install:
  1. Copy this file into the server's plugin_directory.
  2. Register it:
       vault plugin register -sha256=$(sha256sum ${PLUGIN_NAME} | cut -d' ' -f1) \\
         -command=${PLUGIN_NAME} -version=${PLUGIN_VERSION} secret nomad
     (OpenBao: the same with "bao".)
  3. Enable it:
       vault secrets enable -path=nomad nomad

Options:
  --version   print the version, the commit built from and the embedded Node
              version, and exit
  --licenses  print the third-party license notices and exit
  --help      print this text and exit

Environment (set through the catalog entry's env):
  NOMAD_PLUGIN_LOG_LEVEL   trace, debug, info (default), warn, error or off
`;
}
