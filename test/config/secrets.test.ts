// The secrets the stacks get: each Docker secret target has a Secrets output, HAProxy's
// certificate is self-signed (for the public address and haproxy.tlsNames) or the
// operator's, the certificate pair is all-or-nothing, and no key appears in plaintext.
import { createHash, createHmac, randomBytes, X509Certificate } from "node:crypto";
import { describe, expect, it } from "vitest";
import { parseConfig, SECRET_VALUE_KEYS } from "../../components/config";
import { haproxyPem, Secrets, subjectAltNames } from "../../components/secrets";
import { SECRET_SOURCES, secretName } from "../../components/stacks";
import { opensslCert } from "../support/certs";
import { problemsOf } from "../support/config";
import { evaluate, evaluateStack, resolved, stackConfig } from "../support/pulumi";

/** A certificate and its key from openssl (no subjectAltName: the operator's own certificate). */
function opensslCertificate(days = 30, cn = "shop.example.org"): { certificate: string; key: string } {
  const { cert, key } = opensslCert({ days, commonName: cn });
  return { certificate: cert, key };
}

describe("secret targets and sources", () => {
  it("every Docker secret target reads a Secrets output, and every output is read by a target", () => {
    expect([...new Set(Object.values(SECRET_SOURCES))].sort()).toEqual(
      SECRET_VALUE_KEYS.filter((k) => k !== "secretNameKey").sort(),
    );
    expect(SECRET_SOURCES).toMatchObject({
      haproxy_tls_pem: "tlsPem",
      haproxy_metrics_password: "metricsPassword",
      prometheus_password: "monitoringPassword",
      mysql_exporter_password: "mysqlExporterPassword",
    });
  });

  it("subject alternative names: the public address as IP or DNS name, then haproxy.tlsNames, deduplicated", () => {
    expect(subjectAltNames("203.0.113.7", ["www.example.org", "example.org"])).toEqual({
      dnsNames: ["www.example.org", "example.org"],
      ipAddresses: ["203.0.113.7"],
    });
    expect(subjectAltNames("Shop.Example.org", ["shop.example.org"])).toEqual({
      dnsNames: ["shop.example.org"],
      ipAddresses: [],
    });
  });

  it("HAProxy's PEM is the chain, then the key, each once", () => {
    const { certificate, key } = opensslCertificate();
    const pem = haproxyPem(`${certificate}\n\n`, key);
    expect(pem.indexOf("BEGIN CERTIFICATE")).toBeLessThan(pem.indexOf("PRIVATE KEY"));
    expect(pem.endsWith("-----\n")).toBe(true);
    expect(new X509Certificate(pem).subject).toContain("shop.example.org");
  });
});

describe("Docker secret names: keyed, so they reveal nothing about the value", () => {
  const key = randomBytes(32).toString("base64");
  const other = randomBytes(32).toString("base64");

  it("same value, different key: different names; same key: the same name, every time", () => {
    const a = secretName("flotilla", "mysql_password", "correct horse battery staple", key);
    expect(secretName("flotilla", "mysql_password", "correct horse battery staple", key)).toBe(a);
    expect(secretName("flotilla", "mysql_password", "correct horse battery staple", other)).not.toBe(a);
    expect(a).toMatch(/^flotilla-mysql_password-[0-9a-f]{16}$/);
  });

  it("is not the plain SHA-256 of the value, and is HMAC-SHA256(key, target NUL value)", () => {
    const value = "hunter2";
    const name = secretName("flotilla", "haproxy_stats_password", value, key);
    const plain = createHash("sha256").update(value).digest("hex").slice(0, 16);
    expect(name.endsWith(plain)).toBe(false);
    const hmac = createHmac("sha256", key).update("haproxy_stats_password\0").update(value).digest("hex");
    expect(name).toBe(`flotilla-haproxy_stats_password-${hmac.slice(0, 16)}`);
  });

  it("equal values under two targets get unrelated names; a short key is refused", () => {
    const one = secretName("flotilla", "mysql_password", "same", key).split("-").pop();
    const two = secretName("flotilla", "mysql_root_password", "same", key).split("-").pop();
    expect(one).not.toBe(two);
    expect(() => secretName("flotilla", "mysql_password", "v", "short")).toThrow(
      /expected a name key of at least 32 characters/,
    );
  });

  it("the program generates the key (RandomBytes, secret) and names every deployed secret with it", async () => {
    const ev = await evaluateStack("dev");
    const keyResource = ev.one("random:index/randomBytes:RandomBytes", "secretNameKey");
    expect(keyResource.inputs.length).toBe(32);
    // The mock's RandomBytes base64 is 32 bytes of 7: the names in the documents use it.
    const mockKey = Buffer.alloc(32, 7).toString("base64");
    const deploys = ev
      .byType("command:local:Command")
      .map((c) => JSON.stringify(c.inputs))
      .join("\n");
    const expected = secretName("flotilla", "consul_gossip_key", mockKey, mockKey);
    expect(deploys).toContain(expected);
    const unkeyed = createHash("sha256").update(mockKey).digest("hex").slice(0, 16);
    expect(deploys).not.toContain(`consul_gossip_key-${unkeyed}`);
  });
});

