// Names shared by the renderers, the deploy script's arguments and the components:
// stacks, services, overlay networks and keyed-hash Docker secret names. Which
// stacks exist, and what each one uses, is the catalog's (catalog.ts).
import { createHmac } from "node:crypto";
import type { SecretValueKey } from "../config";

/** The overlay networks: least privilege, each joined only by the services that need it. */
export const NETWORKS = ["edge", "data", "consul"] as const;
export type NetworkKey = (typeof NETWORKS)[number];

/**
 * Docker secret targets (file names under /run/secrets/ in the containers) and the
 * `Secrets` component output each one carries.
 */
export const SECRET_SOURCES = {
  mysql_root_password: "mysqlRootPassword",
  mysql_password: "mysqlPassword",
  haproxy_stats_password: "statsPassword",
  consul_gossip_key: "consulGossipKey",
  consul_master_token: "consulMasterToken",
  consul_agent_token: "consulAgentToken",
  consul_haproxy_token: "consulHaproxyToken",
  consul_webapp_token: "consulWebappToken",
  consul_prometheus_token: "consulPrometheusToken",
  haproxy_tls_pem: "tlsPem",
  haproxy_metrics_password: "metricsPassword",
  prometheus_password: "monitoringPassword",
  mysql_exporter_password: "mysqlExporterPassword",
  alertmanager_smtp_password: "alertSmtpPassword",
  alertmanager_chat_url: "alertChatWebhookUrl",
} as const satisfies Record<string, SecretValueKey>;
export type SecretTarget = keyof typeof SECRET_SOURCES;
export const SECRET_TARGETS = Object.keys(SECRET_SOURCES) as SecretTarget[];
/** The `Secrets` outputs the stacks read (each secret target's source). */
export type SecretSource = (typeof SECRET_SOURCES)[SecretTarget];

/** Default prefix of every Swarm object Flotilla creates (stacks, networks, secrets). */
export const DEFAULT_PREFIX = "flotilla";

/** The Swarm stack name of a catalog stack. */
export function stackName(prefix: string, stack: string): string {
  return `${prefix}-${stack}`;
}

/** The full Swarm service name (`<stack>_<service>`); each stack has one service named after it. */
export function serviceName(prefix: string, stack: string): string {
  return `${stackName(prefix, stack)}_${stack}`;
}

/** The Swarm name of an overlay network. */
export function networkName(prefix: string, network: NetworkKey): string {
  return `${prefix}-${network}`;
}

/** Characters of the HMAC-SHA256 hex digest kept in a secret's name. */
export const SECRET_HASH_LENGTH = 16;

/** Shortest name key accepted (the Secrets component's `secretNameKey` is 32 random bytes, base64). */
export const SECRET_NAME_KEY_MIN_LENGTH = 32;

/**
 * The Docker secret name for a value: `<prefix>-<target>-<first 16 hex of
 * HMAC-SHA256(key, target NUL value)>`. A new value is a new name, so a rotation makes
 * Swarm roll the services that use it (Docker secrets are immutable). Keyed with the
 * program's own random secret (`secretNameKey`), the name reveals nothing about the
 * value, not even to someone who can guess it (a plain hash of a guessable password,
 * shown in a preview or a PR comment, could be checked offline); equal values under
 * two targets get unrelated names.
 */
export function secretName(prefix: string, target: SecretTarget, value: string, key: string): string {
  if (key.length < SECRET_NAME_KEY_MIN_LENGTH)
    throw new Error(
      `secretName: expected a name key of at least ${SECRET_NAME_KEY_MIN_LENGTH} characters (the Secrets component's secretNameKey), got ${key.length}`,
    );
  const digest = createHmac("sha256", key)
    .update(`${target}\0`, "utf8")
    .update(value, "utf8")
    .digest("hex")
    .slice(0, SECRET_HASH_LENGTH);
  return `${secretFamily(prefix, target)}-${digest}`;
}

/**
 * The family of a secret target: its name without the content hash, which every version
 * of it shares (`<prefix>-<target>`). The deploy script labels each secret with it
 * (SECRET_LABEL), the removal finds every version by it.
 */
export function secretFamily(prefix: string, target: SecretTarget): string {
  return `${prefix}-${target}`;
}

/** The label every Flotilla-managed secret carries, so the deploy script prunes only its own. */
export const SECRET_LABEL = "flotilla.secret";
