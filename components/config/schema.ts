// The whole program's configuration: one zod schema, parsed once at start-up, holding
// every cross-field rule (components keep only invariant asserts). Pure module (no
// Pulumi imports) so it is unit-tested without mocks and can emit the JSON Schema that
// editors use to validate Pulumi.<stack>.yaml.
import { z } from "zod";
import { ADMIN_ADDRESSES_MAX, ADMIN_PREFIX_MIN, cidrUnionSize } from "./cidr";

/** The Pulumi config namespace (the project name): keys are `flotilla:<key>`. */
export const NAMESPACE = "flotilla";

/**
 * Secret keys, set with `pulumi config set --secret flotilla:<key>`. They never go
 * through the schema (a parse error must not echo a password); when unset, the
 * Secrets component generates them (`tlsCertificate` and `tlsKey`, PEM, go together:
 * without them the program generates a self-signed certificate).
 */
export const SECRET_KEYS = [
  "mysqlRootPassword",
  "mysqlPassword",
  "statsPassword",
  "consulGossipKey",
  "consulMasterToken",
  "consulAgentToken",
  "consulHaproxyToken",
  "consulWebappToken",
  "consulPrometheusToken",
  "metricsPassword",
  "monitoringPassword",
  "mysqlExporterPassword",
  "alertSmtpPassword",
  "alertChatWebhookUrl",
  "tlsCertificate",
  "tlsKey",
] as const;
export type SecretKey = (typeof SECRET_KEYS)[number];

/** Secret keys never generated: unset, the receiver that would use one is refused (alertingSecretProblems). */
export const OPTIONAL_SECRET_KEYS: readonly SecretKey[] = ["alertSmtpPassword", "alertChatWebhookUrl"];

/** What each secret key is, for the JSON Schema and the config reference (docs/config.md). */
export const SECRET_DESCRIPTIONS: Readonly<Record<SecretKey, string>> = {
  mysqlRootPassword: "MariaDB root password; generated (32 characters) when unset.",
  mysqlPassword: "Password of the application's MariaDB user (`mysql.user`); generated when unset.",
  statsPassword: "HAProxy stats page password (`haproxy.statsUser`); generated when unset.",
  consulGossipKey:
    "Consul gossip encryption key: 32 bytes in base64 (`consul keygen`); generated when unset.",
  consulMasterToken: "Consul initial management ACL token (a UUID); generated when unset.",
  consulAgentToken: "Consul servers' agent ACL token (a UUID); generated when unset.",
  consulHaproxyToken: "ACL token of HAProxy's Consul agent (a UUID); generated when unset.",
  consulWebappToken: "ACL token of the webapp's Consul agents (a UUID); generated when unset.",
  consulPrometheusToken:
    "Read-only ACL token Prometheus scrapes Consul's metrics with (a UUID, policy flotilla-prometheus); generated when unset.",
  metricsPassword:
    "Password of HAProxy's read-only metrics user (`haproxy.metricsUser`); generated when unset.",
  monitoringPassword: "Prometheus UI password (`monitoring.user`); generated when unset.",
  mysqlExporterPassword:
    "Password of the MariaDB user the metrics exporter connects as; generated when unset.",
  alertSmtpPassword:
    "Password Alertmanager logs in to `monitoring.alerting.email.smarthost` with (as `email.username`); required with that username, never generated.",
  alertChatWebhookUrl:
    "Slack-compatible incoming webhook URL (Slack, Mattermost, Rocket.Chat: the URL carries the token) for `monitoring.alerting.chat`; required when chat is enabled, never generated.",
  tlsCertificate:
    "HAProxy's certificate chain (PEM, server certificate first), with `tlsKey`: both or neither. Unset: a self-signed certificate for the public address and `haproxy.tlsNames` is generated (stack output `tlsCertificate` says so).",
  tlsKey: "Private key (unencrypted PEM) of `tlsCertificate`; both or neither.",
};

/**
 * The Secrets component's outputs the stacks read: every secret key but the certificate
 * pair, which becomes `tlsPem` (chain then key, one PEM file as HAProxy's `crt` reads it),
 * and `secretNameKey`, the random key of the Docker secret names' HMAC (never a secret's
 * content: it names them).
 */
export const SECRET_VALUE_KEYS = [
  ...SECRET_KEYS.filter(
    (k): k is Exclude<SecretKey, "tlsCertificate" | "tlsKey"> => k !== "tlsCertificate" && k !== "tlsKey",
  ),
  "tlsPem",
  "secretNameKey",
] as const;
export type SecretValueKey = Exclude<SecretKey, "tlsCertificate" | "tlsKey"> | "tlsPem" | "secretNameKey";

/** Quorum sizes: an odd count keeps a majority through one (or two) failures. */
const quorumCount = (what: string) =>
  z
    .int({ error: `expected a whole number of ${what}` })
    .refine((n) => n === 1 || n === 3 || n === 5 || n === 7, {
      error: `expected an odd number of ${what} (1, 3, 5 or 7) so a majority survives a failure`,
    });

const count = (what: string, max: number) =>
  z
    .int({ error: `expected a whole number of ${what}` })
    .min(0, { error: `expected zero or more ${what}` })
    .max(max, { error: `expected at most ${max} ${what}` });

const port = z
  .int({ error: "expected a TCP port number" })
  .min(1, { error: "expected a TCP port from 1 to 65535" })
  .max(65535, { error: "expected a TCP port from 1 to 65535" });

const cidr = z.cidrv4({ error: "expected an IPv4 CIDR such as 10.0.0.0/24" });
const name = z
  .string({ error: "expected a name" })
  .regex(/^[a-z][a-z0-9_-]{0,62}$/, { error: "expected a lower-case name: letters, digits, '-' or '_'" });
const nonEmpty = (what: string) =>
  z.string({ error: `expected ${what}` }).min(1, { error: `expected ${what}` });

/** A Linux login name that is not root (the nodes are reached and administered through sudo). */
const loginUser = name.refine((u) => u !== "root", {
  error: "expected a login user other than root (root logins over SSH stay disabled; the user has sudo)",
});

