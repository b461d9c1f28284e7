import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { generatePluginCertificate } from "../host/cert.ts";
import { parseVaultApiTlsFlags, readWrappingClaims, unwrapPluginTls } from "./legacy-tls.ts";

function jwt(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
  return `${part({ alg: "ES512", typ: "JWT" })}.${part(claims)}.c2lnbmF0dXJl`;
}

describe("Vault API TLS flags from catalog args (Go flag syntax)", () => {
  it.each([
    { args: ["-ca-cert=/a.pem"], expected: { caCert: "/a.pem", tlsSkipVerify: false } },
    { args: ["--ca-cert", "/a.pem"], expected: { caCert: "/a.pem", tlsSkipVerify: false } },
    { args: ["-tls-skip-verify"], expected: { tlsSkipVerify: true } },
    { args: ["-tls-skip-verify=false"], expected: { tlsSkipVerify: false } },
    { args: ["--tls-skip-verify=T", "-client-cert=/c", "-client-key", "/k"], expected: { tlsSkipVerify: true, clientCert: "/c", clientKey: "/k" } },
    { args: ["-unknown-flag", "value", "-ca-path=/dir"], expected: { caPath: "/dir", tlsSkipVerify: false } },
    { args: ["stray", "-mystery=1"], expected: { tlsSkipVerify: false } },
  ])("$args", ({ args, expected }) => {
    expect(parseVaultApiTlsFlags(args)).toEqual(expected);
  });
});

describe("wrapping token claims", () => {
  it("reads addr without verifying the signature", () => {
    expect(readWrappingClaims(jwt({ addr: "https://vault:8200", type: "wrapping" })).addr).toBe("https://vault:8200");
  });

  it("explains api_addr when the token has no address", () => {
    expect(() => readWrappingClaims(jwt({ type: "wrapping" }))).toThrow(/api_addr/);
  });
});

describe("unwrapping the plugin's certificate", () => {
  let server: Server | undefined;
  afterEach(() => server?.close());

  async function fakeVault(handler: (token: string | undefined, body: string) => [number, unknown]): Promise<string> {
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk) => (body += chunk));
      req.on("end", () => {
        const token = req.headers["x-vault-token"];
        const [status, payload] =
          req.method === "PUT" && req.url === "/v1/sys/wrapping/unwrap"
            ? handler(typeof token === "string" ? token : undefined, body)
            : [404, { errors: [] }];
        res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(payload));
      });
    });
    await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(server?.address() as AddressInfo).port}`;
  }

  it("unwraps with the token in X-Vault-Token and returns the certificate, key and CN", async () => {
    const generated = generatePluginCertificate();
    const keyDer = generated.privateKey.export({ type: "sec1", format: "der" });
    let seen: { token?: string; body?: string } = {};
    const addr = await fakeVault((token, body) => {
      seen = { token, body };
      return [200, { data: { ServerCert: generated.certDer.toString("base64"), ServerKey: keyDer.toString("base64") } }];
    });
    const token = jwt({ addr });
    const tls = await unwrapPluginTls(token, { tlsSkipVerify: false });
    expect(seen).toEqual({ token, body: "null" });
    expect(tls.serverName).toBe("localhost");
    expect(tls.certPem).toBe(generated.certPem);
  });

  it("names an expired or used token without printing it", async () => {
    const addr = await fakeVault(() => [400, { errors: ["wrapping token is not valid or does not exist"] }]);
    const token = jwt({ addr, jti: "s.secretwrappingtoken" });
    const failure = unwrapPluginTls(token, { tlsSkipVerify: false });
    await expect(failure).rejects.toThrow(/HTTP 400: wrapping token is not valid or does not exist.*expired/);
    await expect(failure).rejects.not.toThrow(token);
  });

  it("names the unreachable address and api_addr, without the token", async () => {
    const token = jwt({ addr: "http://127.0.0.1:9" });
    const failure = unwrapPluginTls(token, { tlsSkipVerify: false }, 2_000);
    await expect(failure).rejects.toThrow(/could not reach Vault at http:\/\/127\.0\.0\.1:9.*api_addr/);
    await expect(failure).rejects.not.toThrow(token);
  });
});
