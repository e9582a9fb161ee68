// tls:index/selfSignedCert:SelfSignedCert — an X.509 certificate encoded by @peculiar/x509
// (not by hand) and signed with the input key through WebCrypto; inputs and outputs
// named and shaped as the tls provider's.
import "reflect-metadata"; // @peculiar/x509's dependency injection needs the polyfill first
import { createPrivateKey, createPublicKey, randomBytes, webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";
import { type Handler, input, requireInput } from "../types";

x509.cryptoProvider.set(webcrypto as never);

const CURVES: Record<string, string> = { prime256v1: "P-256", secp384r1: "P-384", secp521r1: "P-521" };
const CURVE_HASH: Record<string, string> = { "P-256": "SHA-256", "P-384": "SHA-384", "P-521": "SHA-512" };

/** The provider's `allowedUses` values: key usage bits, then extended key usages. */
const KEY_USAGES: Record<string, x509.KeyUsageFlags> = {
  digital_signature: x509.KeyUsageFlags.digitalSignature,
  content_commitment: x509.KeyUsageFlags.nonRepudiation,
  key_encipherment: x509.KeyUsageFlags.keyEncipherment,
  data_encipherment: x509.KeyUsageFlags.dataEncipherment,
  key_agreement: x509.KeyUsageFlags.keyAgreement,
  cert_signing: x509.KeyUsageFlags.keyCertSign,
  crl_signing: x509.KeyUsageFlags.cRLSign,
  encipher_only: x509.KeyUsageFlags.encipherOnly,
  decipher_only: x509.KeyUsageFlags.decipherOnly,
};
const EXTENDED_USAGES: Record<string, string> = {
  server_auth: x509.ExtendedKeyUsage.serverAuth,
  client_auth: x509.ExtendedKeyUsage.clientAuth,
  code_signing: x509.ExtendedKeyUsage.codeSigning,
  email_protection: x509.ExtendedKeyUsage.emailProtection,
  timestamping: x509.ExtendedKeyUsage.timeStamping,
  ocsp_signing: x509.ExtendedKeyUsage.ocspSigning,
};

/** Subject fields as the provider names them, to their X.500 attribute names. */
const SUBJECT_FIELDS: [string, string][] = [
  ["country", "C"],
  ["province", "ST"],
  ["locality", "L"],
  ["organization", "O"],
  ["organizationalUnit", "OU"],
  ["commonName", "CN"],
  ["serialNumber", "serialNumber"],
];

function stringList(inputs: Record<string, unknown>, key: string): string[] {
  const v = inputs[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((s) => typeof s !== "string"))
    throw new Error(`input '${key}': expected a list of strings`);
  return v as string[];
}

/** Provider time format: RFC 3339 without fractions. */
function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d+Z$/, "Z");
}

export interface SelfSignedCertificate {
  certPem: string;
  validityStartTime: string;
  validityEndTime: string;
  readyForRenewal: boolean;
  keyAlgorithm: string;
  serial: string;
}

