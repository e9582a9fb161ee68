// The shape every target's cluster gives the program (LocalSwarm, OpenStackCluster, and
// any new target): where the stacks deploy, where customers reach them, keepalived's
// virtual IP when there is one, the bastion when there is one, and what to wait for.
import type * as command from "@pulumi/command";
import type * as pulumi from "@pulumi/pulumi";
import { localCommand, remoteCommand } from "../repo";

/** Where `docker stack deploy` runs: this machine's engine, or a Swarm manager over SSH. */
export type Deployer = (
  | { readonly kind: "local" }
  | {
      readonly kind: "remote";
      /** SSH connection to a manager (pinned host key; through the bastion or direct). */
      readonly connection: pulumi.Input<command.types.input.remote.ConnectionArgs>;
    }
) & {
  /**
   * The Swarm's cluster ID, once it exists. It is part of every stack's deploy command:
   * a Swarm made anew (its first manager replaced) changes it, so every stack redeploys
   * into the new Swarm instead of `up` reporting success over an empty one; and the
   * deploy script refuses a manager of any other Swarm.
   */
  readonly swarmId?: pulumi.Input<string>;
};

/** keepalived's virtual IP (`a.b.c.d/32`, a host route whatever the subnet) and the load-balancer nodes' addresses. */
export interface VirtualIp {
  /** The virtual IP with its prefix (`a.b.c.d/32`). */
  readonly vip: string;
  /** The load-balancer nodes' private addresses (keepalived's unicast peers). */
  readonly peers: string[];
}

/** A registry a target runs itself (the lab's), pushed to from this machine, pulled from by the nodes. */
export interface ImageRegistry {
  /** Repository prefix this machine pushes to (`127.0.0.1:5000/flotilla`). */
  readonly push: string;
  /** The same repositories as the nodes reach them (`10.213.0.2:5000/flotilla`). */
  readonly pull: string;
  /** What must exist before the first push (the registry's container). */
  readonly dependsOn: pulumi.Input<pulumi.Resource>[];
}

/** A Swarm node as an operator reaches it (the `nodes` stack output). */
export interface NodeAccess {
  /** Its plan key (`manager-0`, `worker-2`). */
  readonly key: string;
  readonly role: "manager" | "worker";
  /** Placement labels (`lb`, `db`). */
  readonly labels: readonly string[];
  /** Its private address (the Swarm advertise address). */
  readonly address: pulumi.Input<string>;
  /** The SSH connection the program's commands use (through the bastion or direct). */
  readonly connection: pulumi.Input<command.types.input.remote.ConnectionArgs>;
}

/**
 * A Swarm to deploy the stacks onto: what index.ts wires, whatever the target. It is the
 * cluster's component itself, so the stacks can depend on it.
 */
export interface ClusterTarget extends pulumi.Resource {
  /** Where the stacks' deploy commands run. */
  readonly deployer: Deployer;
  /** The host customers reach the webapp at (the VIP's floating IP, a node's, or `localhost`). */
  readonly publicAddress: pulumi.Output<string>;
  /** keepalived's virtual IP and peers; undefined when the target has no VIP or keepalived is off. */
  readonly virtualIp?: pulumi.Output<VirtualIp>;
  /** The bastion's public address; undefined when the target has no bastion. */
  readonly bastionAddress?: pulumi.Output<string>;
  /** Resolves once the Swarm is up, labelled and its data paths ready (a one-line summary). */
  readonly ready: pulumi.Output<string>;
  /** The registry the target runs for the images, if it runs one (else `images.registry` or none). */
  readonly registry?: ImageRegistry;
  /** Every node, in plan order (remote targets; the local engine has none to reach). */
  readonly nodes?: readonly NodeAccess[];
}

/** The command line that runs a repository script where a deployer deploys (remote: as root, `sudo -n`). */
export function deployerCommand(deployer: Deployer, script: string, args: readonly string[]): string {
  return deployer.kind === "local" ? localCommand(script, args) : remoteCommand(script, args);
}
