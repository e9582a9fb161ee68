// The cluster's private network: a network, a subnet and a router to the external
// network, or an existing network (by name) when `openstack.existingNetwork` is set.
import * as openstack from "@pulumi/openstack";
import * as pulumi from "@pulumi/pulumi";

export interface NetworkArgs {
  /** Name of the external network that the router and floating IPs use. */
  readonly externalNetwork: pulumi.Input<string>;
  /** CIDR of the private subnet to create. */
  readonly subnetCidr: pulumi.Input<string>;
  /** DNS servers handed out on the private subnet. */
  readonly dnsNameservers?: pulumi.Input<pulumi.Input<string>[]>;
  /** Use this existing network (by name) and its subnet instead of creating them. */
  readonly existingNetwork?: string;
}

/**
 * The private network (`flotilla:openstack:Network`): network, subnet, router and router
 * interface to the external network, or look-ups of an existing network and its subnet.
 * Outputs the network, subnet and external network IDs, and what floating IPs wait for.
 */
export class Network extends pulumi.ComponentResource {
  /** ID of the private network the cluster's ports are on. */
  readonly networkId: pulumi.Output<string>;
  /** ID of the private subnet. */
  readonly subnetId: pulumi.Output<string>;
  /** ID of the external network (floating IPs come from it). */
  readonly externalNetworkId: pulumi.Output<string>;
  /**
   * What a floating IP on this network must wait for: the router interface that makes
   * the subnet reachable from the external network (nothing for an existing network).
   */
  readonly floatingIpDependencies: pulumi.Resource[];

  constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("flotilla:openstack:Network", name, {}, opts);
    const external = openstack.networking.getNetworkOutput(
      { name: args.externalNetwork, external: true },
      { parent: this },
    );
    this.externalNetworkId = external.id;

    if (args.existingNetwork !== undefined) {
      const network = openstack.networking.getNetworkOutput({ name: args.existingNetwork }, { parent: this });
      this.networkId = network.id;
      this.subnetId = openstack.networking.getSubnetOutput(
        { networkId: network.id, ipVersion: 4 },
        { parent: this },
      ).id;
      this.floatingIpDependencies = [];
    } else {
      const network = new openstack.networking.Network(
        `${name}-net`,
        { name: `${name}-net`, adminStateUp: true },
        { parent: this },
      );
      const subnet = new openstack.networking.Subnet(
        `${name}-subnet`,
        {
          name: `${name}-subnet`,
          networkId: network.id,
          cidr: args.subnetCidr,
          ipVersion: 4,
          enableDhcp: true,
          dnsNameservers: args.dnsNameservers,
        },
        { parent: this },
      );
      const router = new openstack.networking.Router(
        `${name}-router`,
        { name: `${name}-router`, adminStateUp: true, externalNetworkId: external.id },
        { parent: this },
      );
      const routerInterface = new openstack.networking.RouterInterface(
        `${name}-router-interface`,
        { routerId: router.id, subnetId: subnet.id },
        { parent: this },
      );
      this.networkId = network.id;
      this.subnetId = subnet.id;
      this.floatingIpDependencies = [routerInterface];
    }
    this.registerOutputs({
      networkId: this.networkId,
      subnetId: this.subnetId,
      externalNetworkId: this.externalNetworkId,
    });
  }
}
