// How the main connection and brokered connections are secured. Under AutoMTLS
// both directions use one config: our certificate, and only the host's
// certificate (PLUGIN_CLIENT_CERT) trusted, with server name `localhost`.
import { X509Certificate } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import { ErrorCode, PluginError } from "../shared/errors.ts";
import { generatePluginCertificate, rawStdBase64 } from "./cert.ts";

export interface TransportSecurity {
  readonly kind: "auto-mtls" | "provided-tls" | "insecure";
  /** The handshake line's sixth field. */
  readonly handshakeCertificate: string;
  serverCredentials(): grpc.ServerCredentials;
  channelCredentials(): grpc.ChannelCredentials;
  channelOptions(): grpc.ChannelOptions;
}

interface MutualTlsMaterial {
  trustedPem: string;
  ownCertPem: string;
  ownKeyPem: string;
  serverName: string;
}

class MutualTls implements TransportSecurity {
  constructor(
    readonly kind: "auto-mtls" | "provided-tls",
    readonly handshakeCertificate: string,
    private readonly material: MutualTlsMaterial,
  ) {}

  serverCredentials(): grpc.ServerCredentials {
    const { trustedPem, ownCertPem, ownKeyPem } = this.material;
    // Passing our own root list is what keeps grpc-js from falling back to the
    // public CA store for client certificates (runtime.md §5.1).
    return grpc.ServerCredentials.createSsl(
      Buffer.from(trustedPem),
      [{ private_key: Buffer.from(ownKeyPem), cert_chain: Buffer.from(ownCertPem) }],
      true,
    );
  }

  channelCredentials(): grpc.ChannelCredentials {
    const { trustedPem, ownCertPem, ownKeyPem } = this.material;
    return grpc.credentials.createSsl(Buffer.from(trustedPem), Buffer.from(ownKeyPem), Buffer.from(ownCertPem));
  }

  channelOptions(): grpc.ChannelOptions {
    return {
      "grpc.ssl_target_name_override": this.material.serverName,
      "grpc.default_authority": this.material.serverName,
    };
  }
}

/** go-plugin AutoMTLS from the host's PEM. Fails closed on a missing or unusable certificate. */
export function autoMtls(hostCertPem: string | undefined): TransportSecurity {
  if (hostCertPem === undefined || hostCertPem.trim() === "") {
    throw new PluginError(ErrorCode.Tls, "PLUGIN_CLIENT_CERT is not set: refusing to serve without mutual TLS");
  }
  let hostCert: X509Certificate;
  try {
    hostCert = new X509Certificate(hostCertPem);
  } catch (error) {
    throw new PluginError(ErrorCode.Tls, "PLUGIN_CLIENT_CERT is not a parsable PEM certificate", { cause: error });
  }
  const own = generatePluginCertificate();
  return new MutualTls("auto-mtls", rawStdBase64(own.certDer), {
    trustedPem: hostCert.toString(),
    ownCertPem: own.certPem,
    ownKeyPem: own.keyPem,
    serverName: "localhost",
  });
}

/**
 * TLS from a certificate the host handed us (Vault's legacy wrapping-token flow):
 * the same certificate identifies both ends, and the server name is its CN.
 */
export function providedTls(certPem: string, keyPem: string, serverName: string): TransportSecurity {
  return new MutualTls("provided-tls", "", { trustedPem: certPem, ownCertPem: certPem, ownKeyPem: keyPem, serverName });
}

/** Plaintext, only for runs in which the host itself dials without TLS (metadata mode). */
export function insecureTransport(): TransportSecurity {
  return {
    kind: "insecure",
    handshakeCertificate: "",
    serverCredentials: () => grpc.ServerCredentials.createInsecure(),
    channelCredentials: () => grpc.credentials.createInsecure(),
    channelOptions: () => ({ "grpc.default_authority": "localhost" }),
  };
}
