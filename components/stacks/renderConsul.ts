import { TARGETS } from "../config";
import { DEFAULT_PREFIX } from "./names";
import type { RenderInput } from "./renderCommon";
import {
  composeFile,
  consulJoin,
  deployPolicy,
  externals,
  health,
  labels,
  secretRefs,
  swarmLiteral,
} from "./renderCommon";
import type { ComposeFile, ComposeService, StackFacts } from "./types";

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
  // Every multi-node target (openstack and lab): without the one-per-manager limit, a
  // powered-off manager's server is rescheduled onto another manager with an empty or
  // stale volume (a new Raft member), and the next lost manager can take two of three.
  const spread = TARGETS[config.target].multiNode;
  const service: ComposeService = {
    image: input.images[stack.image],
    environment: {
      ...consulJoin(prefix, config),
      CONSUL_BOOTSTRAP_EXPECT: String(servers),
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
      ...deployPolicy(stack, "stop-first", "15s", "30s"),
    },
  };
  // One node: `<prefix>-consul-data-<slot>` (Swarm expands the template in the mount source).
  const volume = spread
    ? { labels: labels(stack.name) }
    : { name: `${prefix}-consul-data-{{.Task.Slot}}`, labels: labels(stack.name) };
  return composeFile(
    { [stack.name]: service },
    { ...externals(input, stack), volumes: { "consul-data": volume } },
  );
}
