// The keepalived virtual IP: a reserved Neutron port that holds the address (so
// Neutron never hands it to anything else) and a floating IP on it. The load-balancer
// nodes' ports list the address in allowed_address_pairs (components/openstack/swarmNodes.ts),
// or port security would drop the traffic of whichever node holds the VIP.
import * as openstack from "@pulumi/openstack";
import * as pulumi from "@pulumi/pulumi";

export interface VipArgs {
  /** Private network the VIP is on. */
  readonly networkId: pulumi.Input<string>;
  /** Private subnet the VIP's address comes from. */
  readonly subnetId: pulumi.Input<string>;
  /** Security group of the load-balancer nodes (the VIP's traffic is theirs). */
  readonly securityGroupId: pulumi.Input<string>;
  /** External network name the floating IP comes from. */
  readonly externalNetwork: pulumi.Input<string>;
  /** What the floating IP must wait for (the router interface: Network.floatingIpDependencies). */
  readonly floatingIpDependencies?: pulumi.Resource[];
}

/**
 * keepalived's virtual IP (`flotilla:openstack:Vip`): a reserved port holding the
 * address and a floating IP on it. Outputs the private address, the public address (the
 * webapp's) and the port ID.
 */
export class Vip extends pulumi.ComponentResource {
  /** The VIP's private address (keepalived's virtual_ipaddress). */
  readonly address: pulumi.Output<string>;
  /** The floating IP in front of it: the public address of the web application. */
  readonly publicAddress: pulumi.Output<string>;
  /** ID of the reserved port. */
  readonly portId: pulumi.Output<string>;

  constructor(name: string, args: VipArgs, opts?: pulumi.ComponentResourceOptions) {
    super("flotilla:openstack:Vip", name, {}, opts);
    const port = new openstack.networking.Port(
      `${name}-port`,
      {
        name: `${name}-port`,
        description: "Flotilla keepalived VIP (reserved: no VM is bound to it)",
        networkId: args.networkId,
        fixedIps: [{ subnetId: args.subnetId }],
        securityGroupIds: [args.securityGroupId],
        adminStateUp: true,
      },
      { parent: this },
    );
    const fip = new openstack.networking.FloatingIp(
      `${name}-fip`,
      { pool: args.externalNetwork, portId: port.id, description: `${name} (Flotilla public address)` },
      { parent: this, dependsOn: args.floatingIpDependencies },
    );
    this.portId = port.id;
    this.address = port.allFixedIps.apply((ips) => ips[0]);
    this.publicAddress = fip.address;
    this.registerOutputs({ address: this.address, publicAddress: this.publicAddress, portId: this.portId });
  }
}
