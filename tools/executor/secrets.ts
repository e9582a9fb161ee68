// Secret values seen during a run (secret config, secret inputs, secret outputs), and
// the masking applied to every text the executor prints or puts in an error.
import * as pulumi from "@pulumi/pulumi";

export const MASK = "[secret]";

/** PEM certificate blocks: public, never masked. */
const CERTIFICATES = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** Whether a value is the Pulumi runtime's wire form of a secret (`{<sig>: <secret sig>, value}`). */
export function isSecretWrapper(value: unknown): value is { value: unknown } {
  return (
    !!value &&
    typeof value === "object" &&
    (value as Record<string, unknown>)[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig
  );
}

/** Wrap a value so the runtime marks the output secret, as a provider's secret output is. */
export function secretWrapper(value: unknown): Record<string, unknown> {
  return { [pulumi.runtime.specialSigKey]: pulumi.runtime.specialSecretSig, value };
}

/**
 * Unwrap secrets in a value from the runtime: returns the plain value, and calls `found`
 * with every string leaf that was inside a secret, plus the top-level key it sat under.
 */
export function unwrap(
  value: unknown,
  found?: (leaf: string, topKey: string, nested: boolean) => void,
  topKey = "",
  inSecret: false | "direct" | "nested" = false,
): unknown {
  if (isSecretWrapper(value)) {
    const inner = value.value;
    const kind = inner !== null && typeof inner === "object" ? "nested" : "direct";
    return unwrap(inner, found, topKey, inSecret || kind);
  }
  if (Array.isArray(value)) return value.map((v) => unwrap(v, found, topKey, inSecret));
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = unwrap(v, found, topKey || k, inSecret);
    return out;
  }
  if (inSecret && found && value !== undefined && value !== null)
    found(String(value), topKey, inSecret === "nested");
  return value;
}

/** The set of secret strings of one run; `mask` replaces each (and its base64 form, and each long line of a multi-line one). */
export class SecretMask {
  private readonly values = new Set<string>();

  /**
   * Add a secret value. `nested`: a leaf of a secret object (a `connection` whose private key
   * made it all secret): its short parts (user, port, host) are not masked.
   */
  add(value: unknown, nested = false): void {
    if (typeof value !== "string" && typeof value !== "number") return;
    const text = String(value);
    // Certificates and public keys are public even inside a secret (the edge's PEM is its
    // certificate chain then its key; a key resource's outputs carry its public half): only
    // the rest is masked, or the certificate output would come out with holes in it.
    const publicPem = /-----BEGIN (CERTIFICATE|PUBLIC KEY)-----[\s\S]*?-----END \1-----\n?/g;
    if (publicPem.test(text)) {
      const rest = text.replace(publicPem, "");
      if (rest.trim()) this.add(rest, nested);
      return;
    }
    // Very short values (a port, "true") would mask ordinary text and protect nothing.
    if (text.length < (nested ? 12 : 6)) return;
    // Addresses and public keys are not secrets, even inside a secret object.
    if (
      /^[0-9.:[\]]+$/.test(text) ||
      /^(ssh-|ecdsa-|sk-)[a-z0-9-@.]+ [A-Za-z0-9+/]+=*( [^\n]*)?\n?$/.test(text)
    )
      return;
    this.values.add(text);
    this.values.add(Buffer.from(text, "utf8").toString("base64"));
    const trimmed = text.trim();
    if (trimmed !== text && trimmed.length >= 6) this.values.add(trimmed);
    for (const line of text.split("\n")) if (line.trim().length >= 16) this.values.add(line.trim());
  }

  /** Whether a text contains any known secret. */
  reveals(text: string): boolean {
    const plain = text.replace(CERTIFICATES, "");
    for (const v of this.values) if (plain.includes(v)) return true;
    return false;
  }

  /**
   * Every known secret in `text` replaced by the mask, certificates excepted: a private
   * key's PEM lines hold its public point, which a certificate for that key repeats, so a
   * line of the key could punch a hole in the (public) certificate.
   */
  mask(text: string): string {
    let out = "";
    let last = 0;
    for (const m of text.matchAll(CERTIFICATES)) {
      out += this.maskPlain(text.slice(last, m.index)) + m[0];
      last = m.index + m[0].length;
    }
    return out + this.maskPlain(text.slice(last));
  }

  private maskPlain(text: string): string {
    // Longest first, so a value is masked whole before any of its lines or parts.
    const sorted = [...this.values].sort((a, b) => b.length - a.length);
    let out = text;
    for (const v of sorted) if (out.includes(v)) out = out.split(v).join(MASK);
    return out;
  }

  get size(): number {
    return this.values.size;
  }
}
