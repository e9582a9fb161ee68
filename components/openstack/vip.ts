// The keepalived virtual IP: a reserved Neutron port that holds the address (so
// Neutron never hands it to anything else) and a floating IP on it. The load-balancer
// nodes' ports list the address in allowed_address_pairs (components/openstack/swarmNodes.ts),
// or port security would drop the traffic of whichever node holds the VIP.
import * as pulumi from "@pulumi/pulumi";
import { floatingIpOn, type PublicPortArgs, publicPort } from "./access";

/** The VIP's reserved port; its security group is the load-balancer nodes' (the VIP's traffic is theirs). */
export type VipArgs = PublicPortArgs;

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
    const port = publicPort(name, args, this, "Flotilla keepalived VIP (reserved: no VM is bound to it)");
    const fip = floatingIpOn(name, args, port, this, `${name} (Flotilla public address)`);
    this.portId = port.id;
    this.address = port.allFixedIps.apply((ips) => ips[0]);
    this.publicAddress = fip.address;
    this.registerOutputs({ address: this.address, publicAddress: this.publicAddress, portId: this.portId });
  }
}