/** MariaDB accounts the application user must not be: MariaDB's own, and Flotilla's exporter. */
export const RESERVED_MYSQL_USERS = [
  "root",
  "mysql",
  "mariadb.sys",
  "exporter",
] as const satisfies readonly string[];
const RESERVED_MYSQL_USERS_LIST: readonly string[] = RESERVED_MYSQL_USERS;

/** Host directories a data path must not be, nor lie under: the system's and the Docker engine's. */
export const FORBIDDEN_DATA_PATHS = [
  "/etc",
  "/usr",
  "/bin",
  "/sbin",
  "/lib",
  "/lib64",
  "/boot",
  "/dev",
  "/proc",
  "/sys",
  "/run",
  "/var/lib/docker",
] as const;

/** Why a host path cannot hold the MySQL data directory, or undefined when it can. */
export function dataPathProblem(path: string): string | undefined {
  const segments = path.split("/").filter((s) => s !== "");
  if (segments.some((s) => s === ".." || s === "."))
    return "expected a path without '.' or '..' segments (the path is created and mounted as written)";
  if (segments.length === 0) return "expected a directory of its own, not / itself";
  const normal = `/${segments.join("/")}`;
  const under = FORBIDDEN_DATA_PATHS.find((d) => normal === d || normal.startsWith(`${d}/`));
  if (under)
    return `expected a path outside ${under} (a system or Docker engine directory), such as /srv/flotilla/mysql`;
  return undefined;
}

/** OCI tag grammar. */
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
/** Registry host (DNS name, IPv4 or localhost), optional port, optional lower-case repository path. */
const REGISTRY =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(?::[0-9]{1,5})?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
/** A full image reference: [registry/]path[:tag][@digest]. */
const IMAGE_REFERENCE =
  /^(?:(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]{1,5})?|localhost(?::[0-9]{1,5})?)\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$/;

const swarmSchema = z.strictObject({
  managers: quorumCount("Swarm managers").default(1).describe("Swarm managers (Raft quorum): 1, 3, 5 or 7."),
  workers: count("Swarm workers", 50)
    .default(0)
    .describe("Swarm workers, load-balancer and database nodes included."),
  loadBalancerNodes: count("load-balancer nodes", 10)
    .default(2)
    .describe("How many workers are load-balancer nodes (label `lb`: HAProxy and keepalived)."),
  bootstrapManager: count("the manager's index", 6)
    .default(0)
    .describe(
      "Index of the manager (`manager-<n>`) that made the Swarm, hands out join tokens, labels nodes and runs the stack deploys. Move it to another manager before replacing this one's VM (docs/upgrades.md).",
    ),
  deployWaitSeconds: z
    .number({ error: "expected a whole number of seconds" })
    .int({ error: "expected a whole number of seconds" })
    .min(60, { error: "expected at least 60 seconds" })
    .max(3600, { error: "expected at most 3600 seconds" })
    .default(300)
    .describe(
      "Seconds each stack's deploy waits for its services to converge before `up` fails, per Galera member rolled in turn. Raise it where nodes pull images slowly or share few cores (the lab).",
    ),
});

const consulSchema = z.strictObject({
  servers: quorumCount("Consul servers").default(1).describe("Consul servers (Raft quorum): 1, 3, 5 or 7."),
  datacenter: name.default("dc1").describe("Consul datacenter name."),
});

const webappSchema = z.strictObject({
  replicas: z
    .int({ error: "expected a whole number of webapp replicas" })
    .min(1, { error: "expected at least 1 webapp replica (with none, HAProxy has nothing to serve)" })
    .max(100, { error: "expected at most 100 webapp replicas" })
    .default(2)
    .describe(
      "Webapp replicas behind HAProxy (1 to 100; HAProxy's backend slots follow: max(10, 2 × replicas)).",
    ),
  port: port.default(8080).describe("Port the webapp listens on inside its container."),
  drainSeconds: z
    .int()
    .min(1)
    .max(300)
    .default(10)
    .describe("Seconds a stopping replica has to drain in-flight requests."),
});

/**
 * Per client address limits at HAProxy's public frontend (docs/edge.md, "Per-source
 * limits"). The defaults let many users share one address (an office or carrier NAT)
 * and stop one source from flooding: 1000 requests in 10 s is 100 req/s sustained, far
 * above a person's page views, and caps the session rows one source makes Galera
 * replicate; 200 connections at once is 200 browsers (one HTTP/2 connection each) behind
 * one address, and one source can hold at most 5 % of HAProxy's `maxconn 4096`.
 */
const rateLimitSchema = z.strictObject({
  enabled: z
    .boolean({ error: "expected true or false" })
    .optional()
    .describe(
      "Limit requests and connections per client address. Unset: on where HAProxy sees each client's own address (`openstack`, `lab`), off on `local` (clients on the machine reach it through Docker's port proxy, all from one address: a per-source limit would be site-wide), where true is refused.",
    ),
  requestsPer10s: z
    .int({ error: "expected a whole number of requests" })
    .min(0, { error: "expected 0 (no request limit) or more requests" })
    .max(1000000, { error: "expected at most 1000000 requests per 10 s" })
    .default(1000)
    .describe(
      "Requests one client address may send in any 10 s (all paths); beyond it HAProxy answers 429 with `Retry-After: 10` until its rate falls back. 0: no request limit.",
    ),
  connections: z
    .int({ error: "expected a whole number of connections" })
    .min(0, { error: "expected 0 (no connection limit) or more connections" })
    .max(4096, { error: "expected at most 4096 connections (HAProxy's maxconn: more could never be open)" })
    .default(200)
    .describe(
      "Connections one client address may hold open at once; a connection beyond it is closed before TLS. 0: no connection limit.",
    ),
});

