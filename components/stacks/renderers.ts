// The five stacks' renderers: compose documents as pure functions of the validated
// config (plus the image references and secret names known at deploy time) and of the
// stack's catalog entry (its networks, secrets and image). No Pulumi here, so the same
// functions feed the Pulumi components and the end-to-end suite.
import { type FlotillaConfig, TARGETS } from "../config";
import {
  DEFAULT_PREFIX,
  type NetworkKey,
  networkName,
  type SecretTarget,
  serviceName,
  stackName,
} from "./names";
import type {
  ComposeDeploy,
  ComposeFile,
  ComposeHealthcheck,
  ComposeNetwork,
  ComposePort,
  ComposeSecret,
  ComposeService,
  ComposeServiceSecret,
  ComposeUpdateConfig,
  StackFacts,
  StackImage,
} from "./types";

/** Everything a stack document depends on besides the config. */
export interface RenderInput {
  /** The validated stack configuration. */
  config: FlotillaConfig;
  /** Image reference per image (`flotilla/webapp:0.1.0` or `registry/flotilla/webapp@sha256:...`). */
  images: Record<StackImage, string>;
  /** Content-hashed Docker secret name per secret target (see `secretName`). */
  secretNames: Record<SecretTarget, string>;
  /** Prefix of every stack, network and secret name (default `flotilla`). */
  prefix?: string;
  /** Publish HAProxy on ports the engine picks instead of the configured ones (tests). */
  randomPorts?: boolean;
  /** Extra labels on every container (the tests mark theirs `flotilla.test=1`). */
  containerLabels?: Record<string, string>;
  /** The virtual IP (`a.b.c.d/len`) and the load-balancer nodes' addresses, when keepalived is enabled. */
  keepalived?: { vip: string; peers: string[] };
}

/** Container ports fixed by the images (docs/images.md). */
export const PORTS = {
  mysql: 3306,
  haproxyHttp: 80,
  haproxyStats: 8404,
  haproxyHealth: 8405,
} as const;

const restartAny: ComposeDeploy["restart_policy"] = { condition: "any", delay: "2s", window: "30s" };

function rolling(
  order: ComposeUpdateConfig["order"],
  delay: ComposeUpdateConfig["delay"],
  monitor: ComposeUpdateConfig["monitor"],
): Pick<ComposeDeploy, "update_config" | "rollback_config"> {
  return {
    update_config: {
      parallelism: 1,
      delay,
      order,
      failure_action: "rollback",
      monitor,
      max_failure_ratio: 0,
    },
    rollback_config: { parallelism: 1, delay, order, failure_action: "pause", monitor, max_failure_ratio: 0 },
  };
}

function health(test: string[], startPeriod: ComposeHealthcheck["start_period"]): ComposeHealthcheck {
  // Generous timeout and retries: a busy node must not get healthy tasks killed.
  return { test, interval: "5s", timeout: "5s", retries: 5, start_period: startPeriod };
}

function secretRefs(targets: readonly SecretTarget[]): ComposeServiceSecret[] {
  return targets.map((target) => ({ source: target, target, mode: 0o400 }));
}

function topSecrets(input: RenderInput, targets: readonly SecretTarget[]): Record<string, ComposeSecret> {
  const out: Record<string, ComposeSecret> = {};
  for (const target of targets) {
    const name = input.secretNames[target];
    if (!name) throw new Error(`stack render: no Docker secret name for '${target}'`);
    out[target] = { external: true, name };
  }
  return out;
}

function topNetworks(prefix: string, keys: readonly NetworkKey[]): Record<string, ComposeNetwork> {
  const out: Record<string, ComposeNetwork> = {};
  for (const key of keys) out[key] = { external: true, name: networkName(prefix, key) };
  return out;
}

function labels(stack: string): Record<string, string> {
  return { "flotilla.stack": stack };
}

/** Text that Swarm's template engine (env, hostname, mounts) leaves as it is. */
export function swarmLiteral(text: string): string {
  return text.replace(/\{\{|\}\}/g, (m) => `{{"${m}"}}`);
}

function consulJoin(prefix: string): Record<string, string> {
  return { CONSUL_RETRY_JOIN: `tasks.${serviceName(prefix, "consul")}` };
}

