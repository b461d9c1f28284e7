export function makeHostCertificate(): { certPem: string; keyPem: string };
export const PLUGIN_COOKIE: { VAULT_BACKEND_PLUGIN: string };