const haproxySchema = z.strictObject({
  httpPort: port.default(80).describe("Public HTTP port published on the load-balancer nodes."),
  httpsPort: port
    .default(443)
    .describe(
      "Public HTTPS port on the load-balancer nodes: TLS ends at HAProxy with `flotilla:tlsCertificate`/`tlsKey`, or a generated self-signed certificate when unset.",
    ),
  redirectHttp: z
    .boolean({ error: "expected true or false" })
    .default(true)
    .describe("Answer plain HTTP with a permanent redirect to HTTPS (false serves the site on both)."),
  hstsMaxAge: z
    .int({ error: "expected a whole number of seconds" })
    .min(0, { error: "expected 0 (no HSTS header) or more seconds" })
    .max(63072000, { error: "expected at most 63072000 seconds (two years)" })
    .default(31536000)
    .describe("`Strict-Transport-Security` max-age on HTTPS responses, in seconds; 0 sends no header."),
  tlsNames: z
    .array(
      z
        .string({ error: "expected a DNS name" })
        .regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/, {
          error: "expected a lower-case DNS name such as www.example.org",
        }),
    )
    .default([])
    .describe(
      "DNS names the site answers to: the subject alternative names of the generated certificate, beside the public address.",
    ),
  statsPort: port.default(8404).describe("HAProxy stats page port (admin CIDRs only, password protected)."),
  statsUser: name.default("admin").describe("HAProxy stats page user name."),
  metricsUser: name
    .default("metrics")
    .describe("Read-only user for HAProxy's Prometheus metrics on the stats port (`/metrics`)."),
  rateLimit: rateLimitSchema
    .prefault({})
    .describe("Per client address limits on the public ports (not the stats, metrics or health ports)."),
});

const mysqlSchema = z.strictObject({
  nodes: quorumCount("MariaDB members")
    .default(1)
    .describe(
      "MariaDB members: 1 (a single server) or 3, 5 or 7 (a Galera cluster, one member per `db` node; docs/galera.md).",
    ),
  backupIntervalMinutes: z
    .int({ error: "expected a whole number of minutes" })
    .min(0, { error: "expected 0 (no scheduled backups) or more minutes" })
    .max(10080, { error: "expected at most 10080 minutes (a week)" })
    .default(1440)
    .describe("Minutes between scheduled mariadb-backup backups into the backup volume; 0 turns them off."),
  backupKeep: z
    .int({ error: "expected a whole number of backups" })
    .min(1, { error: "expected at least 1 backup kept" })
    .max(365, { error: "expected at most 365 backups kept" })
    .default(7)
    .describe("How many scheduled backups the backup volume keeps (the oldest go first)."),
  database: name.default("flotilla").describe("Application database name."),
  user: name
    .refine((u) => !RESERVED_MYSQL_USERS_LIST.includes(u), {
      error: `expected an application user other than ${RESERVED_MYSQL_USERS.map((u) => `'${u}'`).join(", ")} (MariaDB's own and Flotilla's exporter accounts; the application gets privileges on its database only)`,
    })
    .default("flotilla")
    .describe(
      "Application user (privileges on the application database only; not root, mysql, mariadb.sys or exporter).",
    ),
  dataPath: z
    .string()
    .regex(/^\/[A-Za-z0-9._/-]*$/, { error: "expected an absolute path" })
    .superRefine((p, ctx) => {
      const problem = dataPathProblem(p);
      if (problem) ctx.addIssue({ code: "custom", message: problem, input: p });
    })
    .default("/srv/flotilla/mysql")
    .describe(
      "Host path of the MySQL data directory on the `db` node (the Cinder volume mount on OpenStack).",
    ),
  volumeSizeGb: z
    .int()
    .min(1, { error: "expected at least 1 GiB" })
    .max(16384)
    .default(20)
    .describe("Size of the Cinder data volume in GiB (OpenStack only)."),
});

const keepalivedSchema = z.strictObject({
  enabled: z
    .boolean({ error: "expected true or false" })
    .default(false)
    .describe(
      "Run keepalived for a virtual IP in front of the HAProxy nodes (needs two or more `lb` nodes).",
    ),
  virtualRouterId: z
    .int()
    .min(1)
    .max(255)
    .default(51)
    .describe("VRRP virtual router id, unique on the network segment."),
});

const accessSchema = z.strictObject({
  adminCidrs: z
    .array(cidr)
    .min(1, { error: "expected at least one admin CIDR" })
    .default(["127.0.0.1/32"])
    .describe("CIDRs allowed to SSH to the bastion and to reach the HAProxy stats page."),
  clientCidrs: z
    .array(cidr)
    .min(1, { error: "expected at least one client CIDR" })
    .default(["0.0.0.0/0"])
    .describe("CIDRs allowed to reach the public HTTP and HTTPS ports."),
  allowWorldAdmin: z
    .boolean({ error: "expected true or false" })
    .default(false)
    .describe(
      "Allow admin CIDRs broader than a /8 (`0.0.0.0/0`, a prefix under /8, or a list admitting more than a /8 in all; refused otherwise: SSH and admin pages for that much of the internet).",
    ),
});

const loggingSchema = z.strictObject({
  maxSize: z
    .string({ error: "expected a size such as 10m" })
    .regex(/^[1-9][0-9]*[kmg]$/, { error: "expected a size such as 10m (a number with k, m or g)" })
    .default("10m")
    .describe("Largest container log file before the Docker engine rotates it (`log-opts.max-size`)."),
  maxFile: z
    .int({ error: "expected a whole number of files" })
    .min(1, { error: "expected at least 1 log file" })
    .max(100, { error: "expected at most 100 log files" })
    .default(3)
    .describe("Rotated container log files the Docker engine keeps (`log-opts.max-file`)."),
  syslogAddress: z
    .string({ error: "expected a syslog address" })
    .regex(/^(udp|tcp|tcp\+tls):\/\/[A-Za-z0-9.-]+:[0-9]{1,5}$/, {
      error: "expected a syslog address such as udp://10.0.0.5:514 (udp, tcp or tcp+tls)",
    })
    .optional()
    .describe(
      "Ship HAProxy's and the webapp's access logs to this syslog collector as well (unset: engine logs only).",
    ),
});