/** Consul servers: on managers, spread one per node when there are enough of them. */
export function renderConsul(input: RenderInput, stack: StackFacts): ComposeFile {
  const { config } = input;
  const prefix = input.prefix ?? DEFAULT_PREFIX;
  const servers = config.consul.servers;
  // Every server keeps its data (Raft, node id, ACLs) on a volume, so a restarted task
  // rejoins as the same server at its new address. On OpenStack every server gets its
  // own manager (the schema ensures there are enough) and a named volume on that node;
  // a one-node Swarm cannot spread, so each task slot gets its own volume. The Consul
  // node name stays the container's (unique per task): memberlist refuses a known name
  // at a new address for 30 s (docs/discovery.md).
  const spread = config.target === "openstack";
  const service: ComposeService = {
    image: input.images[stack.image],
    environment: {
      ...consulJoin(prefix),
      CONSUL_BOOTSTRAP_EXPECT: String(servers),
      CONSUL_DATACENTER: config.consul.datacenter,
      // A server's own task name resolves only once it is healthy, so it cannot find its
      // bind address by routing to `tasks.<consul>`: it binds to eth0, its one overlay
      // network (a go-sockaddr template for Consul, escaped from Swarm's own templating).
      CONSUL_BIND_ADDR: swarmLiteral('{{ GetInterfaceIP "eth0" }}'),
      // The one service the webapp token may register (consul-acl writes the policy).
      WEBAPP_SERVICE: "webapp",
    },
    networks: [...stack.networks],
    secrets: secretRefs(stack.secrets),
    volumes: [{ type: "volume", source: "consul-data", target: "/consul/data" }],
    // Healthy once the agent answers: with 3 servers, a "leader known" check would keep
    // every server out of Swarm's DNS (only healthy tasks are listed), so they could
    // never find each other to elect one.
    healthcheck: health(["CMD", "/usr/lib/flotilla/consul-ready"], "60s"),
    stop_grace_period: "20s",
    deploy: {
      mode: "replicated",
      replicas: servers,
      endpoint_mode: "dnsrr",
      placement: {
        constraints: ["node.role == manager"],
        ...(spread ? { preferences: [{ spread: "node.id" }], max_replicas_per_node: 1 } : {}),
      },
      // One server at a time, waiting for it to rejoin, so the quorum holds.
      ...rolling("stop-first", "15s", "30s"),
      restart_policy: restartAny,
      labels: labels(stack.name),
    },
  };
  // One node: `<prefix>-consul-data-<slot>` (Swarm expands the template in the mount source).
  const volume = spread
    ? { labels: labels(stack.name) }
    : { name: `${prefix}-consul-data-{{.Task.Slot}}`, labels: labels(stack.name) };
  return {
    version: "3.8",
    services: { [stack.name]: service },
    networks: topNetworks(prefix, stack.networks),
    secrets: topSecrets(input, stack.secrets),
    volumes: { "consul-data": volume },
  };
}

/**
 * The MySQL service names the webapp connects to, in the order that picks the writer:
 * `<stack>_mysql` for a single server, `<stack>_mysql-1` .. `-N` for a Galera cluster.
 */
export function mysqlHosts(prefix: string, config: FlotillaConfig): string[] {
  if (config.mysql.nodes === 1) return [serviceName(prefix, "mysql")];
  return Array.from({ length: config.mysql.nodes }, (_, i) => `${stackName(prefix, "mysql")}_mysql-${i + 1}`);
}

/**
 * The host directory of member `index` (1-based): on a one-node Swarm every member's
 * data sits under the data path in `<dataPath>/<index>`; on multi-node targets each
 * member has its own node and volume, mounted at the data path itself.
 */
export function mysqlDataDir(config: FlotillaConfig, index: number): string {
  if (config.mysql.nodes === 1 || TARGETS[config.target].multiNode) return config.mysql.dataPath;
  return `${config.mysql.dataPath}/${index}`;
}

/**
 * MariaDB, on the data network only, never published. One server on the `db` node, or
 * a Galera cluster (docs/galera.md): one service per member (`mysql-1` .. `mysql-N`,
 * stable DNS names), member i on the node labelled `db_member == i` (multi-node
 * targets) with its own data directory. The last member takes the scheduled backups
 * into the `mysql-backups` volume on its node (member 1 is every replica's writer).
 */
