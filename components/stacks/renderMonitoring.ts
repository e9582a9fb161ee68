// The monitoring stack's compose document (see renderCommon.ts for the shared pieces).
import { TARGETS } from "../config";
import { DEFAULT_PREFIX, type SecretTarget, serviceName, stackName } from "./names";
import {
  health,
  labels,
  PORTS,
  type RenderInput,
  restartAny,
  rolling,
  secretRefs,
  topNetworks,
  topSecrets,
} from "./renderCommon";
import { mysqlHosts } from "./renderMysql";
import type { ComposeFile, ComposePort, ComposeService, StackFacts } from "./types";

/** The uid and gid every process of the prometheus image runs as (images/prometheus/Dockerfile). */
export const PROMETHEUS_USER = { uid: 990, gid: 990 } as const;
/** Prometheus' port in its container (the UI and API, basic auth). */
export const PROMETHEUS_PORT = 9090;
/** Where every webapp replica serves its metrics (images/webapp: WEBAPP_METRICS_PORT). */
export const WEBAPP_METRICS_PORT = 9100;
/** The stack's own network: Prometheus and the node exporters, nothing else. */
export const MONITORING_NETWORK = "monitoring";
/** The per-node service of the monitoring stack. */
export const NODE_EXPORTER = "node-exporter";
/** The monitoring stack's Alertmanager service (same image, FLOTILLA_ROLE=alertmanager). */
export const ALERTMANAGER = "alertmanager";
/** Alertmanager's API (Prometheus posts alerts here; basic auth) and its cluster gossip port. */
export const ALERTMANAGER_PORT = 9093;
export const ALERTMANAGER_CLUSTER_PORT = 9094;
/** The secrets only Alertmanager reads (its receivers'); Prometheus gets the stack's others. */
export const ALERTMANAGER_SECRETS: readonly SecretTarget[] = [
  "alertmanager_smtp_password",
  "alertmanager_chat_url",
];

/** How many Swarm nodes the config makes (every one runs a node exporter). */
export function expectedNodes(input: RenderInput): number {
  const { config } = input;
  return TARGETS[config.target].multiNode ? config.swarm.managers + config.swarm.workers : 1;
}

/**
 * Alertmanager replicas: 2 on multi-node targets (a cluster: one on each of two managers,
 * gossiping silences and what was notified, so a lost manager loses no notification), 1
 * where there is one manager (`local`, or a one-manager cluster).
 */
export function alertmanagerReplicas(input: RenderInput): number {
  const { config } = input;
  return TARGETS[config.target].multiNode ? Math.min(2, config.swarm.managers) : 1;
}

/** The Swarm service name of the monitoring stack's Alertmanager. */
function alertmanagerService(input: RenderInput, stack: StackFacts): string {
  return `${stackName(input.prefix ?? DEFAULT_PREFIX, stack.name)}_${ALERTMANAGER}`;
}

/**
 * Alertmanager's environment (images/prometheus, alertmanager-setup): its receivers and
 * grouping from `monitoring.alerting`, and its peers (`tasks.<service>`: every replica,
 * itself included) when it is clustered; empty, clustering is off. The receivers'
 * secrets are files (/run/secrets), never values here.
 */
export function alertmanagerEnvironment(input: RenderInput, stack: StackFacts): Record<string, string> {
  const { config } = input;
  const a = config.monitoring.alerting;
  return {
    FLOTILLA_ROLE: ALERTMANAGER,
    PROMETHEUS_USER: config.monitoring.user,
    ALERTMANAGER_PEERS: alertmanagerReplicas(input) > 1 ? `tasks.${alertmanagerService(input, stack)}` : "",
    ALERTMANAGER_WEBHOOKS: a.webhooks.join(","),
    ALERTMANAGER_SMTP_SMARTHOST: a.email?.smarthost ?? "",
    ALERTMANAGER_SMTP_FROM: a.email?.from ?? "",
    ALERTMANAGER_SMTP_TO: a.email?.to.join(",") ?? "",
    ALERTMANAGER_SMTP_USER: a.email?.username ?? "",
    ALERTMANAGER_SMTP_REQUIRE_TLS: String(a.email?.requireTls ?? true),
    ALERTMANAGER_CHAT: String(a.chat.enabled),
    ALERTMANAGER_CHAT_CHANNEL: a.chat.channel ?? "",
    ALERTMANAGER_GROUP_BY: a.groupBy.join(","),
    ALERTMANAGER_GROUP_WAIT: a.groupWait,
    ALERTMANAGER_GROUP_INTERVAL: a.groupInterval,
    ALERTMANAGER_REPEAT_INTERVAL: a.repeatInterval,
  };
}

/**
 * Prometheus' environment (images/prometheus, prometheus-setup): the DNS names it scrapes
 * (`tasks.<service>`: one A record per running task, on the overlay networks it shares
 * with them) and the sizes the alert rules expect.
 */
export function monitoringEnvironment(input: RenderInput, stack: StackFacts): Record<string, string> {
  const { config } = input;
  const prefix = input.prefix ?? DEFAULT_PREFIX;
  const tasks = (service: string) => `tasks.${service}`;
  return {
    FLOTILLA_ROLE: "prometheus",
    PROMETHEUS_USER: config.monitoring.user,
    PROMETHEUS_RETENTION_DAYS: String(config.monitoring.retentionDays),
    PROMETHEUS_SCRAPE_INTERVAL: config.monitoring.scrapeInterval,
    PROMETHEUS_ALERT_FOR: config.monitoring.alertFor,
    SCRAPE_HAPROXY: tasks(serviceName(prefix, "haproxy")),
    HAPROXY_METRICS_PORT: String(PORTS.haproxyStats),
    HAPROXY_METRICS_USER: config.haproxy.metricsUser,
    SCRAPE_CONSUL: tasks(serviceName(prefix, "consul")),
    SCRAPE_WEBAPP: tasks(serviceName(prefix, "webapp")),
    WEBAPP_METRICS_PORT: String(WEBAPP_METRICS_PORT),
    SCRAPE_MYSQL: mysqlHosts(prefix, config).map(tasks).join(","),
    SCRAPE_NODE: tasks(`${stackName(prefix, stack.name)}_${NODE_EXPORTER}`),
    EXPECTED_NODES: String(expectedNodes(input)),
    EXPECTED_CONSUL_SERVERS: String(config.consul.servers),
    EXPECTED_MYSQL_MEMBERS: String(config.mysql.nodes),
    EXPECTED_WEBAPP_REPLICAS: String(config.webapp.replicas),
    ALERTMANAGERS: tasks(alertmanagerService(input, stack)),
  };
}