/** A Prometheus duration as the monitoring image accepts it (images/prometheus/.../prometheus-setup). */
const promDuration = z
  .string({ error: "expected a duration such as 15s or 1m" })
  .regex(/^[1-9][0-9]*(ms|s|m|h)$/, {
    error: "expected a duration such as 15s or 1m (a number, then ms, s, m or h)",
  });

/** A duration in milliseconds (`promDuration` syntax), for comparing two of them. */
export function durationMs(d: string): number {
  const m = /^([0-9]+)(ms|s|m|h)$/.exec(d);
  if (!m) throw new Error(`durationMs: not a duration: '${d}'`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as "ms" | "s" | "m" | "h"];
}

/**
 * A URL Alertmanager posts to. No whitespace, quotes, backslashes or commas: the image
 * takes the list comma-separated and writes each into YAML between double quotes.
 */
const alertUrl = z.string({ error: "expected an http:// or https:// URL" }).regex(/^https?:\/\/[^\s",\\]+$/, {
  error: "expected an http:// or https:// URL without spaces, quotes, backslashes or commas",
});
const emailAddress = z
  .string({ error: "expected an e-mail address" })
  .regex(/^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$/, {
    error: "expected an e-mail address such as ops@example.org",
  });
/** A Prometheus label name (what Alertmanager groups by). */
const labelName = z
  .string({ error: "expected a label name" })
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: "expected a label name such as alertname or service" });

const alertEmailSchema = z.strictObject({
  smarthost: z
    .string({ error: "expected host:port" })
    .regex(/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?:[0-9]{1,5}$/, {
      error: "expected the SMTP server as host:port, such as smtp.example.org:587",
    })
    .describe(
      "SMTP server (`host:port`) Alertmanager sends through (STARTTLS unless `requireTls` is false).",
    ),
  from: emailAddress.describe("Sender address of the alert e-mails."),
  to: z
    .array(emailAddress)
    .min(1, { error: "expected at least one recipient" })
    .max(20, { error: "expected at most 20 recipients" })
    .describe("Recipients of every alert e-mail."),
  username: z
    .string({ error: "expected a user name" })
    .regex(/^[A-Za-z0-9._%+@-]{1,128}$/, {
      error: "expected a user name of letters, digits and . _ % + @ - (at most 128)",
    })
    .optional()
    .describe(
      "SMTP login (its password is the secret `flotilla:alertSmtpPassword`, then required); unset: no SMTP authentication.",
    ),
  requireTls: z
    .boolean({ error: "expected true or false" })
    .default(true)
    .describe(
      "Refuse to send unless the server offers STARTTLS (false only for a relay on a trusted network).",
    ),
});

const alertChatSchema = z.strictObject({
  enabled: z
    .boolean({ error: "expected true or false" })
    .default(false)
    .describe(
      "Post alerts to a Slack-compatible incoming webhook; its URL (it carries the token) is the secret `flotilla:alertChatWebhookUrl`, then required.",
    ),
  channel: z
    .string({ error: "expected a channel name" })
    .regex(/^[#@]?[A-Za-z0-9._-]{1,80}$/, {
      error: "expected a channel such as #ops (letters, digits, . _ -)",
    })
    .optional()
    .describe("Channel to post in (unset: the webhook's own channel)."),
});

/**
 * Where Alertmanager delivers, and how it groups. Alerts are grouped by alert name and
 * service (one notification for every lost replica of a service, not one each), and
 * the inhibition rules (the image's alertmanager-setup) keep the alerts a bigger one
 * implies quiet: a node down, a service's critical alert, a missing Galera member.
 */
const alertingSchema = z
  .strictObject({
    webhooks: z
      .array(alertUrl)
      .max(10, { error: "expected at most 10 webhook URLs" })
      .default([])
      .describe(
        "URLs every notification is POSTed to (Alertmanager's webhook JSON, resolved notifications too). A URL with a token in it belongs in `alertChatWebhookUrl` instead: these are plain config.",
      ),
    email: alertEmailSchema
      .optional()
      .describe("E-mail over SMTP (unset: no e-mail). Resolved notifications are sent too."),
    chat: alertChatSchema
      .prefault({})
      .describe("A Slack-compatible chat webhook (Slack, Mattermost, Rocket.Chat)."),
    groupBy: z
      .array(labelName)
      .min(1, { error: "expected at least one label (alertname, service)" })
      .default(["alertname", "service"])
      .describe(
        "Labels that make one notification group: every alert with the same values goes out together.",
      ),
    groupWait: promDuration
      .default("30s")
      .describe("How long a new group waits for more alerts before its first notification."),
    groupInterval: promDuration
      .default("5m")
      .describe(
        "How long a group waits before notifying again about a change (a new alert in it, or a resolution).",
      ),
    repeatInterval: promDuration
      .default("4h")
      .describe("How often a group that is still firing, unchanged, is notified again."),
  })
  .superRefine((a, ctx) => {
    if (durationMs(a.repeatInterval) < durationMs(a.groupInterval))
      ctx.addIssue({
        code: "custom",
        path: ["repeatInterval"],
        message: `expected at least groupInterval (${a.groupInterval}): a reminder cannot come sooner than a group's next notification`,
        input: a.repeatInterval,
      });
  });

const monitoringSchema = z.strictObject({
  enabled: z
    .boolean({ error: "expected true or false" })
    .default(true)
    .describe(
      "Run the monitoring stack: Prometheus scraping HAProxy, Consul, the webapp and MariaDB, with alert rules.",
    ),
  port: port
    .default(9090)
    .describe("Port of Prometheus' UI on the manager (admin CIDRs only, password protected)."),
  user: name.default("admin").describe("Prometheus UI user name."),
  retentionDays: z
    .int({ error: "expected a whole number of days" })
    .min(1, { error: "expected at least 1 day" })
    .max(365, { error: "expected at most 365 days" })
    .default(15)
    .describe("Days of metrics Prometheus keeps."),
  scrapeInterval: promDuration
    .default("15s")
    .describe("How often Prometheus scrapes every target (a Prometheus duration: 5s, 15s, 1m)."),
  alertFor: promDuration
    .default("1m")
    .describe(
      "How long a condition must hold before its alert fires (every rule's `for:`); shorter alerts sooner and flaps more.",
    ),
  alerting: alertingSchema
    .prefault({})
    .describe(
      "Alertmanager: receivers (webhooks, e-mail, a chat webhook), grouping and inhibition; 2 clustered replicas on multi-node targets, 1 on `local` (docs/monitoring.md).",
    ),
});