export function renderMysql(input: RenderInput, stack: StackFacts): ComposeFile {
  const { config } = input;
  const prefix = input.prefix ?? DEFAULT_PREFIX;
  const nodes = config.mysql.nodes;
  const hosts = mysqlHosts(prefix, config);
  const multiNode = TARGETS[config.target].multiNode;
  const member = (index: number): ComposeService => {
    const backups = index === nodes && config.mysql.backupIntervalMinutes > 0;
    return {
      image: input.images[stack.image],
      environment: {
        MYSQL_DATABASE: config.mysql.database,
        MYSQL_USER: config.mysql.user,
        ...(nodes > 1 ? { GALERA_MEMBERS: hosts.join(","), GALERA_INDEX: String(index) } : {}),
        ...(backups
          ? {
              MYSQL_BACKUP_INTERVAL_SECONDS: String(config.mysql.backupIntervalMinutes * 60),
              MYSQL_BACKUP_KEEP: String(config.mysql.backupKeep),
            }
          : {}),
      },
      networks: [...stack.networks],
      secrets: secretRefs(stack.secrets),
      volumes: [
        { type: "bind", source: mysqlDataDir(config, index), target: "/var/lib/mysql" },
        { type: "volume", source: "mysql-backups", target: "/var/backups/mysql" },
      ],
      // A joining member copies the whole database (SST) before it turns healthy.
      healthcheck: health(["CMD", "/usr/lib/flotilla/mysql-healthcheck"], nodes > 1 ? "300s" : "90s"),
      // InnoDB flushes and shuts down cleanly well within this.
      stop_grace_period: "60s",
      deploy: {
        mode: "replicated",
        replicas: 1,
        endpoint_mode: "dnsrr",
        placement: {
          constraints: [
            "node.labels.db == true",
            ...(nodes > 1 && multiNode ? [`node.labels.db_member == ${index}`] : []),
          ],
        },
        // Two servers must never share one data directory: stop the old one first.
        ...rolling("stop-first", "0s", "30s"),
        restart_policy: restartAny,
        labels: labels(stack.name),
      },
    };
  };
  const services: Record<string, ComposeService> =
    nodes === 1
      ? { mysql: member(1) }
      : Object.fromEntries(Array.from({ length: nodes }, (_, i) => [`mysql-${i + 1}`, member(i + 1)]));
  return {
    version: "3.8",
    services,
    networks: topNetworks(prefix, stack.networks),
    secrets: topSecrets(input, stack.secrets),
    volumes: { "mysql-backups": { labels: labels(stack.name) } },
  };
}

/** The webapp: on all three networks, rolling `start-first` one at a time, rolled back on failure. */
export function renderWebapp(input: RenderInput, stack: StackFacts): ComposeFile {
  const { config } = input;
  const prefix = input.prefix ?? DEFAULT_PREFIX;
  const drain = config.webapp.drainSeconds;
  return {
    version: "3.8",
    services: {
      webapp: {
        image: input.images[stack.image],
        environment: {
          ...consulJoin(prefix),
          CONSUL_DATACENTER: config.consul.datacenter,
          MYSQL_DATABASE: config.mysql.database,
          MYSQL_HOST: mysqlHosts(prefix, config)[0],
          ...(config.mysql.nodes > 1 ? { MYSQL_HOSTS: mysqlHosts(prefix, config).join(",") } : {}),
          MYSQL_PORT: String(PORTS.mysql),
          MYSQL_USER: config.mysql.user,
          WEBAPP_DRAIN_SECONDS: String(drain),
          WEBAPP_PORT: String(config.webapp.port),
        },
        networks: [...stack.networks],
        secrets: secretRefs(stack.secrets),
        healthcheck: health(["CMD", "/usr/lib/flotilla/webapp-healthcheck"], "60s"),
        // Longer than the drain, so a stopping replica finishes its requests before SIGKILL.
        stop_grace_period: `${drain + 10}s`,
        deploy: {
          mode: "replicated",
          replicas: config.webapp.replicas,
          endpoint_mode: "dnsrr",
          placement: {
            constraints: [],
            ...(config.target === "openstack" ? { preferences: [{ spread: "node.id" }] } : {}),
          },
          ...rolling("start-first", "5s", "20s"),
          restart_policy: restartAny,
          labels: labels(stack.name),
        },
      },
    },
    networks: topNetworks(prefix, stack.networks),
    secrets: topSecrets(input, stack.secrets),
  };
}

