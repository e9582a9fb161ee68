// Every password and key the stacks need, as Pulumi secrets: the operator's value
// when set with `pulumi config set --secret`, otherwise generated once by the random
// provider and kept in (encrypted) state.
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { SecretKey, SecretValueKey } from "../config";
import { EdgeCertificate } from "./edgeCertificate";

/** The content of an alert receiver's secret the operator did not set (never read: see `Secrets`). */
export const UNSET_ALERT_SECRET = "unset: this alert receiver is not configured";

export interface SecretsArgs {
  /** Operator-set values (from `flotilla:<key>` secret config); missing ones are generated. */
  readonly provided: Partial<Record<SecretKey, string>>;
  /** The address customers reach the site at: a subject alternative name of a generated certificate. */
  readonly publicAddress: pulumi.Input<string>;
  /** `haproxy.tlsNames`: further names of a generated certificate. */
  readonly tlsNames: readonly string[];
}

/**
 * The stacks' secrets (`flotilla:secrets:Secrets`): a RandomPassword (RandomBytes for
 * the gossip key, RandomUuid for the Consul ACL tokens) per secret the operator did not set,
 * and HAProxy's certificate (an EdgeCertificate: the operator's, or self-signed). Outputs
 * each secret, and `values`, all of them by key, the shape the stacks take whole.
 */
export class Secrets extends pulumi.ComponentResource {
  /** MariaDB root password. */
  readonly mysqlRootPassword: pulumi.Output<string>;
  /** Password of the application's MariaDB user. */
  readonly mysqlPassword: pulumi.Output<string>;
  /** HAProxy stats page password. */
  readonly statsPassword: pulumi.Output<string>;
  /** Consul gossip encryption key: 32 random bytes, base64. */
  readonly consulGossipKey: pulumi.Output<string>;
  /** Consul ACL tokens (SecretIDs, random UUIDs): initial management, servers, HAProxy's agent, webapp agents. */
  readonly consulMasterToken: pulumi.Output<string>;
  readonly consulAgentToken: pulumi.Output<string>;
  readonly consulHaproxyToken: pulumi.Output<string>;
  readonly consulWebappToken: pulumi.Output<string>;
  readonly consulPrometheusToken: pulumi.Output<string>;
  /** Password of HAProxy's read-only metrics user (`haproxy.metricsUser`). */
  readonly metricsPassword: pulumi.Output<string>;
  /** Password of Prometheus' UI user (`monitoring.user`). */
  readonly monitoringPassword: pulumi.Output<string>;
  /** Password of the MariaDB user the MySQL exporter connects as. */
  readonly mysqlExporterPassword: pulumi.Output<string>;
  /**
   * Alertmanager's SMTP password and the chat webhook's URL: the operator's, never
   * generated. Unset, each is UNSET_ALERT_SECRET (a Docker secret cannot be empty), which
   * nothing reads: the config check requires the real one wherever a receiver uses it.
   */
  readonly alertSmtpPassword: pulumi.Output<string>;
  readonly alertChatWebhookUrl: pulumi.Output<string>;
  /** HAProxy's certificate chain then its private key, one PEM (HAProxy's `crt` file). */
  readonly tlsPem: pulumi.Output<string>;
  /**
   * Key of the HMAC that names the Docker secrets (32 random bytes, base64): names then
   * reveal nothing about the values. Generated once; replacing it renames (and so rolls) every secret.
   */
  readonly secretNameKey: pulumi.Output<string>;
  /** HAProxy's certificate: whether self-signed, the public certificate, its end of validity. */
  readonly certificate: EdgeCertificate;
  /** Every secret by key (what the Stacks component takes). */
  readonly values: Readonly<Record<SecretValueKey, pulumi.Output<string>>>;

  constructor(name: string, args: SecretsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("flotilla:secrets:Secrets", name, {}, opts);

    type PasswordKey = Exclude<
      SecretKey,
      "tlsCertificate" | "tlsKey" | "alertSmtpPassword" | "alertChatWebhookUrl"
    >;
    const password = (key: PasswordKey, length: number): pulumi.Output<string> => {
      const given = args.provided[key];
      if (given !== undefined) return pulumi.secret(given);
      // Alphanumeric only: the values travel through env files and SQL.
      return new random.RandomPassword(`${name}-${key}`, { length, special: false }, { parent: this }).result;
    };

    this.mysqlRootPassword = password("mysqlRootPassword", 32);
    this.mysqlPassword = password("mysqlPassword", 32);
    this.statsPassword = password("statsPassword", 24);
    this.metricsPassword = password("metricsPassword", 24);
    this.monitoringPassword = password("monitoringPassword", 24);
    this.mysqlExporterPassword = password("mysqlExporterPassword", 32);
    this.alertSmtpPassword = pulumi.secret(args.provided.alertSmtpPassword ?? UNSET_ALERT_SECRET);
    this.alertChatWebhookUrl = pulumi.secret(args.provided.alertChatWebhookUrl ?? UNSET_ALERT_SECRET);
    this.consulGossipKey =
      args.provided.consulGossipKey !== undefined
        ? pulumi.secret(args.provided.consulGossipKey)
        : pulumi.secret(
            new random.RandomBytes(`${name}-consulGossipKey`, { length: 32 }, { parent: this }).base64,
          );

    // Consul creates each token with exactly this SecretID (see docs/discovery.md).
    const token = (key: PasswordKey): pulumi.Output<string> => {
      const given = args.provided[key];
      if (given !== undefined) return pulumi.secret(given);
      return pulumi.secret(
        new random.RandomUuid(`${name}-${key}`, {}, { parent: this, additionalSecretOutputs: ["result"] })
          .result,
      );
    };
    this.consulMasterToken = token("consulMasterToken");
    this.consulAgentToken = token("consulAgentToken");
    this.consulHaproxyToken = token("consulHaproxyToken");
    this.consulWebappToken = token("consulWebappToken");
    this.consulPrometheusToken = token("consulPrometheusToken");

    const { tlsCertificate, tlsKey } = args.provided;
    this.certificate = new EdgeCertificate(
      `${name}-edge`,
      {
        provided:
          tlsCertificate !== undefined && tlsKey !== undefined
            ? { certificate: tlsCertificate, key: tlsKey }
            : undefined,
        publicAddress: args.publicAddress,
        names: args.tlsNames,
      },
      { parent: this },
    );
    this.tlsPem = this.certificate.pem;
    this.secretNameKey = pulumi.secret(
      new random.RandomBytes(`${name}-secretNameKey`, { length: 32 }, { parent: this }).base64,
    );

    this.values = {
      mysqlRootPassword: this.mysqlRootPassword,
      mysqlPassword: this.mysqlPassword,
      statsPassword: this.statsPassword,
      consulGossipKey: this.consulGossipKey,
      consulMasterToken: this.consulMasterToken,
      consulAgentToken: this.consulAgentToken,
      consulHaproxyToken: this.consulHaproxyToken,
      consulWebappToken: this.consulWebappToken,
      consulPrometheusToken: this.consulPrometheusToken,
      metricsPassword: this.metricsPassword,
      monitoringPassword: this.monitoringPassword,
      mysqlExporterPassword: this.mysqlExporterPassword,
      alertSmtpPassword: this.alertSmtpPassword,
      alertChatWebhookUrl: this.alertChatWebhookUrl,
      tlsPem: this.tlsPem,
      secretNameKey: this.secretNameKey,
    };
    this.registerOutputs(this.values);
  }
}
