import { DEFAULT_PREFIX } from "./names";
import {
  consulJoin,
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
import type { ComposeFile, ComposePort, StackFacts } from "./types";

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