const imagesSchema = z.strictObject({
  registry: z
    .string({ error: "expected a registry address" })
    .regex(REGISTRY, {
      error:
        "expected a registry as host[:port][/path] (e.g. registry.example.com:5000/flotilla), lower-case, no scheme or tag",
    })
    .optional()
    .describe("Registry the images are pushed to (required on OpenStack so every node can pull them)."),
  baseImage: z
    .string({ error: "expected an image reference" })
    .regex(IMAGE_REFERENCE, {
      error:
        "expected an image reference such as debian:trixie-slim or registry.example.com/debian@sha256:<64 hex>",
    })
    .default("debian:trixie-slim")
    .describe("Base image of every Flotilla image."),
  consulSource: z
    .enum(["hashicorp", "debian-archive"], { error: "expected 'hashicorp' or 'debian-archive'" })
    .optional()
    .describe(
      "Where the Consul binary comes from: HashiCorp's release (checksummed; default on `openstack`), or Debian's archived package (offline; default elsewhere). See docs/discovery.md.",
    ),
  consulVersion: z
    .string()
    .regex(/^\d+\.\d+\.\d+$/, { error: "expected a version such as 1.20.2" })
    .optional()
    .describe("Consul version: default 1.21.0 from HashiCorp, 1.8.7 (the only one) from Debian's archive."),
  version: z
    .string({ error: "expected a version label" })
    .regex(TAG, {
      error:
        "expected an image tag: letters, digits, '_', '.' or '-', at most 128, not starting with '.' or '-'",
    })
    .default("0.1.0")
    .describe("Version label baked into the images and shown by the webapp."),
});

const openstackSchema = z.strictObject({
  externalNetwork: nonEmpty("the external network name").describe(
    "Name of the external (provider) network that floating IPs come from.",
  ),
  image: nonEmpty("a Glance image name").describe(
    "Glance image name for every VM (a Debian or Ubuntu cloud image).",
  ),
  flavors: z
    .strictObject({
      bastion: nonEmpty("a flavor name").describe("Nova flavor of the bastion."),
      manager: nonEmpty("a flavor name").describe("Nova flavor of the Swarm managers."),
      worker: nonEmpty("a flavor name").describe(
        "Nova flavor of the Swarm workers (load-balancer and database nodes included).",
      ),
    })
    .describe("Nova flavors per role."),
  subnetCidr: cidr.default("10.42.0.0/24").describe("CIDR of the private cluster subnet Flotilla creates."),
  existingNetwork: z
    .string()
    .min(1)
    .optional()
    .describe("Use an existing private network (by name) instead of creating one."),
  dnsNameservers: z
    .array(z.ipv4({ error: "expected an IPv4 address" }))
    .default([])
    .describe("DNS servers handed to the private subnet."),
  sshPublicKey: z
    .string({ error: "expected an OpenSSH public key" })
    .regex(/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp\d+) [A-Za-z0-9+/=]+( .*)?$/, {
      error: "expected an OpenSSH public key ('ssh-ed25519 AAAA...')",
    })
    .describe("Public SSH key of the operator, installed on the bastion and every node."),
  sshUser: loginUser.default("debian").describe("Login user of the cloud image (not root)."),
  connection: z
    .enum(["jump", "direct"], { error: "expected 'jump' or 'direct'" })
    .default("jump")
    .describe(
      "How `pulumi up` reaches the nodes: through the bastion as jump host, or directly (run on the bastion).",
    ),
  availabilityZone: z
    .string()
    .min(1)
    .optional()
    .describe("Availability zone for VMs and volumes (the cloud's default when unset)."),
  volumeType: z
    .string()
    .min(1)
    .optional()
    .describe("Cinder volume type for the MySQL data volume (the cloud's default when unset)."),
});

const labSchema = z.strictObject({
  subnetCidr: cidr
    .refine((c) => Number(c.split("/")[1]) <= 24, {
      error: "expected a subnet of /24 or larger (a /24 holds the lab's address plan)",
    })
    .default("10.213.0.0/24")
    .describe("Subnet of the lab's Docker network (the nodes' \"private network\"); /24 or larger."),
  sshPort: port
    .default(2222)
    .describe("Port on 127.0.0.1 where the lab bastion's SSH answers (the lab's \"floating IP\")."),
  registryPort: port
    .default(5000)
    .describe("Port on 127.0.0.1 where the lab's image registry answers (images are pushed there)."),
  sshUser: loginUser
    .default("debian")
    .describe("Login user on the lab's bastion and nodes (made by cloud-init; not root)."),
});

/** The only Consul version Debian's archive has (bullseye's package): `consulSource: debian-archive` builds it. */
export const DEBIAN_ARCHIVE_CONSUL_VERSION = "1.8.7";

/** The official release `consulSource: hashicorp` builds by default (docs/discovery.md: supported versions). */
export const HASHICORP_CONSUL_VERSION = "1.21.0";

/**
 * The Consul build for a config: `images.consulSource`/`consulVersion` when set, else by
 * target: a current official release on `openstack` (its nodes reach HashiCorp's
 * releases), Debian's archived 1.8.7 elsewhere (offline: dev, tests, the lab).
 */