/**
 * HAProxy: on every `lb` node, ports published on the node itself (where keepalived's
 * VIP lands). On the edge network for the webapp, and on the Consul network for its
 * Consul agent (LAN gossip and RPC to the servers): never on the data network.
 */
export function renderHaproxy(input: RenderInput, stack: StackFacts): ComposeFile {
  const { config } = input;
  const prefix = input.prefix ?? DEFAULT_PREFIX;
  const port = (target: number, published: number): ComposePort => ({
    target,
    ...(input.randomPorts ? {} : { published }),
    protocol: "tcp",
    mode: "host",
  });
  return {
    version: "3.8",
    services: {
      haproxy: {
        image: input.images[stack.image],
        environment: {
          ...consulJoin(prefix),
          CONSUL_DATACENTER: config.consul.datacenter,
          HAPROXY_HTTP_PORT: String(PORTS.haproxyHttp),
          HAPROXY_STATS_PORT: String(PORTS.haproxyStats),
          HAPROXY_STATS_USER: config.haproxy.statsUser,
          WEBAPP_SERVICE: "webapp",
        },
        networks: [...stack.networks],
        ports: [
          port(PORTS.haproxyHttp, config.haproxy.httpPort),
          port(PORTS.haproxyStats, config.haproxy.statsPort),
          // keepalived (host network) checks this node's HAProxy here.
          port(PORTS.haproxyHealth, PORTS.haproxyHealth),
        ],
        secrets: secretRefs(stack.secrets),
        healthcheck: health(["CMD", "/usr/lib/flotilla/haproxy-healthcheck"], "30s"),
        stop_grace_period: "15s",
        deploy: {
          mode: "global",
          endpoint_mode: "dnsrr",
          placement: { constraints: ["node.labels.lb == true"] },
          // Host ports: the old task must free them first; one node at a time keeps the VIP up.
          ...rolling("stop-first", "10s", "20s"),
          restart_policy: restartAny,
          labels: labels(stack.name),
        },
      },
    },
    networks: topNetworks(prefix, stack.networks),
    secrets: topSecrets(input, stack.secrets),
  };
}

/** keepalived: on every `lb` node, on the host network, moving the VIP to a node whose HAProxy is healthy. */
export function renderKeepalived(input: RenderInput, stack: StackFacts): ComposeFile {
  const { config } = input;
  if (!input.keepalived) {
    throw new Error(
      "stack render: flotilla:keepalived.enabled is true but no virtual IP and peers were given",
    );
  }
  const { vip, peers } = input.keepalived;
  if (!/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(vip)) {
    throw new Error(`stack render: keepalived VIP must be a.b.c.d/len, got '${vip}'`);
  }
  return {
    version: "3.8",
    services: {
      keepalived: {
        image: input.images[stack.image],
        environment: {
          KEEPALIVED_CHECK_URL: `http://127.0.0.1:${PORTS.haproxyHealth}/healthz`,
          KEEPALIVED_PEERS: peers.join(","),
          KEEPALIVED_ROUTER_ID: String(config.keepalived.virtualRouterId),
          KEEPALIVED_VIP: vip,
        },
        networks: ["host"],
        cap_add: ["NET_ADMIN", "NET_BROADCAST", "NET_RAW"],
        secrets: secretRefs(stack.secrets),
        // Healthy while s6 has keepalived up (the image has no HEALTHCHECK of its own).
        healthcheck: health(["CMD-SHELL", "s6-svstat -o up /run/service/keepalived | grep -qx true"], "10s"),
        stop_grace_period: "10s",
        deploy: {
          mode: "global",
          // Host network: no service DNS to round-robin, and no VIP either.
          endpoint_mode: "dnsrr",
          placement: { constraints: ["node.labels.lb == true"] },
          ...rolling("stop-first", "10s", "15s"),
          restart_policy: restartAny,
          labels: labels(stack.name),
        },
      },
    },
    networks: { host: { external: true, name: "host" } },
    secrets: topSecrets(input, stack.secrets),
  };
}
