// The one certificate maker for tests and tools: a throw-away self-signed certificate
// (its own CA) in pure Node, made by the same code as the executor's
// tls:SelfSignedCert (@peculiar/x509 over WebCrypto). No openssl process, no key on disk.
import { generateKeyPairSync, X509Certificate } from "node:crypto";
import { selfSignedCertificate } from "../../tools/executor/handlers/tlsSelfSignedCert";

export interface TestCert {
  /** The certificate (PEM): also the CA a client trusts. */
  cert: string;
  /** Its private key (PKCS#8 PEM). */
  key: string;
  /** Certificate then key: HAProxy's `crt` file, the haproxy_tls_pem secret's format. */
  pem: string;
  /** SHA-256 fingerprint as Node prints it (AA:BB:...). */
  fingerprint: string;
}

export interface CertOptions {
  /** Subject CN; default `localhost`. */
  commonName?: string;
  /** Default `localhost`. */
  dnsNames?: string[];
  /** Default `127.0.0.1`. */
  ipAddresses?: string[];
  /** Default 2. */
  days?: number;
}

/** A fresh EC P-256 certificate for a TLS server, self-signed, valid from now. */
export async function makeCert(options: CertOptions = {}): Promise<TestCert> {
  const key = String(
    generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey.export({
      type: "pkcs8",
      format: "pem",
    }),
  );
  const { certPem: cert } = await selfSignedCertificate({
    privateKeyPem: key,
    validityPeriodHours: 24 * (options.days ?? 2),
    subject: { commonName: options.commonName ?? "localhost" },
    dnsNames: options.dnsNames ?? ["localhost"],
    ipAddresses: options.ipAddresses ?? ["127.0.0.1"],
    // What `openssl req -x509` gives: a CA that can also serve TLS.
    isCaCertificate: true,
    allowedUses: ["digital_signature", "key_encipherment", "cert_signing", "server_auth"],
    setSubjectKeyId: true,
  });
  return { cert, key, pem: cert + key, fingerprint: new X509Certificate(cert).fingerprint256 };
}

/** The first certificate block of PEM text (the edge's tlsPem, or `openssl s_client -showcerts` output). */
export function certificateOf(pem: string): string {
  const cert = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/)?.[0];
  if (!cert) throw new Error("no certificate in the PEM");
  return cert;
}

/** SHA-256 fingerprint (Node's AA:BB:... form) of the first certificate in PEM text. */
export function pemFingerprint(text: string): string {
  return new X509Certificate(certificateOf(text)).fingerprint256;
}
