// Pure planning of a multi-node Swarm (shared by every target that builds one): which
// nodes exist, their roles, and the placement labels the stacks' constraints use.
// No Pulumi imports: unit-tested without mocks.
import type { FlotillaConfig } from "../config";

/** Placement labels the stacks' constraints use (node.labels.lb / node.labels.db). */
export type NodeLabel = "lb" | "db";

export interface NodePlan {
  /** Stable key, part of every resource name of the node: `manager-0`, `worker-2`. */
  readonly key: string;
  /** Swarm role. */
  readonly role: "manager" | "worker";
  /** Position among the nodes of its role, from 0. */
  readonly index: number;
  /** Placement labels (`lb=true`, `db=true`) the bootstrap applies. */
  readonly labels: readonly NodeLabel[];
  /** A Galera member's index (`db_member=<i>`, from 1) on a `db` node, when mysql.nodes > 1. */
  readonly dbMember?: number;
}

/**
 * Managers first, then workers; the first `loadBalancerNodes` workers carry `lb`, the
 * next one carries `db` (or the last worker, when every worker is a load balancer).
 * Keys are positional and `db` sits right after the `lb` nodes, so adding a worker
 * adds one plain node and never moves the database or its volume. With `dbNodes` > 1
 * (mysql.nodes, a Galera cluster) the next `dbNodes` workers carry `db`, member i also
 * `db_member=i` (the schema requires the workers for them).
 */
export function planNodes(
  swarm: Pick<FlotillaConfig["swarm"], "managers" | "workers" | "loadBalancerNodes">,
  dbNodes = 1,
): NodePlan[] {
  const nodes: NodePlan[] = [];
  for (let i = 0; i < swarm.managers; i++)
    nodes.push({ key: `manager-${i}`, role: "manager", index: i, labels: [] });
  for (let i = 0; i < swarm.workers; i++) {
    const labels: NodeLabel[] = [];
    if (i < swarm.loadBalancerNodes) labels.push("lb");
    const member = i - swarm.loadBalancerNodes + 1;
    if (dbNodes > 1) {
      if (member >= 1 && member <= dbNodes) labels.push("db");
    } else if (i === Math.min(swarm.loadBalancerNodes, swarm.workers - 1)) labels.push("db");
    const dbMember = dbNodes > 1 && labels.includes("db") ? { dbMember: member } : {};
    nodes.push({ key: `worker-${i}`, role: "worker", index: i, labels, ...dbMember });
  }
  return nodes;
}

/**
 * The nodes with the bootstrap manager (`swarm.bootstrapManager`) first, the others in plan
 * order: the first node is the one that made the Swarm (init), reads the join tokens,
 * labels every node and runs the deploys. Moving the role to another manager is how the
 * first manager's VM is replaced safely (init on a manager already in the Swarm does
 * nothing; the former one then joins like any other manager).
 */
export function bootstrapFirst<T extends { readonly plan: NodePlan }>(
  nodes: readonly T[],
  manager: number,
): T[] {
  const first = nodes.find((n) => n.plan.role === "manager" && n.plan.index === manager);
  if (!first) throw new Error(`bootstrapFirst: no manager-${manager} among the nodes`);
  return [first, ...nodes.filter((n) => n !== first)];
}
