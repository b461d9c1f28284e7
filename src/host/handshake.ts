// go-plugin's handshake as the plugin sees it: magic cookie, protocol choice
// and the single stdout line. Nothing here knows which host application runs us.

export const CORE_PROTOCOL_VERSION = 1;

/** go-plugin's exact text for a binary started without the host's cookie. */
export const NOT_A_PLUGIN_MESSAGE =
  "This binary is a plugin. These are not meant to be executed directly.\n" +
  "Please execute the program that consumes these plugins, which will\n" +
  "load any plugins automatically\n";

export interface MagicCookie {
  key: string;
  value: string;
}

export function hasMagicCookie(env: NodeJS.ProcessEnv, cookie: MagicCookie): boolean {
  return env[cookie.key] === cookie.value;
}

export interface ProtocolChoice {
  version: number;
  /** Entries of PLUGIN_PROTOCOL_VERSIONS that were not integers. */
  invalidEntries: string[];
}

/**
 * The highest version both sides support (the host's list order is random);
 * with no overlap, our lowest, which the host will then refuse (go-plugin's rule).
 */
export function chooseProtocolVersion(hostList: string | undefined, supported: readonly number[]): ProtocolChoice {
  if (supported.length === 0) throw new Error("no supported protocol versions configured");
  const invalidEntries: string[] = [];
  const offered = new Set<number>();
  for (const entry of (hostList ?? "").split(",")) {
    const trimmed = entry.trim();
    if (trimmed === "") continue;
    if (/^[+-]?\d+$/.test(trimmed)) offered.add(Number(trimmed));
    else invalidEntries.push(trimmed);
  }
  const descending = [...supported].sort((a, b) => b - a);
  const common = descending.find((version) => offered.has(version));
  return { version: common ?? (descending[descending.length - 1] as number), invalidEntries };
}

export interface HandshakeFields {
  appProtocolVersion: number;
  network: "unix" | "tcp";
  address: string;
  /** Field 6: raw standard base64 of the DER certificate, or "" without AutoMTLS. */
  serverCert: string;
  /**
   * Field 7 answers the host's PLUGIN_MULTIPLEX_GRPC offer (undefined: no offer,
   * nothing printed). We never accept it: it needs yamux, and Vault never offers.
   */
  multiplexBrokerAnswer: boolean | undefined;
}

export function formatHandshakeLine(fields: HandshakeFields): string {
  const parts = [
    String(CORE_PROTOCOL_VERSION),
    String(fields.appProtocolVersion),
    fields.network,
    fields.address,
    "grpc",
    fields.serverCert,
  ];
  if (fields.multiplexBrokerAnswer !== undefined) parts.push(String(fields.multiplexBrokerAnswer));
  return `${parts.join("|")}\n`;
}
