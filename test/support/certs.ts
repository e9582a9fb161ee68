// The one certificate maker for tests and tools: a throw-away self-signed certificate
// (its own CA) in pure Node, made by the same code as the executor's
// tls:SelfSignedCert (@peculiar/x509 over WebCrypto). No openssl process, no key on disk.
import { execFileSync } from "node:child_process";
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

export interface OpensslCertOptions {
  /** Subject CN; default `localhost`. */
  commonName?: string;
  /** The subjectAltName extension (`DNS:localhost,IP:127.0.0.1`); none when unset. */
  subjectAltName?: string;
  /** Default 2. */
  days?: number;
}

/**
 * The same kind of certificate from `openssl req -x509` (EC P-256), synchronously, for callers
 * that cannot await and for tests that want openssl's own output. openssl writes the key and
 * the certificate to stdout only: the key never touches the disk.
 */
export function opensslCert(options: OpensslCertOptions = {}): { cert: string; key: string; pem: string } {
  // biome-ignore format: argv, a flag and its value on one line
  const args = [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
    "-keyout", "-", "-out", "-",
    "-days", String(options.days ?? 2),
    "-subj", `/CN=${options.commonName ?? "localhost"}`,
    ...(options.subjectAltName ? ["-addext", `subjectAltName=${options.subjectAltName}`] : []),
  ];
  const out = execFileSync("openssl", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  const cert = out.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/)?.[0];
  const key = out.match(/-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----/)?.[0];
  if (!cert || !key) throw new Error("openssl req wrote no certificate and key");
  return { cert: `${cert}\n`, key: `${key}\n`, pem: `${cert}\n${key}\n` };
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