export function consulBuild(c: {
  readonly target: string;
  readonly images: {
    readonly consulSource?: "hashicorp" | "debian-archive";
    readonly consulVersion?: string;
  };
}): { source: "hashicorp" | "debian-archive"; version: string } {
  const source = c.images.consulSource ?? (c.target === "openstack" ? "hashicorp" : "debian-archive");
  const version =
    c.images.consulVersion ??
    (source === "hashicorp" ? HASHICORP_CONSUL_VERSION : DEBIAN_ARCHIVE_CONSUL_VERSION);
  return { source, version };
}

/** What a target provides, as far as the cross-field rules below care. */
export interface TargetTraits {
  /** One line for the `target` key's description. */
  readonly description: string;
  /** The config section only this target reads (required with it, refused without it), with a hint of its keys. */
  readonly section?: { readonly key: "openstack" | "lab"; readonly hint: string };
  /** Managers, workers and `lb`/`db` nodes as `swarm.*` says (not a one-node Swarm). */
  readonly multiNode: boolean;
  /** A virtual IP exists that keepalived can move between the `lb` nodes. */
  readonly virtualIp: boolean;
  /**
   * HAProxy sees each client's own address (host-mode ports reached from other machines),
   * so a per-source limit (`haproxy.rateLimit`) limits one source, not the whole site.
   */
  readonly clientAddresses: boolean;
  /** Images are pushed to `images.registry`, where every node pulls them. */
  readonly pushesImages: boolean;
  /** The target runs its own registry for the images (`images.registry` must stay unset). */
  readonly ownRegistry?: boolean;
}

/** Every target: adding one is one entry here (and its component in components/<target>/). */
export const TARGETS = {
  local: {
    description: "the local Docker engine (one-node Swarm)",
    multiNode: false,
    virtualIp: false,
    clientAddresses: false,
    pushesImages: false,
  },
  openstack: {
    description: "an OpenStack cloud",
    section: { key: "openstack", hint: "externalNetwork, image, flavors, sshPublicKey" },
    multiNode: true,
    virtualIp: true,
    clientAddresses: true,
    pushesImages: true,
  },
  lab: {
    description:
      "the helion topology rehearsed on the local Docker engine, each node a container that boots like a VM",
    section: { key: "lab", hint: "subnetCidr, sshPort, registryPort" },
    multiNode: true,
    virtualIp: true,
    clientAddresses: true,
    pushesImages: false,
    ownRegistry: true,
  },
} as const satisfies Record<string, TargetTraits>;
export type Target = keyof typeof TARGETS;
const TARGET_NAMES = Object.keys(TARGETS) as [Target, ...Target[]];

/** `'a' or 'b'`, `'a', 'b' or 'c'`. */
function oneOf(values: readonly string[]): string {
  const quoted = values.map((v) => `'${v}'`);
  return quoted.length < 2 ? quoted.join("") : `${quoted.slice(0, -1).join(", ")} or ${quoted.at(-1)}`;
}

