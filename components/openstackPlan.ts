// Pure planning for the OpenStack target: which nodes exist, what they carry, and
// the security rules between them. No Pulumi imports: unit-tested without mocks, and
// the components only turn these plans into resources.
import type { FlotillaConfig } from "./config";

/** Placement labels the stacks' constraints use (node.labels.lb / node.labels.db). */
export type NodeLabel = "lb" | "db";

export interface NodePlan {
  /** Stable key, part of every resource name of the node: `manager-0`, `worker-2`. */
  readonly key: string;
  readonly role: "manager" | "worker";
  readonly index: number;
  /** Placement labels (`lb=true`, `db=true`) the bootstrap applies. */
  readonly labels: readonly NodeLabel[];
}

/**
 * Managers first, then workers; the first `loadBalancerNodes` workers carry `lb`, the
 * next one carries `db` (or the last worker, when every worker is a load balancer).
 * Keys are positional and `db` sits right after the `lb` nodes, so adding a worker
 * adds one plain node and never moves the database or its volume.
 */
export function planNodes(swarm: FlotillaConfig["swarm"]): NodePlan[] {
  const nodes: NodePlan[] = [];
  for (let i = 0; i < swarm.managers; i++)
    nodes.push({ key: `manager-${i}`, role: "manager", index: i, labels: [] });
  for (let i = 0; i < swarm.workers; i++) {
    const labels: NodeLabel[] = [];
    if (i < swarm.loadBalancerNodes) labels.push("lb");
    if (i === Math.min(swarm.loadBalancerNodes, swarm.workers - 1)) labels.push("db");
    nodes.push({ key: `worker-${i}`, role: "worker", index: i, labels });
  }
  return nodes;
}

/** The security groups Flotilla creates; every port gets the ones its role needs. */
export type GroupName = "bastion" | "node" | "manager" | "lb";

/** Security groups per node role (the bastion has only `bastion`). */
export function groupsFor(node: NodePlan): GroupName[] {
  const groups: GroupName[] = ["node"];
  if (node.role === "manager") groups.push("manager");
  if (node.labels.includes("lb")) groups.push("lb");
  return groups;
}

export interface RuleSpec {
  /** Group the rule belongs to (ingress to its members). */
  readonly group: GroupName;
  /** Short stable id, part of the rule's resource name. */
  readonly id: string;
  readonly description: string;
  /** Neutron protocol name (`vrrp` is IP protocol 112). */
  readonly protocol: "tcp" | "udp" | "vrrp";
  readonly ports?: readonly [number, number];
  /** Where traffic may come from: a CIDR, or the members of a group. */
  readonly from: { readonly cidr: string } | { readonly group: GroupName };
}

/** Consul's HTTP port (UI and API): published for the admin CIDRs only. */
export const CONSUL_UI_PORT_DEFAULT = 8500;

/**
 * Every ingress rule, least privilege. Egress keeps Neutron's default (allow all out).
 * MySQL (3306) has no rule at all: it is reached over the Swarm overlay only.
 */
export function securityRules(config: FlotillaConfig): RuleSpec[] {
  const rules: RuleSpec[] = [];
  const admin = config.access.adminCidrs;
  const clients = config.access.clientCidrs;
  const slug = (cidr: string) => cidr.replace(/[./]/g, "-");
  for (const cidr of admin)
    rules.push({
      group: "bastion",
      id: `ssh-${slug(cidr)}`,
      description: `SSH to the bastion from admin ${cidr}`,
      protocol: "tcp",
      ports: [22, 22],
      from: { cidr },
    });
  rules.push(
    {
      group: "node",
      id: "ssh-bastion",
      description: "SSH to Swarm nodes from the bastion only",
      protocol: "tcp",
      ports: [22, 22],
      from: { group: "bastion" },
    },
    {
      group: "manager",
      id: "swarm-api",
      description: "Swarm cluster management (2377/tcp) from cluster members",
      protocol: "tcp",
      ports: [2377, 2377],
      from: { group: "node" },
    },
    {
      group: "node",
      id: "gossip-tcp",
      description: "Swarm node gossip (7946/tcp) between cluster members",
      protocol: "tcp",
      ports: [7946, 7946],
      from: { group: "node" },
    },
    {
      group: "node",
      id: "gossip-udp",
      description: "Swarm node gossip (7946/udp) between cluster members",
      protocol: "udp",
      ports: [7946, 7946],
      from: { group: "node" },
    },
    {
      group: "node",
      id: "vxlan",
      description: "Swarm overlay networks (VXLAN 4789/udp) between cluster members",
      protocol: "udp",
      ports: [4789, 4789],
      from: { group: "node" },
    },
    {
      group: "lb",
      id: "vrrp",
      description: "keepalived VRRP (IP protocol 112) between load-balancer nodes",
      protocol: "vrrp",
      from: { group: "lb" },
    },
  );
  const publicPorts: [string, number][] = [
    ["http", config.haproxy.httpPort],
    ["https", config.haproxy.httpsPort],
  ];
  for (const [what, port] of publicPorts)
    for (const cidr of clients)
      rules.push({
        group: "lb",
        id: `${what}-${slug(cidr)}`,
        description: `${what.toUpperCase()} to the load balancers from client ${cidr}`,
        protocol: "tcp",
        ports: [port, port],
        from: { cidr },
      });
  const adminPorts: [string, string, number][] = [
    ["stats", "HAProxy stats", config.haproxy.statsPort],
    ["consul-ui", "Consul UI", config.consul.uiPort],
  ];
  for (const [id, what, port] of adminPorts)
    for (const cidr of admin)
      rules.push({
        group: "lb",
        id: `${id}-${slug(cidr)}`,
        description: `${what} from admin ${cidr}`,
        protocol: "tcp",
        ports: [port, port],
        from: { cidr },
      });
  return rules;
}
