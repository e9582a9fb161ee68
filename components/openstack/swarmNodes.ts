// The Swarm's VMs: one port and one instance per planned node, managers in one
// anti-affinity server group and load-balancer nodes in another (one hypervisor
// failure cannot take the Raft quorum or both HAProxies), the Docker engine from
// cloud-init, and a program-generated host key per node.
import * as openstack from "@pulumi/openstack";
import * as pulumi from "@pulumi/pulumi";
import { hostKey, hostUserData, type LogRotation, type NodePlan } from "../swarm";
import type { OperatorLoginArgs } from "./access";
import { type GroupName, groupsFor } from "./plan";

export interface SwarmNodesArgs extends OperatorLoginArgs {
  /** The planned nodes (planNodes(config.swarm)). */
  readonly nodes: readonly NodePlan[];
  /** Private network of the nodes' ports. */
  readonly networkId: pulumi.Input<string>;
  /** Private subnet of the nodes' fixed IPs. */
  readonly subnetId: pulumi.Input<string>;
  /** Security group IDs by role. */
  readonly securityGroupIds: Record<GroupName, pulumi.Input<string>>;
  /** Glance image name of every node. */
  readonly image: pulumi.Input<string>;
  /** Nova flavor of the managers. */
  readonly managerFlavor: pulumi.Input<string>;
  /** Nova flavor of the workers (load-balancer and database nodes included). */
  readonly workerFlavor: pulumi.Input<string>;
  /** The keepalived VIP, allowed on the load-balancer nodes' ports (none: no VIP). */
  readonly vipAddress?: pulumi.Input<string>;
  /** Availability zone (the cloud's default when unset). */
  readonly availabilityZone?: pulumi.Input<string>;
  /** Container log rotation of every node's engine (config `logging`; default 10m × 3). */
  readonly logging?: LogRotation;
}

export interface SwarmNode {
  /** The node's plan: key, role, labels. */
  readonly plan: NodePlan;
  /** Host name and VM name. */
  readonly hostname: string;
  /** ID of the VM. */
  readonly instanceId: pulumi.Output<string>;
  /** ID of the node's port. */
  readonly portId: pulumi.Output<string>;
  /** The node's private address (Swarm advertise address, SSH target). */
  readonly privateAddress: pulumi.Output<string>;
  /** The node's pinned SSH host key (`ssh-ed25519 ...`). */
  readonly hostPublicKey: pulumi.Output<string>;
}

/**
 * The Swarm's VMs (`flotilla:openstack:SwarmNodes`): per planned node a port (its role's
 * security groups; the VIP in allowed_address_pairs on `lb` nodes), a host key and a VM
 * with cloud-init and Docker; anti-affinity server groups for managers, for `lb` nodes and
 * for the Galera members' `db` nodes.
 * Outputs `nodes`: plan, host name, instance and port IDs, private address, host key.
 */
/** Instance inputs a running VM keeps whatever the config says (see the Instance below). */
export const IGNORED_INSTANCE_CHANGES = ["userData", "keyPair", "imageName", "flavorName"] as const;

/**
 * A warning (in preview and up) when a VM runs another image or flavor than the config
 * now names: the change is ignored for running VMs and waits for the node replacement.
 */
export function warnWhenBehind(
  hostname: string,
  key: string,
  running: pulumi.Output<string | undefined>,
  wanted: pulumi.Input<string>,
): void {
  pulumi.all([running, wanted]).apply(([current, next]) => {
    if (current && next && current !== next)
      pulumi.log.warn(
        `${hostname} runs ${key} '${current}', the config says '${next}': running nodes keep theirs; replace them one at a time (docs/operations.md, "Replacing nodes")`,
      );
  });
}

export class SwarmNodes extends pulumi.ComponentResource {
  /** Every node, in plan order (managers first). */
  readonly nodes: SwarmNode[];

