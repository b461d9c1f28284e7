import packageJson from "../package.json" with { type: "json" };

export const PLUGIN_NAME = "vault-plugin-secrets-nomad";
/**
 * Reported through logical.PluginVersion. Vault compares it by exact string with
 * the registered `-version`, which it canonicalises to a leading "v".
 */
export const PLUGIN_VERSION = `v${packageJson.version}`;

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
  --version   print the version and exit
  --help      print this text and exit

Environment (set through the catalog entry's env):
  NOMAD_PLUGIN_LOG_LEVEL   trace, debug, info (default), warn, error or off
`;
}
