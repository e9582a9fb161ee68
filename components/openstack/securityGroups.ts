// Least-privilege security groups (the rule table is components/openstack/plan.ts's
// securityRules): one group per role, rules between groups by remote group, never
// by address, so membership alone decides who talks to whom.
import * as openstack from "@pulumi/openstack";
import * as pulumi from "@pulumi/pulumi";
import type { GroupName, RuleSpec } from "./plan";

export interface SecurityGroupsArgs {
  /** Every ingress rule, from securityRules(config). */
  readonly rules: readonly RuleSpec[];
}

const GROUPS: Record<GroupName, string> = {
  bastion: "SSH jump host: SSH from the admin CIDRs",
  node: "every Swarm node: SSH from the bastion, Swarm gossip and overlay between members",
  manager: "Swarm managers: cluster management port from members",
  lb: "load-balancer nodes: HTTP(S) from clients, HAProxy stats from admins, VRRP between them",
};

/**
 * The four security groups (`flotilla:openstack:SecurityGroups`: bastion, node, manager,
 * lb) and one ingress rule resource per RuleSpec. Outputs `ids`, the group IDs by role.
 */
export class SecurityGroups extends pulumi.ComponentResource {
  /** Security group IDs by role. */
  readonly ids: Record<GroupName, pulumi.Output<string>>;

  constructor(name: string, args: SecurityGroupsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("flotilla:openstack:SecurityGroups", name, {}, opts);
    const groups = {} as Record<GroupName, openstack.networking.SecGroup>;
    for (const [group, description] of Object.entries(GROUPS) as [GroupName, string][]) {
      groups[group] = new openstack.networking.SecGroup(
        `${name}-${group}`,
        { name: `${name}-${group}`, description: `Flotilla ${description}` },
        { parent: this },
      );
    }
    for (const rule of args.rules) {
      new openstack.networking.SecGroupRule(
        `${name}-${rule.group}-${rule.id}`,
        {
          securityGroupId: groups[rule.group].id,
          description: rule.description,
          direction: "ingress",
          ethertype: "IPv4",
          protocol: rule.protocol,
          portRangeMin: rule.ports?.[0],
          portRangeMax: rule.ports?.[1],
          remoteIpPrefix: "cidr" in rule.from ? rule.from.cidr : undefined,
          remoteGroupId: "group" in rule.from ? groups[rule.from.group].id : undefined,
        },
        // Every input of a rule forces a replacement, and Neutron refuses a second rule with
        // the same match (a changed description alone): delete the old rule first.
        { parent: this, deleteBeforeReplace: true },
      );
    }
    this.ids = {
      bastion: groups.bastion.id,
      node: groups.node.id,
      manager: groups.manager.id,
      lb: groups.lb.id,
    };
    this.registerOutputs({ ids: this.ids });
  }
}
