import { describe, expect, it } from "vitest";
import { chooseProtocolVersion, formatHandshakeLine, hasMagicCookie } from "./handshake.ts";

describe("protocol version choice", () => {
  it.each([
    { host: "5", supported: [5], chosen: 5 },
    { host: "4,5", supported: [4, 5], chosen: 5 },
    { host: "5,4", supported: [4, 5], chosen: 5 }, // host order is random: never pick the first entry
    { host: "3,4", supported: [4, 5], chosen: 4 },
    { host: "4,3", supported: [5], chosen: 5 }, // no overlap: our lowest, which the host then refuses
    { host: "", supported: [4, 5], chosen: 4 },
    { host: undefined, supported: [5], chosen: 5 },
  ])("host offers $host, plugin supports $supported → $chosen", ({ host, supported, chosen }) => {
    expect(chooseProtocolVersion(host, supported).version).toBe(chosen);
  });

  it("skips entries that are not integers and reports them", () => {
    expect(chooseProtocolVersion("x, 5 ,", [5])).toEqual({ version: 5, invalidEntries: ["x"] });
  });
});

describe("handshake line", () => {
  const base = { appProtocolVersion: 5, network: "unix", address: "/tmp/plugin123", serverCert: "MIIB" } as const;

  it("has six fields and a newline when the host did not offer broker multiplexing", () => {
    expect(formatHandshakeLine({ ...base, multiplexBrokerAnswer: undefined })).toBe("1|5|unix|/tmp/plugin123|grpc|MIIB\n");
  });

  it("answers a PLUGIN_MULTIPLEX_GRPC offer with false in field 7 (we do not speak yamux)", () => {
    expect(formatHandshakeLine({ ...base, multiplexBrokerAnswer: false })).toBe("1|5|unix|/tmp/plugin123|grpc|MIIB|false\n");
  });

  it("leaves field 6 empty without AutoMTLS", () => {
    expect(formatHandshakeLine({ ...base, serverCert: "", multiplexBrokerAnswer: undefined })).toBe(
      "1|5|unix|/tmp/plugin123|grpc|\n",
    );
  });
});

describe("magic cookie", () => {
  const cookie = { key: "VAULT_BACKEND_PLUGIN", value: "6669da05-b1c8-4f49-97d9-c8e5bed98e20" };
  it("accepts only the exact value", () => {
    expect(hasMagicCookie({ VAULT_BACKEND_PLUGIN: cookie.value }, cookie)).toBe(true);
    expect(hasMagicCookie({ VAULT_BACKEND_PLUGIN: `${cookie.value} ` }, cookie)).toBe(false);
    expect(hasMagicCookie({ VAULT_DATABASE_PLUGIN: cookie.value }, cookie)).toBe(false);
  });
});
