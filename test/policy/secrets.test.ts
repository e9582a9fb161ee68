// secret-inputs-are-secret: plaintext secret-looking inputs are turned into secrets by the
// pack's remediation (validation cannot see secretness: the SDK unwraps secrets there).
import { describe, expect, it } from "vitest";
import { isSecretLookingName } from "../../policy/secrets";
import { isSecretValue, remediate, secret, UNKNOWN } from "./harness";

const POLICY = "secret-inputs-are-secret";

describe("secret-inputs-are-secret", () => {
  it.each([
    ["password", true],
    ["MYSQL_ROOT_PASSWORD", true],
    ["keepalivedPassword", true],
    ["consulGossipKey", true],
    ["metricsPassword", true],
    ["monitoringPassword", true],
    ["mysqlExporterPassword", true],
    ["tlsKey", true],
    ["privateKey", true],
    ["apiToken", true],
    ["clientSecret", true],
    ["passphrase", true],
    ["sshPublicKey", false],
    ["publicKey", false],
    ["hostKey", false],
    ["keyPair", false],
    ["MYSQL_PASSWORD_FILE", false],
    ["secretName", false],
    ["key", false],
    ["statsUser", false],
  ])("%s looks secret: %s", (name, expected) => {
    expect(isSecretLookingName(name)).toBe(expected);
  });

  it("leaves a resource whose secrets are secrets untouched", async () => {
    const props = {
      create: "docker stack deploy -c - db",
      connection: {
        host: "10.42.0.5",
        user: "debian",
        privateKey: secret("-----BEGIN OPENSSH PRIVATE KEY-----"),
      },
      environment: {
        MYSQL_ROOT_PASSWORD: secret("s3cret-s3cret"),
        MYSQL_PASSWORD_FILE: "/run/secrets/mysql",
      },
    };
    expect(await remediate({ type: "command:remote:Command", props })).toEqual([]);
  });

  it("turns plaintext secret-looking inputs into secrets, at any depth", async () => {
    const props = {
      create: "true",
      connection: { host: "10.42.0.5", user: "debian", privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----" },
      environment: { MYSQL_ROOT_PASSWORD: "plaintext-password", MYSQL_USER: "flotilla" },
    };
    const rs = await remediate({ type: "command:remote:Command", props });
    expect(rs.map((r) => r.policy)).toEqual([POLICY]);
    const out = rs[0].properties as {
      connection: Record<string, unknown>;
      environment: Record<string, unknown>;
      create: unknown;
    };
    expect(isSecretValue(out.connection.privateKey)).toBe(true);
    expect(isSecretValue(out.environment.MYSQL_ROOT_PASSWORD)).toBe(true);
    // Everything else is passed through unchanged.
    expect(out.connection.host).toBe("10.42.0.5");
    expect(out.environment.MYSQL_USER).toBe("flotilla");
    expect(out.create).toBe("true");
  });

  it("treats a Docker secret's data as a secret", async () => {
    const rs = await remediate({
      type: "docker:index/secret:Secret",
      props: { name: "mysql-root-1a2b", data: "cGxhaW4=" },
    });
    expect(rs).toHaveLength(1);
    expect(isSecretValue(rs[0].properties.data)).toBe(true);
    expect(
      await remediate({ type: "docker:index/secret:Secret", props: { name: "x", data: secret("cGxhaW4=") } }),
    ).toEqual([]);
  });

  it("treats a self-signed certificate's private key PEM as a secret", async () => {
    const rs = await remediate({
      type: "tls:index/selfSignedCert:SelfSignedCert",
      props: {
        privateKeyPem: "-----BEGIN PRIVATE KEY-----\nMIG...\n-----END PRIVATE KEY-----\n",
        validityPeriodHours: 8760,
      },
    });
    expect(rs).toHaveLength(1);
    expect(isSecretValue(rs[0].properties.privateKeyPem)).toBe(true);
    expect(rs[0].properties.validityPeriodHours).toBe(8760);
  });

  it("ignores values unknown during preview and empty values", async () => {
    expect(
      await remediate({
        type: "command:local:Command",
        props: { environment: { TOKEN: UNKNOWN, PASSWORD: "" } },
      }),
    ).toEqual([]);
  });
});