const baseSchema = z.strictObject({
  target: z
    .enum(TARGET_NAMES, { error: `expected ${oneOf(TARGET_NAMES)}` })
    .default("local")
    .describe(
      `Where the stack lands: ${TARGET_NAMES.map((t) => `\`${t}\`, ${TARGETS[t].description}`).join("; ")}.`,
    ),
  swarm: swarmSchema
    .prefault({})
    .describe("Swarm cluster shape (multi-node targets; `local` is always a one-node Swarm)."),
  consul: consulSchema.prefault({}).describe("Consul servers that the webapp and HAProxy agents join."),
  webapp: webappSchema.prefault({}).describe("The web application service."),
  haproxy: haproxySchema.prefault({}).describe("The HAProxy load balancer in front of the webapp."),
  mysql: mysqlSchema.prefault({}).describe("The MariaDB (MySQL-compatible) service and its data."),
  keepalived: keepalivedSchema
    .prefault({})
    .describe("keepalived: a virtual IP moving between the HAProxy nodes."),
  access: accessSchema.prefault({}).describe("Who may reach what (security groups on OpenStack)."),
  logging: loggingSchema.prefault({}).describe("Container log rotation and shipping."),
  monitoring: monitoringSchema
    .prefault({})
    .describe("The monitoring stack (Prometheus, its alert rules, Alertmanager)."),
  images: imagesSchema.prefault({}).describe("How the Docker images are built and where they are pushed."),
  openstack: openstackSchema
    .optional()
    .describe("OpenStack cloud settings; required when target is `openstack`."),
  lab: labSchema.optional().describe("Lab settings; required when target is `lab`."),
});

type RawConfig = z.infer<typeof baseSchema>;
type Issue = { path: (string | number)[]; message: string; input: unknown };

/**
 * Every rule that relates two or more keys, once. Each names the key to fix; the
 * components rely on them and keep only asserts that no config can trip.
 */
export function crossFieldIssues(c: RawConfig): Issue[] {
  const issues: Issue[] = [];
  const traits: TargetTraits = TARGETS[c.target];
  for (const [target, other] of Object.entries(TARGETS) as [Target, TargetTraits][]) {
    const section = other.section;
    if (!section) continue;
    if (target === c.target && !c[section.key])
      issues.push({
        path: [section.key],
        message: `required when target is '${target}' (${section.hint})`,
        input: undefined,
      });
    if (target !== c.target && c[section.key] && traits.section?.key !== section.key)
      issues.push({
        path: ["target"],
        message: `is '${c.target}' but an '${section.key}' section is set: set target to '${target}' or remove the section`,
        input: c.target,
      });
  }
  if (traits.ownRegistry && c.images.registry)
    issues.push({
      path: ["images", "registry"],
      message: `expected no registry when target is '${c.target}': it runs its own registry and pushes the images there`,
      input: c.images.registry,
    });
  if (traits.pushesImages && !c.images.registry)
    issues.push({
      path: ["images", "registry"],
      message: `required when target is '${c.target}' (every node pulls the images from it)`,
      input: undefined,
    });
  if (traits.multiNode) {
    // The first `loadBalancerNodes` workers carry `lb`, the next `mysql.nodes` ones `db`.
    if (c.swarm.loadBalancerNodes + c.mysql.nodes > c.swarm.workers)
      issues.push({
        path: ["swarm", "workers"],
        message:
          c.mysql.nodes === 1
            ? `expected at least ${c.swarm.loadBalancerNodes + 1} workers (${c.swarm.loadBalancerNodes} load-balancer nodes and one database node)`
            : `expected at least ${c.swarm.loadBalancerNodes + c.mysql.nodes} workers (${c.swarm.loadBalancerNodes} load-balancer nodes and ${c.mysql.nodes} database nodes for flotilla:mysql.nodes)`,
        input: c.swarm.workers,
      });
    if (c.swarm.bootstrapManager >= c.swarm.managers)
      issues.push({
        path: ["swarm", "bootstrapManager"],
        message: `expected the index of one of the ${c.swarm.managers} managers (0 to ${c.swarm.managers - 1})`,
        input: c.swarm.bootstrapManager,
      });
    if (c.consul.servers > c.swarm.managers)
      issues.push({
        path: ["consul", "servers"],
        message: `expected no more Consul servers than Swarm managers (${c.swarm.managers}): they are spread one per manager`,
        input: c.consul.servers,
      });
  }
  if (c.keepalived.enabled && !traits.virtualIp)
    issues.push({
      path: ["keepalived", "enabled"],
      message: `expected false when target is '${c.target}': keepalived moves a virtual IP between load-balancer nodes, which only ${oneOf(TARGET_NAMES.filter((t) => TARGETS[t].virtualIp))} provides`,
      input: c.keepalived.enabled,
    });
  if (c.keepalived.enabled && traits.virtualIp && c.swarm.loadBalancerNodes < 2)
    issues.push({
      path: ["swarm", "loadBalancerNodes"],
      message: "expected at least 2 load-balancer nodes when keepalived is enabled",
      input: c.swarm.loadBalancerNodes,
    });
  issues.push(...portIssues(c, traits));
  if (traits.multiNode && c.swarm.loadBalancerNodes === 0)
    issues.push({
      path: ["swarm", "loadBalancerNodes"],
      message: `expected at least 1 load-balancer node when target is '${c.target}' (HAProxy runs on the \`lb\` nodes only: with none, nothing answers on the public ports)`,
      input: c.swarm.loadBalancerNodes,
    });
  // Admin CIDRs name the operators' networks: a /0, a prefix shorter than /8 or a list
  // whose union admits more than a /8 (0.0.0.0/1 + 128.0.0.0/1 is the whole internet too).
  const allowWorld =
    "set flotilla:access.allowWorldAdmin to true to allow it anyway (`pulumi config set --path flotilla:access.allowWorldAdmin true`)";
  if (!c.access.allowWorldAdmin) {
    let broad = false;
    c.access.adminCidrs.forEach((cidr, i) => {
      const prefix = Number(cidr.split("/")[1]);
      if (prefix >= ADMIN_PREFIX_MIN) return;
      broad = true;
      issues.push({
        path: ["access", "adminCidrs", i],
        message: `expected the operators' own networks, ${prefix === 0 ? "not the whole internet" : `at most a /${ADMIN_PREFIX_MIN} (a /${prefix} holds ${(2 ** (32 - prefix)).toLocaleString("en")} addresses)`}: SSH and the admin pages would be open to all of it; ${allowWorld}`,
        input: cidr,
      });
    });
    const admitted = cidrUnionSize(c.access.adminCidrs);
    if (!broad && admitted > ADMIN_ADDRESSES_MAX)
      issues.push({
        path: ["access", "adminCidrs"],
        message: `expected the operators' own networks, at most a /${ADMIN_PREFIX_MIN} in all: together these admit ${admitted.toLocaleString("en")} addresses (more than ${ADMIN_ADDRESSES_MAX.toLocaleString("en")}); ${allowWorld}`,
        input: c.access.adminCidrs,
      });
  }
  if (c.haproxy.metricsUser === c.haproxy.statsUser)
    issues.push({
      path: ["haproxy", "metricsUser"],
      message: `expected a user other than flotilla:haproxy.statsUser ('${c.haproxy.statsUser}'): the read-only metrics user and the stats admin are two HAProxy users with their own passwords`,
      input: c.haproxy.metricsUser,
    });
  if (c.haproxy.rateLimit.enabled && !traits.clientAddresses)
    issues.push({
      path: ["haproxy", "rateLimit", "enabled"],
      message: `expected false or unset when target is '${c.target}': clients on this machine reach HAProxy through Docker's port proxy, all from one address, so a per-source limit would limit the whole site (it applies on ${oneOf(TARGET_NAMES.filter((t) => TARGETS[t].clientAddresses))})`,
      input: c.haproxy.rateLimit.enabled,
    });
  const consul = consulBuild(c);
  if (consul.source === "debian-archive" && consul.version !== DEBIAN_ARCHIVE_CONSUL_VERSION)
    issues.push({
      path: ["images", "consulVersion"],
      message: `expected ${DEBIAN_ARCHIVE_CONSUL_VERSION}, the only Consul version in Debian's archive (for another version use HashiCorp's release: \`pulumi config set --path flotilla:images.consulSource hashicorp\`)`,
      input: c.images.consulVersion,
    });
  return issues;
}

/**
 * Ports a public port must not be: SSH, Swarm (2377 management, 7946 gossip, 4789 VXLAN),
 * MariaDB, Consul (8300-8302 RPC and gossip, 8500 HTTP, 8600 DNS) and HAProxy's own
 * health check port on the \`lb\` nodes (8405).
 */
export const RESERVED_PORTS: Readonly<Record<number, string>> = {
  22: "SSH",
  2377: "Swarm cluster management",
  7946: "Swarm node gossip",
  4789: "Swarm overlay network (VXLAN)",
  3306: "MariaDB",
  8300: "Consul server RPC",
  8301: "Consul LAN gossip",
  8302: "Consul WAN gossip",
  8405: "HAProxy's health check (published on the lb nodes)",
  8500: "Consul HTTP API",
  8600: "Consul DNS",
};

