import type { RenderInput } from "./renderCommon";
import { composeFile, deployPolicy, health, PORTS } from "./renderCommon";
import type { ComposeFile, StackFacts } from "./types";

/**
 * keepalived: on every `lb` node, on the host network, moving the VIP to a node whose
 * HAProxy is healthy. VRRPv3 with sub-second adverts (the image's default, 0.25 s: a
 * powered-off holder's VIP moves in about 0.9 s) and no password: the image lets VRRP
 * in from `peers` only (an nftables table in the node's firewall, hence `NET_ADMIN`),
 * as the `lb` security group does on OpenStack.
 */
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
  return composeFile(
    {
      keepalived: {
        image: input.images[stack.image],
        environment: {
          KEEPALIVED_CHECK_URL: `http://127.0.0.1:${PORTS.haproxyHealth}/healthz`,
          KEEPALIVED_PEERS: peers.join(","),
          KEEPALIVED_ROUTER_ID: String(config.keepalived.virtualRouterId),
          // A bonus while the local HAProxy has a webapp replica UP: the VIP prefers a
          // node that can serve over one whose HAProxy has just started.
          KEEPALIVED_SERVING_URL: `http://127.0.0.1:${PORTS.haproxyHealth}/servingz`,
          KEEPALIVED_VIP: vip,
        },
        networks: ["host"],
        cap_add: ["NET_ADMIN", "NET_BROADCAST", "NET_RAW"],
        // Healthy while s6 has keepalived up (the image has no HEALTHCHECK of its own).
        healthcheck: health(["CMD-SHELL", "s6-svstat -o up /run/service/keepalived | grep -qx true"], "10s"),
        stop_grace_period: "10s",
        deploy: {
          mode: "global",
          // Host network: no service DNS to round-robin, and no VIP either.
          endpoint_mode: "dnsrr",
          placement: { constraints: ["node.labels.lb == true"] },
          ...deployPolicy(stack, "stop-first", "10s", "15s"),
        },
      },
    },
    { networks: { host: { external: true, name: "host" } } },
  );
}
