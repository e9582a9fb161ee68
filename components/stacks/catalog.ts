// The stack catalog: every stack in one table, in deployment order (each may depend on
// the ones before it), with its renderer, image, networks, secrets and component type
// token. Everything else (names, documents, components, the e2e suite) reads it.
import type { FlotillaConfig } from "../config";
import type { NetworkKey, SecretTarget } from "./names";
import type { RenderInput } from "./renderCommon";
import { renderConsul } from "./renderConsul";
import { renderHaproxy } from "./renderHaproxy";
import { renderKeepalived } from "./renderKeepalived";
import { renderMonitoring } from "./renderMonitoring";
import { mysqlDataDir, mysqlServiceKeys, renderMysql } from "./renderMysql";
import { renderWebapp } from "./renderWebapp";
import type { ComposeFile, StackFacts } from "./types";

/** One stack: what it runs, what it joins and reads, how it is rendered and declared. */
export interface StackSpec extends StackFacts {
  /** Pulumi type token of its component (`flotilla:stacks:<Name>Stack`): part of its URN, keep it stable. */
  readonly type: string;
  /** What the stack is, in one line (docs and the component's description). */
  readonly description: string;
  /** Whether this config deploys it. */
  readonly enabled: (config: FlotillaConfig) => boolean;
  /** Host directories the local deploy creates first (the MySQL data path; on clouds, the volume's mount). */
  readonly hostDirs?: (config: FlotillaConfig) => string[];
  /** Needs keepalived's virtual IP and the load-balancer peers to render. */
  readonly needsVip?: boolean;
  /**
   * Earlier stacks whose deploy must have converged before this one's deploy runs, so
   * that their rolling updates never overlap (stack names; the catalog test checks each
   * names an earlier stack). Every other stack deploys in parallel.
   */
  readonly rollsAfter?: readonly string[];
  /**
   * Services of this stack that an update of a running stack rolls one after another, in
   * this order, each converged before the next one's update starts (`docker stack deploy`
   * alone updates every service at once); see rollingPhases. The first deploy starts them
   * together.
   */
  readonly rollsInOrder?: (config: FlotillaConfig) => readonly string[];
  /** Its compose document. */
  readonly render: (input: RenderInput, stack: StackFacts) => ComposeFile;
}

const always = () => true;

export const STACK_CATALOG = [
  {
    name: "consul",
    type: "flotilla:stacks:ConsulStack",
    description: "Consul servers (Raft quorum over the managers), on their own overlay network",
    image: "consul",
    networks: ["consul"],
    // The servers create every role's token (consul-acl), so they hold them all.
    secrets: [
      "consul_gossip_key",
      "consul_master_token",
      "consul_agent_token",
      "consul_haproxy_token",
      "consul_webapp_token",
      "consul_prometheus_token",
    ],
    enabled: always,
    render: renderConsul,
  },
  {
    name: "mysql",
    type: "flotilla:stacks:MysqlStack",
    description:
      "MariaDB on the `db` node(s), alone or a Galera cluster (one service per member), on the data network only, never published",
    image: "mysql",
    networks: ["data"],
    // mysql_exporter_password: the monitoring stack's exporter account (mysql-accounts).
    secrets: ["mysql_root_password", "mysql_password", "mysql_exporter_password"],
    enabled: always,
    hostDirs: (config) => [
      ...new Set(Array.from({ length: config.mysql.nodes }, (_, i) => mysqlDataDir(config, i + 1))),
    ],
    // A release stopping every Galera member at once takes them all out of the service
    // DNS, and nothing serves until they re-form: members roll one at a time instead.
    rollsInOrder: (config) => (config.mysql.nodes > 1 ? mysqlServiceKeys(config) : []),
    render: renderMysql,
  },
  {
    name: "webapp",
    type: "flotilla:stacks:WebappStack",
    description:
      "the webapp replicas on the edge, data and Consul networks, rolling `start-first` with rollback",
    image: "webapp",
    networks: ["edge", "data", "consul"],
    secrets: ["mysql_password", "consul_gossip_key", "consul_webapp_token"],
    enabled: always,
    render: renderWebapp,
  },
  {
    name: "haproxy",
    type: "flotilla:stacks:HaproxyStack",
    description:
      "HAProxy on every `lb` node (TLS ends here), backends from Consul DNS; no-loss rollout (docs/edge.md)",
    image: "haproxy",
    networks: ["edge", "consul"],
    secrets: [
      "haproxy_stats_password",
      "haproxy_metrics_password",
      "haproxy_tls_pem",
      "consul_gossip_key",
      "consul_haproxy_token",
    ],
    enabled: always,
    render: renderHaproxy,
  },
  {
    name: "keepalived",
    type: "flotilla:stacks:KeepalivedStack",
    description: "keepalived on every `lb` node (host network), moving the virtual IP to a healthy HAProxy",
    image: "keepalived",
    networks: [],
    // None: VRRPv3 has no password; only the lb nodes may send VRRP (the image's filter, the security group).
    secrets: [],
    enabled: (config) => config.keepalived.enabled,
    needsVip: true,
    // keepalived moves the VIP by HAProxy's health: rolled beside HAProxy, the VIP could
    // leave a node whose keepalived restarts for one whose HAProxy is stopping, and no
    // node would hold it for seconds. So HAProxy rolls first, node by node, then keepalived.
    rollsAfter: ["haproxy"],
    render: renderKeepalived,
  },
  {
    name: "monitoring",
    type: "flotilla:stacks:MonitoringStack",
    description:
      "Prometheus on a manager (UI on `monitoring.port`, basic auth) scraping HAProxy, Consul, the webapp and MariaDB, with alert rules; Alertmanager delivering them (2 clustered replicas on multi-node targets); a node exporter on every node",
    image: "prometheus",
    // Scrapes HAProxy and the webapp (edge), MariaDB through its exporter (data), the
    // Consul servers (consul); the node exporters are on the stack's own network.
    networks: ["edge", "data", "consul"],
    secrets: [
      "prometheus_password",
      "haproxy_metrics_password",
      "mysql_exporter_password",
      "consul_prometheus_token",
      // Alertmanager's alone (renderMonitoring gives Prometheus the others).
      "alertmanager_smtp_password",
      "alertmanager_chat_url",
    ],
    enabled: (config) => config.monitoring.enabled,
    render: renderMonitoring,
  },
] as const satisfies readonly StackSpec[];

/** A stack of the catalog. */
export type StackName = (typeof STACK_CATALOG)[number]["name"];

/** The stacks, in deployment order. */
export const STACKS: readonly StackName[] = STACK_CATALOG.map((s) => s.name);

/** The catalog entry of a stack. */
export function stackSpec(stack: StackName): StackSpec {
  const spec = STACK_CATALOG.find((s) => s.name === stack);
  if (!spec) throw new Error(`no stack '${stack}' in the catalog`);
  return spec;
}

const byStack = <T>(pick: (s: StackSpec) => T) =>
  Object.fromEntries(STACK_CATALOG.map((s) => [s.name, pick(s)])) as Record<StackName, T>;

/** The Docker secrets each stack's service reads. */
export const STACK_SECRETS: Record<StackName, readonly SecretTarget[]> = byStack((s) => s.secrets);
/** The overlay networks each stack joins (keepalived uses the host's network instead). */
export const STACK_NETWORKS: Record<StackName, readonly NetworkKey[]> = byStack((s) => s.networks);
/** The images the stacks run, in deployment order. */
export const STACK_IMAGES = STACK_CATALOG.map((s) => s.image);