/**
 * HAProxy's backend server slots (\`server-template\`): room for every replica twice over,
 * so a rolling update's new tasks register before the old ones leave, and never fewer
 * than 10. The HAProxy renderer passes it as HAPROXY_BACKEND_SLOTS; no replica count is
 * refused for want of slots.
 */
export function backendSlots(c: { readonly webapp: { readonly replicas: number } }): number {
  return Math.max(10, c.webapp.replicas * 2);
}

/**
 * The public ports: each once among HAProxy's (all on the \`lb\` nodes), none reserved.
 * Prometheus' port counts too where it shares a node with HAProxy: on single-node targets
 * (\`local\`); on multi-node targets it runs on a manager and HAProxy on \`lb\` workers.
 */
function portIssues(c: RawConfig, traits: TargetTraits): Issue[] {
  const issues: Issue[] = [];
  const ports: { path: [string, string]; port: number; sharesHaproxyNode: boolean }[] = [
    { path: ["haproxy", "httpPort"], port: c.haproxy.httpPort, sharesHaproxyNode: true },
    { path: ["haproxy", "httpsPort"], port: c.haproxy.httpsPort, sharesHaproxyNode: true },
    { path: ["haproxy", "statsPort"], port: c.haproxy.statsPort, sharesHaproxyNode: true },
  ];
  if (c.monitoring.enabled)
    ports.push({
      path: ["monitoring", "port"],
      port: c.monitoring.port,
      sharesHaproxyNode: !traits.multiNode,
    });
  const seen: typeof ports = [];
  for (const p of ports) {
    const reserved = RESERVED_PORTS[p.port];
    if (reserved)
      issues.push({
        path: p.path,
        message: `expected a port other than ${p.port}, which is ${reserved}'s (reserved: ${Object.keys(RESERVED_PORTS).join(", ")})`,
        input: p.port,
      });
    const clash = seen.find((q) => q.port === p.port && q.sharesHaproxyNode && p.sharesHaproxyNode);
    if (clash)
      issues.push({
        path: p.path,
        message: `expected a port not already used by ${NAMESPACE}:${clash.path.join(".")} (${clash.port}) on the same node${p.path[0] === "monitoring" ? "s (one node runs both on this target)" : "s"}`,
        input: p.port,
      });
    seen.push(p);
  }
  return issues;
}

/** Host names reserved for examples (RFC 2606, RFC 6761): never a real registry. */
const EXAMPLE_HOST = /(^|\.)(example\.(com|net|org)|example|invalid|test)$/i;

/**
 * The committed example stack's placeholders, refused before any resource instead of 20
 * minutes later (a VM nobody can log in to, SSH retries, a push to a registry that does
 * not exist): the `ReplaceMe` SSH key and a registry under a reserved example domain.
 */
export function placeholderIssues(c: RawConfig): Issue[] {
  const issues: Issue[] = [];
  const key = c.openstack?.sshPublicKey;
  if (key !== undefined && /replace-?me/i.test(key))
    issues.push({
      path: ["openstack", "sshPublicKey"],
      message:
        'expected your own OpenSSH public key, got the example\'s placeholder (`pulumi config set --path flotilla:openstack.sshPublicKey "$(cat ~/.ssh/id_ed25519.pub)"`)',
      input: key,
    });
  const registry = c.images.registry;
  const host = registry?.split("/")[0].replace(/:\d+$/, "");
  if (registry !== undefined && host !== undefined && EXAMPLE_HOST.test(host))
    issues.push({
      path: ["images", "registry"],
      message: `expected your registry, got one under a domain reserved for examples (${host}): set it with \`pulumi config set --path flotilla:images.registry <host>[:port]/<path>\``,
      input: registry,
    });
  return issues;
}

/**
 * The alert receivers' secrets against the config that uses them (never echoing a value):
 * chat enabled needs `alertChatWebhookUrl`, an SMTP login needs `alertSmtpPassword`, and
 * either one set with nothing to use it is refused too (it would be silently ignored).
 */
export function alertingSecretProblems(
  c: { readonly monitoring: { readonly alerting: z.infer<typeof alertingSchema> } },
  secrets: Partial<Record<SecretKey, string>>,
): string[] {
  const problems: string[] = [];
  const a = c.monitoring.alerting;
  const key = (k: string) => `${NAMESPACE}:${k}`;
  if (a.chat.enabled && secrets.alertChatWebhookUrl === undefined)
    problems.push(
      `${key("alertChatWebhookUrl")}: required when ${key("monitoring.alerting.chat.enabled")} is true (the chat webhook's URL carries its token: \`pulumi config set --secret ${key("alertChatWebhookUrl")} https://...\`)`,
    );
  if (!a.chat.enabled && secrets.alertChatWebhookUrl !== undefined)
    problems.push(
      `${key("monitoring.alerting.chat.enabled")}: expected true when ${key("alertChatWebhookUrl")} is set (or remove that secret): the URL would be ignored`,
    );
  const username = a.email?.username;
  if (username !== undefined && secrets.alertSmtpPassword === undefined)
    problems.push(
      `${key("alertSmtpPassword")}: required when ${key("monitoring.alerting.email.username")} is set (\`pulumi config set --secret ${key("alertSmtpPassword")}\`)`,
    );
  if (username === undefined && secrets.alertSmtpPassword !== undefined)
    problems.push(
      `${key("monitoring.alerting.email.username")}: required when ${key("alertSmtpPassword")} is set (the SMTP login it belongs to), or remove that secret`,
    );
  return problems;
}

export const configSchema = baseSchema.superRefine((c, ctx) => {
  for (const issue of [...crossFieldIssues(c), ...placeholderIssues(c)])
    ctx.addIssue({ code: "custom", ...issue });
});

/** The validated configuration every component receives. */
export type FlotillaConfig = z.infer<typeof configSchema>;
export type OpenStackConfig = z.infer<typeof openstackSchema>;
export type LabConfig = z.infer<typeof labSchema>;
