// The bastion: the one SSH entry point (admin CIDRs only), a floating IP, the
// operator's key, password login off, and a host key the program generated.
import * as openstack from "@pulumi/openstack";
import * as pulumi from "@pulumi/pulumi";
import { hostKey, renderCloudInit } from "../swarm";
import { IGNORED_INSTANCE_CHANGES, warnWhenBehind } from "./swarmNodes";

export interface BastionArgs {
  /** Private network the bastion's port is on. */
  readonly networkId: pulumi.Input<string>;
  /** Private subnet of the bastion's fixed IP. */
  readonly subnetId: pulumi.Input<string>;
  /** Security group of the bastion (SSH from admin CIDRs). */
  readonly securityGroupId: pulumi.Input<string>;
  /** External network name the floating IP comes from. */
  readonly externalNetwork: pulumi.Input<string>;
  /** What the floating IP must wait for (the router interface: Network.floatingIpDependencies). */
  readonly floatingIpDependencies?: pulumi.Resource[];
  /** Glance image name. */
  readonly image: pulumi.Input<string>;
  /** Nova flavor name. */
  readonly flavor: pulumi.Input<string>;
  /** Nova keypair name (the operator's key). */
  readonly keyPair: pulumi.Input<string>;
  /** The operator's public key (cloud-init authorizes it for `sshUser`). */
  readonly sshPublicKey: string;
  /** The image's login user. */
  readonly sshUser: string;
  /** Availability zone (the cloud's default when unset). */
  readonly availabilityZone?: pulumi.Input<string>;
}

/**
 * The bastion (`flotilla:openstack:Bastion`): a port in the bastion group, a VM with
 * cloud-init (no Docker) and a program-generated host key, and a floating IP. Outputs its
 * public and private addresses and the host key connections pin.
 */
export class Bastion extends pulumi.ComponentResource {
  /** The bastion's floating IP: where operators (and `connection: jump`) SSH to. */
  readonly publicAddress: pulumi.Output<string>;
  /** The bastion's private address. */
  readonly privateAddress: pulumi.Output<string>;
  /** The bastion's pinned SSH host key (`ssh-ed25519 ...`). */
  readonly hostPublicKey: pulumi.Output<string>;

  constructor(name: string, args: BastionArgs, opts?: pulumi.ComponentResourceOptions) {
    super("flotilla:openstack:Bastion", name, {}, opts);
    const key = hostKey(`${name}-host-key`, this);
    const port = new openstack.networking.Port(
      `${name}-port`,
      {
        name: `${name}-port`,
        networkId: args.networkId,
        fixedIps: [{ subnetId: args.subnetId }],
        securityGroupIds: [args.securityGroupId],
        adminStateUp: true,
      },
      { parent: this },
    );
    const userData = pulumi.secret(
      pulumi
        .all([key.privateKeyOpenssh, key.publicKeyOpenssh])
        .apply(([privateKeyOpenssh, publicKeyOpenssh]) =>
          renderCloudInit({
            hostname: name,
            sshUser: args.sshUser,
            authorizedKeys: [args.sshPublicKey],
            hostKey: { privateKeyOpenssh, publicKeyOpenssh },
            docker: false,
          }),
        ),
    );
    const instance = new openstack.compute.Instance(
      `${name}-vm`,
      {
        name,
        imageName: args.image,
        flavorName: args.flavor,
        keyPair: args.keyPair,
        availabilityZone: args.availabilityZone,
        networks: [{ port: port.id }],
        userData,
        metadata: { "flotilla-role": "bastion" },
      },
      // As every node: a running bastion keeps its user-data, key pair, image and flavor.
      { parent: this, ignoreChanges: [...IGNORED_INSTANCE_CHANGES], deleteBeforeReplace: true },
    );
    warnWhenBehind(name, "openstack.image", instance.imageName, args.image);
    warnWhenBehind(name, "openstack.flavors.bastion", instance.flavorName, args.flavor);
    const fip = new openstack.networking.FloatingIp(
      `${name}-fip`,
      { pool: args.externalNetwork, portId: port.id, description: `${name} (Flotilla bastion)` },
      { parent: this, dependsOn: [instance, ...(args.floatingIpDependencies ?? [])] },
    );
    this.publicAddress = fip.address;
    this.privateAddress = port.allFixedIps.apply((ips) => ips[0]);
    this.hostPublicKey = key.publicKeyOpenssh;
    this.registerOutputs({
      publicAddress: this.publicAddress,
      privateAddress: this.privateAddress,
      hostPublicKey: this.hostPublicKey,
    });
  }
}
