import { X509Certificate } from "node:crypto";
import { describe, expect, it } from "vitest";
import { generatePluginCertificate, rawStdBase64 } from "./cert.ts";

describe("plugin AutoMTLS certificate", () => {
  it("is accepted by a strict DER parser every time (serial encoding is random)", () => {
    for (let attempt = 0; attempt < 300; attempt += 1) {
      const generated = generatePluginCertificate();
      const certificate = new X509Certificate(generated.certDer);
      expect(BigInt(`0x${certificate.serialNumber}`) > 0n).toBe(true);
      expect(certificate.checkPrivateKey(generated.privateKey)).toBe(true);
    }
  });

  it("has the shape the Go host verifies: SAN localhost, both EKUs, CA, self-signed, valid now", () => {
    const now = new Date();
    const certificate = new X509Certificate(generatePluginCertificate(now).certDer);
    expect(certificate.subjectAltName).toBe("DNS:localhost");
    expect(certificate.keyUsage).toEqual(expect.arrayContaining(["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"]));
    expect(certificate.ca).toBe(true);
    expect(certificate.verify(certificate.publicKey)).toBe(true);
    expect(certificate.checkHost("localhost")).toBe("localhost");
    expect(new Date(certificate.validFrom).getTime()).toBeLessThanOrEqual(now.getTime() - 29_000);
    expect(new Date(certificate.validTo).getFullYear()).toBeGreaterThanOrEqual(now.getFullYear() + 29);
  });

  it("encodes the handshake field as unpadded standard base64 that decodes to the DER", () => {
    const generated = generatePluginCertificate();
    const field = rawStdBase64(generated.certDer);
    expect(field).not.toMatch(/[=\s]/);
    expect(Buffer.from(field, "base64").equals(generated.certDer)).toBe(true);
  });
});