/** The certificate the tls provider's SelfSignedCert would make from these inputs. */
export async function selfSignedCertificate(
  inputs: Record<string, unknown>,
  now: Date = new Date(),
): Promise<SelfSignedCertificate> {
  const keyPem = requireInput(inputs, "privateKeyPem", "string");
  let privateKey: ReturnType<typeof createPrivateKey>;
  try {
    privateKey = createPrivateKey(keyPem);
  } catch {
    throw new Error("input 'privateKeyPem': expected a PEM private key that parses");
  }
  const hours = requireInput(inputs, "validityPeriodHours", "number");
  if (!Number.isInteger(hours) || hours < 1)
    throw new Error(`input 'validityPeriodHours': expected a positive integer, got ${hours}`);
  const earlyRenewal = input(inputs, "earlyRenewalHours", "number") ?? 0;
  const uses = stringList(inputs, "allowedUses");
  for (const u of uses)
    if (!(u in KEY_USAGES) && !(u in EXTENDED_USAGES))
      throw new Error(`input 'allowedUses': unknown use '${u}'`);

  // The signing algorithm follows the key, as the provider's does.
  let algorithm: webcrypto.RsaHashedImportParams | webcrypto.EcKeyImportParams | webcrypto.Algorithm;
  let signing: webcrypto.Algorithm & { hash?: string };
  let keyAlgorithm: string;
  const type = privateKey.asymmetricKeyType;
  if (type === "ec") {
    const curve = CURVES[String(privateKey.asymmetricKeyDetails?.namedCurve)];
    if (!curve) throw new Error("input 'privateKeyPem': an EC key on P-256, P-384 or P-521 is supported");
    algorithm = { name: "ECDSA", namedCurve: curve };
    signing = { name: "ECDSA", hash: CURVE_HASH[curve] };
    keyAlgorithm = "ECDSA";
  } else if (type === "rsa") {
    algorithm = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
    signing = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
    keyAlgorithm = "RSA";
  } else if (type === "ed25519") {
    algorithm = { name: "Ed25519" };
    signing = { name: "Ed25519" };
    keyAlgorithm = "ED25519";
  } else {
    throw new Error(`input 'privateKeyPem': expected an RSA, ECDSA or ED25519 key, got ${type}`);
  }
  const subtle = webcrypto.subtle;
  const keys = {
    privateKey: await subtle.importKey(
      "pkcs8",
      privateKey.export({ type: "pkcs8", format: "der" }),
      algorithm,
      false,
      ["sign"],
    ),
    publicKey: await subtle.importKey(
      "spki",
      createPublicKey(privateKey).export({ type: "spki", format: "der" }),
      algorithm,
      true,
      ["verify"],
    ),
  };

  const subject = (inputs.subject ?? {}) as Record<string, unknown>;
  const name = SUBJECT_FIELDS.filter(([field]) => typeof subject[field] === "string" && subject[field] !== "")
    .map(([field, attr]) => `${attr}=${String(subject[field]).replace(/([,+"\\<>;=])/g, "\\$1")}`)
    .join(", ");
  const altNames: x509.JsonGeneralName[] = [
    ...stringList(inputs, "dnsNames").map((value) => ({ type: "dns" as const, value })),
    ...stringList(inputs, "ipAddresses").map((value) => ({ type: "ip" as const, value })),
    ...stringList(inputs, "uris").map((value) => ({ type: "url" as const, value })),
  ];
  const isCa = input(inputs, "isCaCertificate", "boolean") ?? false;
  const keyUsage = uses.reduce((bits, u) => bits | (KEY_USAGES[u] ?? 0), 0);
  const extended = uses.filter((u) => u in EXTENDED_USAGES).map((u) => EXTENDED_USAGES[u]);
  const extensions: x509.Extension[] = [new x509.BasicConstraintsExtension(isCa, undefined, true)];
  if (keyUsage) extensions.push(new x509.KeyUsagesExtension(keyUsage, true));
  if (extended.length) extensions.push(new x509.ExtendedKeyUsageExtension(extended));
  if (altNames.length) extensions.push(new x509.SubjectAlternativeNameExtension(altNames));
  if (input(inputs, "setSubjectKeyId", "boolean"))
    extensions.push(await x509.SubjectKeyIdentifierExtension.create(keys.publicKey));

  const notBefore = new Date(Math.floor(now.getTime() / 1000) * 1000);
  const notAfter = new Date(notBefore.getTime() + hours * 3600_000);
  // A positive 128-bit serial, as the provider draws it.
  const serialBytes = randomBytes(16);
  serialBytes[0] &= 0x7f;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialBytes.toString("hex"),
    name,
    notBefore,
    notAfter,
    keys,
    signingAlgorithm: signing,
    extensions,
  });
  const renewAt = notAfter.getTime() - earlyRenewal * 3600_000;
  return {
    certPem: `${cert.toString("pem").replace(/\r\n/g, "\n").trim()}\n`,
    validityStartTime: rfc3339(notBefore),
    validityEndTime: rfc3339(notAfter),
    readyForRenewal: now.getTime() >= renewAt,
    keyAlgorithm,
    serial: BigInt(`0x${serialBytes.toString("hex")}`).toString(10),
  };
}

export const tlsSelfSignedCert: Handler = async (inputs, ctx) => {
  const { serial, ...cert } = await selfSignedCertificate(inputs, ctx.now());
  // The provider's id is the certificate's serial number (decimal); nothing in it is secret.
  return { id: serial, outputs: { ...cert } };
};
