import { backendSlots, type FlotillaConfig, TARGETS } from "../config";
import { DEFAULT_PREFIX } from "./names";
import type { RenderInput } from "./renderCommon";
import { composeFile, consulJoin, deployPolicy, externals, health, PORTS, secretRefs } from "./renderCommon";
import type { ComposeFile, ComposePort, Duration, StackFacts } from "./types";

/** The haproxy image's unprivileged user (uid and gid 980, fixed in images/haproxy/Dockerfile). */
export const HAPROXY_UID = 980;

/**
 * How a new HAProxy task replaces the old one (docs/edge.md, "Certificate rotation"). A
 * new certificate is a new Docker secret, so Swarm replaces the task. Ports are published
 * on the node itself (`host`: the VIP lands on a node that serves, client addresses are
 * kept; the routing mesh would need IPVS, which some kernels, this project's CI among
 * them, do not have), so the old task must stop first, one node at a time:
 * - with keepalived: a stopping HAProxy keeps serving for `grace` while its health URI
 *   answers 503, so keepalived (0.5 s checks, 2 failures) moves the VIP to a peer before
 *   this node stops accepting: no request is lost;
 * - without (one node): nothing can take the traffic meanwhile; no grace, so the port is
 *   closed for as short a time as possible (measured in docs/edge.md).
 */
export function haproxyRollout(input: RenderInput): {
  mode: ComposePort["mode"];
  order: "start-first" | "stop-first";
  endpoint: "vip" | "dnsrr";
  grace: Duration;
} {
  return {
    mode: "host",
    order: "stop-first",
    endpoint: "dnsrr",
    grace: input.config.keepalived.enabled ? "5s" : "0s",
  };
}

/**
 * The per-source limits HAProxy applies on its public ports (`haproxy.rateLimit`; 0 is
 * off). Only where HAProxy sees each client's own address: host-mode ports on a target
 * whose clients come from other machines. On `local` (clients on the machine come through
 * Docker's port proxy, all from one address), or were the ports ever published through
 * the routing mesh (every client the ingress gateway's address), a per-source limit would
 * limit the whole site, so it is off there (docs/edge.md, "Per-source limits").
 */
export function haproxyRateLimit(
  config: FlotillaConfig,
  mode: ComposePort["mode"],
): { requestsPer10s: number; connections: number } {
  const { enabled, requestsPer10s, connections } = config.haproxy.rateLimit;
  const seesClients = TARGETS[config.target].clientAddresses && mode === "host";
  return (enabled ?? true) && seesClients
    ? { requestsPer10s, connections }
    : { requestsPer10s: 0, connections: 0 };
}

/**
 * HAProxy: on every `lb` node. On the edge network for the webapp, and on the Consul
 * network for its Consul agent (LAN gossip and RPC to the servers): never on the data
 * network. TLS ends here (the haproxy_tls_pem secret); the container runs as an
 * unprivileged user with no capability, a read-only root filesystem and no new
 * privileges (the image sets no_new_privs itself: Swarm ignores `security_opt`).
 */
export function renderHaproxy(input: RenderInput, stack: StackFacts): ComposeFile {
  const { config } = input;
  const prefix = input.prefix ?? DEFAULT_PREFIX;
  const rollout = haproxyRollout(input);
  const port = (target: number, published: number): ComposePort => ({
    target,
    ...(input.randomPorts ? {} : { published }),
    protocol: "tcp",
    mode: rollout.mode,
  });
  const owner = String(HAPROXY_UID);
  const limit = haproxyRateLimit(config, rollout.mode);
  return composeFile(
    {
      haproxy: {
        image: input.images[stack.image],
        environment: {
          ...consulJoin(prefix, config),
          HAPROXY_HTTP_PORT: String(PORTS.haproxyHttp),
          HAPROXY_HTTPS_PORT: String(PORTS.haproxyHttps),
          HAPROXY_STATS_PORT: String(PORTS.haproxyStats),
          HAPROXY_STATS_USER: config.haproxy.statsUser,
          HAPROXY_METRICS_USER: config.haproxy.metricsUser,
          HAPROXY_REDIRECT_HTTP: String(config.haproxy.redirectHttp),
          HAPROXY_HSTS_MAX_AGE: String(config.haproxy.hstsMaxAge),
          HAPROXY_STOP_GRACE: rollout.grace,
          HAPROXY_RATE_LIMIT_REQUESTS: String(limit.requestsPer10s),
          HAPROXY_RATE_LIMIT_CONNECTIONS: String(limit.connections),
          // Room for every replica twice over (a rolling update's new tasks beside the old).
          HAPROXY_BACKEND_SLOTS: String(backendSlots(config)),
          WEBAPP_SERVICE: "webapp",
        },
        networks: [...stack.networks],
        ports: [
          port(PORTS.haproxyHttp, config.haproxy.httpPort),
          port(PORTS.haproxyHttps, config.haproxy.httpsPort),
          port(PORTS.haproxyStats, config.haproxy.statsPort),
          // keepalived (host network) checks this node's HAProxy here.
          port(PORTS.haproxyHealth, PORTS.haproxyHealth),
        ],
        // The files belong to the container's user, readable by it alone.
        secrets: secretRefs(stack.secrets).map((s) => ({ ...s, uid: owner, gid: owner })),
        user: `${owner}:${owner}`,
        cap_drop: ["ALL"],
        read_only: true,
        healthcheck: health(["CMD", "/usr/lib/flotilla/haproxy-healthcheck"], "30s"),
        stop_grace_period: "15s",
        deploy: {
          mode: "global",
          endpoint_mode: rollout.endpoint,
          placement: { constraints: ["node.labels.lb == true"] },
          // stop-first (host ports): one node at a time keeps the VIP up.
          ...deployPolicy(stack, rollout.order, "10s", "20s"),
        },
      },
    },
    externals(input, stack),
  );
}
