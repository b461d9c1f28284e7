// The plugin's one-time AutoMTLS certificate, shaped as go-plugin's generateCert
// makes it (SAN localhost, serverAuth+clientAuth, CA, positive serial), because
// the Go host verifies it as a server on the main connection and as a client on
// brokered connections. We use P-256 instead of go-plugin's P-521: the host only
// pins the leaf, and P-256 is ~15x cheaper to make (runtime.md §4.3).
import { createPrivateKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from "node:crypto";
import * as asn1 from "asn1js";

const OID = {
  ecdsaWithSha256: "1.2.840.10045.4.3.2",
  organization: "2.5.4.10",
  commonName: "2.5.4.3",
  basicConstraints: "2.5.29.19",
  keyUsage: "2.5.29.15",
  extKeyUsage: "2.5.29.37",
  subjectAltName: "2.5.29.17",
  serverAuth: "1.3.6.1.5.5.7.3.1",
  clientAuth: "1.3.6.1.5.5.7.3.2",
} as const;

/** go-plugin: NotBefore = now - 30 s, NotAfter = now + 262 980 h. */
const NOT_BEFORE_SKEW_MS = 30_000;
const LIFETIME_MS = 262_980 * 3600 * 1000;

export interface GeneratedCertificate {
  certDer: Buffer;
  certPem: string;
  keyPem: string;
  privateKey: KeyObject;
}

export function generatePluginCertificate(now: Date = new Date()): GeneratedCertificate {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const spki = asn1.fromBER(publicKey.export({ type: "spki", format: "der" }));
  if (spki.offset === -1) throw new Error("could not encode the generated public key");

  const name = distinguishedName("HashiCorp", "localhost");
  const algorithm = new asn1.Sequence({ value: [new asn1.ObjectIdentifier({ value: OID.ecdsaWithSha256 })] });
  const tbs = new asn1.Sequence({
    value: [
      new asn1.Constructed({ idBlock: { tagClass: 3, tagNumber: 0 }, value: [new asn1.Integer({ value: 2 })] }),
      new asn1.Integer({ valueHex: positiveSerial() }),
      algorithm,
      name,
      new asn1.Sequence({
        value: [
          certificateTime(new Date(now.getTime() - NOT_BEFORE_SKEW_MS)),
          certificateTime(new Date(now.getTime() + LIFETIME_MS)),
        ],
      }),
      name,
      spki.result,
      new asn1.Constructed({ idBlock: { tagClass: 3, tagNumber: 3 }, value: [extensions()] }),
    ],
  });
  const tbsDer = Buffer.from(tbs.toBER());
  const signature = sign("sha256", tbsDer, privateKey);
  const certificate = new asn1.Sequence({
    value: [tbs, algorithm, new asn1.BitString({ valueHex: signature })],
  });
  const certDer = Buffer.from(certificate.toBER());
  return {
    certDer,
    certPem: toPem("CERTIFICATE", certDer),
    keyPem: privateKey.export({ type: "sec1", format: "pem" }).toString(),
    privateKey,
  };
}

/** The handshake's sixth field: standard base64 without padding (Go RawStdEncoding). */
export function rawStdBase64(der: Uint8Array): string {
  return Buffer.from(der).toString("base64").replace(/=+$/, "");
}

export function toPem(label: string, der: Uint8Array): string {
  const body = Buffer.from(der).toString("base64").replace(/.{1,64}/g, "$&\n");
  return `-----BEGIN ${label}-----\n${body}-----END ${label}-----\n`;
}

/**
 * Go ≥ 1.23 rejects negative serials, and DER forbids a redundant leading zero
 * byte: so the first byte has its top bit clear and is never zero.
 */
function positiveSerial(): ArrayBuffer {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] as number) & 0x7f || 0x01;
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
}

/** RFC 5280 §4.1.2.5: UTCTime before 2050, GeneralizedTime after, whole seconds only. */
function certificateTime(date: Date): asn1.UTCTime | asn1.GeneralizedTime {
  const whole = new Date(Math.floor(date.getTime() / 1000) * 1000);
  return whole.getUTCFullYear() < 2050
    ? new asn1.UTCTime({ valueDate: whole })
    : new asn1.GeneralizedTime({ valueDate: whole });
}

function distinguishedName(organization: string, commonName: string): asn1.Sequence {
  const attribute = (oid: string, value: string) =>
    new asn1.Set({
      value: [new asn1.Sequence({ value: [new asn1.ObjectIdentifier({ value: oid }), new asn1.Utf8String({ value })] })],
    });
  return new asn1.Sequence({ value: [attribute(OID.organization, organization), attribute(OID.commonName, commonName)] });
}

function extension(oid: string, critical: boolean, value: asn1.BaseBlock): asn1.Sequence {
  return new asn1.Sequence({
    value: [
      new asn1.ObjectIdentifier({ value: oid }),
      ...(critical ? [new asn1.Boolean({ value: true })] : []),
      new asn1.OctetString({ valueHex: value.toBER() }),
    ],
  });
}

function extensions(): asn1.Sequence {
  // digitalSignature(0) keyEncipherment(2) keyAgreement(4) keyCertSign(5): 1010 1100, 2 unused bits.
  const keyUsageBits = new asn1.BitString({ valueHex: new Uint8Array([0xac]).buffer, unusedBits: 2 });
  const dnsLocalhost = new asn1.Primitive({
    idBlock: { tagClass: 3, tagNumber: 2 },
    valueHex: new TextEncoder().encode("localhost").buffer,
  });
  return new asn1.Sequence({
    value: [
      extension(OID.basicConstraints, true, new asn1.Sequence({ value: [new asn1.Boolean({ value: true })] })),
      extension(OID.keyUsage, true, keyUsageBits),
      extension(
        OID.extKeyUsage,
        false,
        new asn1.Sequence({
          value: [new asn1.ObjectIdentifier({ value: OID.clientAuth }), new asn1.ObjectIdentifier({ value: OID.serverAuth })],
        }),
      ),
      extension(OID.subjectAltName, false, new asn1.Sequence({ value: [dnsLocalhost] })),
    ],
  });
}

/** Re-reads a PEM key, for callers that hold only text. */
export function privateKeyFromPem(pem: string): KeyObject {
  return createPrivateKey(pem);
}
