// The bastion: the one SSH entry point (admin CIDRs only), a floating IP, the
// operator's key, password login off, and a host key the program generated.
import * as openstack from "@pulumi/openstack";
import * as pulumi from "@pulumi/pulumi";
import { hostKey, hostUserData } from "../swarm";
import { floatingIpOn, type OperatorLoginArgs, type PublicPortArgs, publicPort } from "./access";
import { IGNORED_INSTANCE_CHANGES, warnWhenBehind } from "./swarmNodes";

/** The bastion's port (its security group: SSH from admin CIDRs), VM and login. */
export interface BastionArgs extends PublicPortArgs, OperatorLoginArgs {
  /** Glance image name. */
  readonly image: pulumi.Input<string>;
  /** Nova flavor name. */
  readonly flavor: pulumi.Input<string>;
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
    const port = publicPort(name, args, this);
    const userData = hostUserData(key, {
      hostname: name,
      sshUser: args.sshUser,
      authorizedKeys: [args.sshPublicKey],
      docker: false,
    });
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
    const fip = floatingIpOn(name, args, port, this, `${name} (Flotilla bastion)`, [instance]);
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
