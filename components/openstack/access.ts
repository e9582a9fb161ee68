// How the operator and the public reach the OpenStack VMs: the operator's login, shared by
// the bastion and the Swarm nodes, and a port that a floating IP makes public, shared by
// the bastion and the keepalived VIP.
import * as openstack from "@pulumi/openstack";
import type * as pulumi from "@pulumi/pulumi";

/** How the operator logs in to a VM. */
export interface OperatorLoginArgs {
  /** Nova keypair name (the operator's key). */
  readonly keyPair: pulumi.Input<string>;
  /** The operator's public key (cloud-init authorizes it for `sshUser`). */
  readonly sshPublicKey: string;
  /** The image's login user. */
  readonly sshUser: string;
}

/** A port on the private network that a floating IP makes public. */
export interface PublicPortArgs {
  /** Private network the port is on. */
  readonly networkId: pulumi.Input<string>;
  /** Private subnet the port's fixed IP comes from. */
  readonly subnetId: pulumi.Input<string>;
  /** Security group of the port (of the VM behind it, or of the nodes that may hold its address). */
  readonly securityGroupId: pulumi.Input<string>;
  /** External network name the floating IP comes from. */
  readonly externalNetwork: pulumi.Input<string>;
  /** What the floating IP must wait for (the router interface: Network.floatingIpDependencies). */
  readonly floatingIpDependencies?: pulumi.Resource[];
}

/** The port `<name>-port` on the private network of `args`, a child of `parent`. */
export function publicPort(
  name: string,
  args: PublicPortArgs,
  parent: pulumi.Resource,
  description?: string,
): openstack.networking.Port {
  return new openstack.networking.Port(
    `${name}-port`,
    {
      name: `${name}-port`,
      ...(description ? { description } : {}),
      networkId: args.networkId,
      fixedIps: [{ subnetId: args.subnetId }],
      securityGroupIds: [args.securityGroupId],
      adminStateUp: true,
    },
    { parent },
  );
}

/**
 * The floating IP `<name>-fip` on `port`, from the external network of `args`, a child of
 * `parent`; made after `args.floatingIpDependencies` and anything in `after`.
 */
export function floatingIpOn(
  name: string,
  args: PublicPortArgs,
  port: openstack.networking.Port,
  parent: pulumi.Resource,
  description: string,
  after: pulumi.Resource[] = [],
): openstack.networking.FloatingIp {
  return new openstack.networking.FloatingIp(
    `${name}-fip`,
    { pool: args.externalNetwork, portId: port.id, description },
    { parent, dependsOn: [...after, ...(args.floatingIpDependencies ?? [])] },
  );
}