describe("the certificate pair in the config", () => {
  const dev = (secrets: Record<string, string>) =>
    stackConfig("dev", Object.fromEntries(Object.entries(secrets).map(([k, v]) => [`flotilla:${k}`, v])));

  it("flotilla:tlsCertificate without flotilla:tlsKey is refused, naming the missing key", () => {
    const { certificate } = opensslCertificate();
    const problems = problemsOf(dev({ tlsCertificate: certificate }));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^flotilla:tlsKey: required when flotilla:tlsCertificate is set/);
  });

  it("flotilla:tlsKey without flotilla:tlsCertificate is refused, naming the missing key, never echoing the key", () => {
    const { key } = opensslCertificate();
    const problems = problemsOf(dev({ tlsKey: key }));
    expect(problems[0]).toMatch(/^flotilla:tlsCertificate: required when flotilla:tlsKey is set/);
    const body = key.split("\n")[1];
    for (const p of problems) expect(p).not.toContain(body);
  });

  it("a key that is not the certificate's, a non-PEM value and an expired certificate are refused", () => {
    const a = opensslCertificate();
    const b = opensslCertificate();
    const mismatch = problemsOf(dev({ tlsCertificate: a.certificate, tlsKey: b.key }));
    expect(mismatch[0]).toMatch(/^flotilla:tlsKey: expected the private key of the first certificate/);
    expect(mismatch[0]).not.toContain(b.key.split("\n")[1]);
    const garbage = problemsOf(dev({ tlsCertificate: "not a certificate", tlsKey: "hunter2hunter2" }));
    expect(garbage.map((p) => p.split(":").slice(0, 2).join(":")).sort()).toEqual([
      "flotilla:tlsCertificate",
      "flotilla:tlsKey",
    ]);
    for (const p of garbage) expect(p).not.toContain("hunter2");
  });

  it("a matching pair is accepted and kept apart from the config", () => {
    const { certificate, key } = opensslCertificate();
    const { secrets } = parseConfig(dev({ tlsCertificate: certificate, tlsKey: key }));
    expect(secrets.tlsCertificate).toBe(certificate);
    expect(secrets.tlsKey).toBe(key);
  });
});

describe("Secrets under Pulumi mocks", () => {
  it("without a certificate: an ECDSA P-256 key and a self-signed certificate for the address and names, all secret", async () => {
    let pem = "";
    let summary = "";
    const ev = await evaluate(async () => {
      const s = new Secrets("t", {
        provided: {},
        publicAddress: "203.0.113.9",
        tlsNames: ["shop.example.org"],
      });
      pem = await resolved(s.tlsPem);
      summary = await resolved(s.certificate.summary);
      expect(s.certificate.selfSigned).toBe(true);
      return undefined;
    });
    const key = ev.one("tls:index/privateKey:PrivateKey");
    expect(key.inputs).toMatchObject({ algorithm: "ECDSA", ecdsaCurve: "P256" });
    const cert = ev.one("tls:index/selfSignedCert:SelfSignedCert");
    expect(cert.inputs).toMatchObject({
      dnsNames: ["shop.example.org"],
      ipAddresses: ["203.0.113.9"],
      validityPeriodHours: 8760,
      allowedUses: expect.arrayContaining(["server_auth"]),
    });
    expect(cert.secretInputs).toContain("privateKeyPem");
    expect(ev.one("flotilla:secrets:EdgeCertificate").parent).toBe(ev.one("flotilla:secrets:Secrets").urn);
    // One PEM: the certificate (with the SANs asked for), then the key it was signed with.
    const x509 = new X509Certificate(pem);
    expect(x509.subjectAltName).toBe("DNS:shop.example.org, IP Address:203.0.113.9");
    expect(pem.indexOf("BEGIN CERTIFICATE")).toBeLessThan(pem.indexOf("PRIVATE KEY"));
    expect(summary).toMatch(
      /^self-signed for shop\.example\.org, 203\.0\.113\.9, valid until .*flotilla:tlsCertificate/,
    );
  });

  it("with the operator's certificate: no tls resources, the PEM is theirs, the summary names subject and expiry", async () => {
    const { certificate, key } = opensslCertificate(30, "www.example.org");
    let pem = "";
    let summary = "";
    const ev = await evaluate(async () => {
      const s = new Secrets("t", {
        provided: { tlsCertificate: certificate, tlsKey: key },
        publicAddress: "203.0.113.9",
        tlsNames: [],
      });
      expect(s.certificate.selfSigned).toBe(false);
      pem = await resolved(s.tlsPem);
      summary = await resolved(s.certificate.summary);
      return undefined;
    });
    expect(ev.byType("tls:index/privateKey:PrivateKey")).toHaveLength(0);
    expect(ev.byType("tls:index/selfSignedCert:SelfSignedCert")).toHaveLength(0);
    expect(pem).toBe(haproxyPem(certificate, key));
    expect(summary).toMatch(/CN=www\.example\.org, valid until \d{4}-\d\d-\d\dT/);
  });

  it("the program says in its outputs that the certificate is self-signed, for its public address", async () => {
    const ev = await evaluateStack("dev");
    expect(String(ev.outputs.tlsCertificate)).toMatch(/^self-signed for localhost, valid until /);
    expect(String(ev.outputs.tlsCertificatePem)).toMatch(/^-----BEGIN CERTIFICATE-----/);
    const cert = ev.one("tls:index/selfSignedCert:SelfSignedCert");
    expect(cert.inputs.dnsNames).toEqual(["localhost"]);
    expect(cert.secretInputs).toContain("privateKeyPem");
  });

  it("one of the pair alone stops the program before any resource is registered", async () => {
    const { certificate } = opensslCertificate();
    await expect(
      evaluateStack("dev", {
        overrides: { "flotilla:tlsCertificate": certificate },
        secretKeys: ["flotilla:tlsCertificate"],
      }),
    ).rejects.toThrow(/flotilla:tlsKey: required when flotilla:tlsCertificate is set/);
  });
});