  constructor(name: string, args: SwarmNodesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("flotilla:openstack:SwarmNodes", name, {}, opts);
    // An invariant of planNodes (the schema requires one manager or more).
    if (!args.nodes.some((n) => n.role === "manager"))
      throw new Error("SwarmNodes: at least one manager is required");
    const serverGroup = (what: string) =>
      new openstack.compute.ServerGroup(
        `${name}-${what}-anti-affinity`,
        { name: `${name}-${what}`, policies: ["anti-affinity"] },
        { parent: this },
      );
    const managersGroup = serverGroup("managers");
    const lbGroup = args.nodes.some((n) => n.labels.includes("lb")) ? serverGroup("lb") : undefined;
    // Galera members on distinct hypervisors (one host failure costs one member). A single
    // db node is in the group too: scheduler hints are fixed at a VM's creation, so going
    // from one to three members must find the first one already in it.
    const isDb = (n: NodePlan) => n.labels.includes("db");
    const dbGroup = args.nodes.some(isDb) ? serverGroup("db") : undefined;

    this.nodes = args.nodes.map((plan) => {
      const hostname = `${name}-${plan.key}`;
      const key = hostKey(`${hostname}-host-key`, this);
      const isLb = plan.labels.includes("lb");
      const port = new openstack.networking.Port(
        `${hostname}-port`,
        {
          name: `${hostname}-port`,
          networkId: args.networkId,
          fixedIps: [{ subnetId: args.subnetId }],
          securityGroupIds: groupsFor(plan).map((g) => args.securityGroupIds[g]),
          allowedAddressPairs:
            isLb && args.vipAddress !== undefined ? [{ ipAddress: args.vipAddress }] : undefined,
          adminStateUp: true,
        },
        { parent: this },
      );
      const userData = hostUserData(key, {
        hostname,
        sshUser: args.sshUser,
        authorizedKeys: [args.sshPublicKey],
        docker: true,
        logging: args.logging,
      });
      const group =
        plan.role === "manager" ? managersGroup : isLb ? lbGroup : isDb(plan) ? dbGroup : undefined;
      const instance = new openstack.compute.Instance(
        `${hostname}-vm`,
        {
          name: hostname,
          imageName: args.image,
          flavorName: plan.role === "manager" ? args.managerFlavor : args.workerFlavor,
          keyPair: args.keyPair,
          availabilityZone: args.availabilityZone,
          networks: [{ port: port.id }],
          schedulerHints: group ? [{ group: group.id }] : undefined,
          userData,
          metadata: { "flotilla-role": plan.role, "flotilla-labels": plan.labels.join(",") },
        },
        // A running VM is never changed by a setting: cloud-init runs at first boot only
        // (userData); the key pair only seeds a new VM (replaced otherwise); a new image
        // would rebuild it in place and a new flavor resize it, every node at once with no
        // drain. Such changes take effect for new nodes; existing ones are replaced one at
        // a time with the node replacement procedure (docs/operations.md), and `up` says so.
        {
          parent: this,
          ignoreChanges: [...IGNORED_INSTANCE_CHANGES],
          // Replaced delete-first, whatever asks for it (`pulumi up --replace` included,
          // which the engine would otherwise do create-first): its dependents go first, so
          // the node is drained and its volume unmounted and detached before the VM goes.
          deleteBeforeReplace: true,
        },
      );
      warnWhenBehind(hostname, "openstack.image", instance.imageName, args.image);
      warnWhenBehind(
        hostname,
        plan.role === "manager" ? "openstack.flavors.manager" : "openstack.flavors.worker",
        instance.flavorName,
        plan.role === "manager" ? args.managerFlavor : args.workerFlavor,
      );
      return {
        plan,
        hostname,
        instanceId: instance.id,
        portId: port.id,
        privateAddress: port.allFixedIps.apply((ips) => ips[0]),
        hostPublicKey: key.publicKeyOpenssh,
      };
    });
    this.registerOutputs({
      nodes: this.nodes.map((n) => ({
        key: n.plan.key,
        privateAddress: n.privateAddress,
        instanceId: n.instanceId,
      })),
    });
  }
}
