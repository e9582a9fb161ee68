// Pure planning for the OpenStack target: the security groups each node gets and the
// rules between them. No Pulumi imports: unit-tested without mocks, and the components
// only turn these plans into resources. (Which nodes exist is components/swarm's plan.)
import type { FlotillaConfig } from "../config";
import type { NodePlan } from "../swarm";

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
  const adminPorts: [string, string, number][] = [["stats", "HAProxy stats", config.haproxy.statsPort]];
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
  // Prometheus' UI on the managers has no floating IP: admins reach it through the
  // bastion (`ssh -L 9090:<manager>:9090 <bastion>`), so only the bastion may connect.
  if (config.monitoring.enabled)
    rules.push({
      group: "manager",
      id: "prometheus-from-bastion",
      description: "Prometheus UI from the bastion (admins tunnel through it)",
      protocol: "tcp",
      ports: [config.monitoring.port, config.monitoring.port],
      from: { group: "bastion" },
    });
  return rules;
}
