// tls:index/privateKey:PrivateKey — the key pair from node:crypto, its OpenSSH forms
// written by sshpk (not by hand), outputs named and shaped as the tls provider's.
import { createHash, generateKeyPairSync, type KeyObject } from "node:crypto";
import sshpk from "sshpk";
import { type Handler, input } from "../types";

const CURVES: Record<string, string> = { P256: "prime256v1", P384: "secp384r1", P521: "secp521r1" };

export interface KeyMaterial {
  privateKeyPem: string;
  privateKeyPemPkcs8: string;
  privateKeyOpenssh: string;
  publicKeyPem: string;
  publicKeyOpenssh: string;
  publicKeyFingerprintMd5: string;
  publicKeyFingerprintSha256: string;
}

export function generateKey(inputs: Record<string, unknown>): KeyMaterial {
  const algorithm = input(inputs, "algorithm", "string") ?? "RSA";
  let pair: { privateKey: KeyObject; publicKey: KeyObject };
  let pemType: "pkcs1" | "sec1" | "pkcs8";
  if (algorithm === "ED25519") {
    pair = generateKeyPairSync("ed25519");
    pemType = "pkcs8";
  } else if (algorithm === "RSA") {
    const bits = input(inputs, "rsaBits", "number") ?? 2048;
    if (!Number.isInteger(bits) || bits < 1024)
      throw new Error(`input 'rsaBits': expected an integer >= 1024, got ${bits}`);
    pair = generateKeyPairSync("rsa", { modulusLength: bits });
    pemType = "pkcs1";
  } else if (algorithm === "ECDSA") {
    const curve = input(inputs, "ecdsaCurve", "string") ?? "P224";
    const named = CURVES[curve];
    if (!named)
      throw new Error(
        `input 'ecdsaCurve': the rehearsal supports ${Object.keys(CURVES).join(", ")}, got ${curve}`,
      );
    pair = generateKeyPairSync("ec", { namedCurve: named });
    pemType = "sec1";
  } else {
    throw new Error(`input 'algorithm': expected RSA, ECDSA or ED25519, got ${algorithm}`);
  }
  const privateKeyPemPkcs8 = String(pair.privateKey.export({ type: "pkcs8", format: "pem" }));
  const privateKeyPem = String(pair.privateKey.export({ type: pemType as "pkcs8", format: "pem" }));
  const publicKeyPem = String(pair.publicKey.export({ type: "spki", format: "pem" }));
  const key = sshpk.parsePrivateKey(privateKeyPemPkcs8, "pem");
  key.comment = "";
  const pub = key.toPublic();
  // "<type> <base64>\n" as the provider's MarshalAuthorizedKey writes it (no comment).
  const [kind, blob] = pub.toString("ssh").split(" ");
  const raw = Buffer.from(blob, "base64");
  return {
    privateKeyPem,
    privateKeyPemPkcs8,
    privateKeyOpenssh: String(key.toString("openssh")).replace(/\n*$/, "\n"),
    publicKeyPem,
    publicKeyOpenssh: `${kind} ${blob}\n`,
    publicKeyFingerprintMd5: (createHash("md5").update(raw).digest("hex").match(/../g) ?? []).join(":"),
    publicKeyFingerprintSha256: `SHA256:${createHash("sha256").update(raw).digest("base64").replace(/=+$/, "")}`,
  };
}

export const tlsPrivateKey: Handler = async (inputs) => {
  const key = generateKey(inputs);
  return {
    id: createHash("sha1").update(key.publicKeyPem).digest("hex"),
    outputs: { ...key },
    secretOutputs: ["privateKeyPem", "privateKeyPemPkcs8", "privateKeyOpenssh"],
  };
};