/**
 * Prometheus (with the mysqld exporter beside it) on one manager, its UI published on
 * that node only (`monitoring.port`, host mode: the security group opens it to the admin
 * CIDRs) behind basic auth, data on a named volume; and a node exporter on every node
 * (a global service on the stack's own network) so a missing node shows; and
 * Alertmanager (alertmanagerReplicas, on managers, one per node, on the stack's own
 * network, not published) delivering Prometheus' alerts. Least privilege: the image's
 * unprivileged user, no capabilities, a read-only root filesystem; each service only the
 * secrets it reads.
 */
export function renderMonitoring(input: RenderInput, stack: StackFacts): ComposeFile {
  const { config } = input;
  const prefix = input.prefix ?? DEFAULT_PREFIX;
  const user = `${PROMETHEUS_USER.uid}:${PROMETHEUS_USER.gid}`;
  const port: ComposePort = {
    target: PROMETHEUS_PORT,
    ...(input.randomPorts ? {} : { published: config.monitoring.port }),
    protocol: "tcp",
    mode: "host",
  };
  const prometheus: ComposeService = {
    image: input.images[stack.image],
    environment: monitoringEnvironment(input, stack),
    user,
    read_only: true,
    cap_drop: ["ALL"],
    networks: [...stack.networks, MONITORING_NETWORK],
    ports: [port],
    secrets: secretRefs(
      stack.secrets.filter((t) => !ALERTMANAGER_SECRETS.includes(t)),
      PROMETHEUS_USER,
    ),
    volumes: [{ type: "volume", source: "prometheus-data", target: "/var/lib/prometheus" }],
    healthcheck: health(["CMD", "/usr/lib/flotilla/prometheus-healthcheck"], "60s"),
    stop_grace_period: "20s",
    deploy: {
      mode: "replicated",
      replicas: 1,
      endpoint_mode: "dnsrr",
      placement: { constraints: ["node.role == manager"] },
      // One data volume and a host port: the old task stops first.
      ...rolling("stop-first", "0s", "20s"),
      restart_policy: restartAny,
      labels: labels(stack.name),
    },
  };
  const nodeExporter: ComposeService = {
    image: input.images[stack.image],
    environment: { FLOTILLA_ROLE: "node-exporter" },
    user,
    read_only: true,
    cap_drop: ["ALL"],
    networks: [MONITORING_NETWORK],
    // No health check: s6 restarts the exporter and Prometheus reports it down (`up`), so
    // a check would only cost every node a `docker exec` every 5 s (about 0.1 s of CPU
    // each on the build machine: the lab's seven exporters took 7 % of its two cores).
    healthcheck: { disable: true },
    stop_grace_period: "10s",
    deploy: {
      mode: "global",
      endpoint_mode: "dnsrr",
      placement: { constraints: [] },
      ...rolling("stop-first", "0s", "10s"),
      restart_policy: restartAny,
      labels: labels(stack.name),
    },
  };
  const replicas = alertmanagerReplicas(input);
  const alertmanager: ComposeService = {
    image: input.images[stack.image],
    environment: alertmanagerEnvironment(input, stack),
    user,
    read_only: true,
    cap_drop: ["ALL"],
    networks: [MONITORING_NETWORK],
    // Its API's basic auth is the UI's (Prometheus posts with the same password file).
    secrets: secretRefs(["prometheus_password", ...ALERTMANAGER_SECRETS], PROMETHEUS_USER),
    // Silences and the notification log (each replica its own; a cluster gossips them).
    volumes: [{ type: "volume", source: "alertmanager-data", target: "/var/lib/prometheus" }],
    healthcheck: health(["CMD", "/usr/lib/flotilla/prometheus-healthcheck"], "30s"),
    stop_grace_period: "10s",
    deploy: {
      mode: "replicated",
      replicas,
      endpoint_mode: "dnsrr",
      placement: {
        constraints: ["node.role == manager"],
        ...(replicas > 1 ? { max_replicas_per_node: 1 } : {}),
      },
      // One at a time: the other replica keeps delivering.
      ...rolling("stop-first", "0s", "20s"),
      // Its own copy: a shared object becomes a YAML anchor and aliases, and Prometheus'
      // and the node exporter's YAML stays as it was.
      restart_policy: { ...restartAny },
      labels: labels(stack.name),
    },
  };
  return {
    version: "3.8",
    // In the order Docker lists them (by name).
    services: { [ALERTMANAGER]: alertmanager, [stack.name]: prometheus, [NODE_EXPORTER]: nodeExporter },
    networks: {
      ...topNetworks(prefix, stack.networks),
      [MONITORING_NETWORK]: { driver: "overlay", labels: labels(stack.name) },
    },
    secrets: topSecrets(input, stack.secrets),
    volumes: {
      "prometheus-data": { labels: labels(stack.name) },
      "alertmanager-data": { labels: labels(stack.name) },
    },
  };
}
