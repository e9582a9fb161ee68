// The whole OpenStack side of a stack (`target: openstack`): network, security groups,
// bastion, keepalived VIP, Swarm VMs, Swarm bootstrap and the MySQL data volume,
// exposing what the stacks need to deploy onto it (a ClusterTarget).
import type * as command from "@pulumi/command";
import * as openstack from "@pulumi/openstack";
import * as pulumi from "@pulumi/pulumi";
import type { FlotillaConfig, OpenStackConfig } from "../config";
import {
  bootstrapFirst,
  type ClusterTarget,
  type Deployer,
  type NodeAccess,
  nodeConnection,
  planNodes,
  SwarmBootstrap,
  type VirtualIp,
} from "../swarm";
import { Bastion } from "./bastion";
import { keypairName } from "./cloudChecks";
import { DataVolume } from "./dataVolume";
import { Network } from "./network";
import { securityRules } from "./plan";
import { SecurityGroups } from "./securityGroups";
import { SwarmNodes } from "./swarmNodes";
import { Vip } from "./vip";

export interface OpenStackClusterArgs {
  /** The validated configuration (target `openstack`). */
  readonly config: FlotillaConfig;
}

/**
 * The OpenStack cluster (`flotilla:openstack:OpenStackCluster`): operator keypair,
 * Network, SecurityGroups, Bastion, Vip (keepalived on), SwarmNodes, SwarmBootstrap,
 * DataVolume, and a floating IP on the first `lb` node when there is no VIP. A
 * ClusterTarget: outputs the deployer (SSH to the first manager), the public address, the
 * virtual IP (`/32`) with its peers, the bastion's address, and `ready`.
 */
export class OpenStackCluster extends pulumi.ComponentResource implements ClusterTarget {
  /** Deploys run on the first manager, over `managerConnection`. */
  readonly deployer: Deployer;
  /** SSH connection to the first manager (pinned, through the bastion in `jump` mode): where `docker stack deploy` runs. */
  readonly managerConnection: pulumi.Output<command.types.input.remote.ConnectionArgs>;
  /** The public address of the web application: the VIP's floating IP (or a load-balancer node's). */
  readonly publicAddress: pulumi.Output<string>;
  /** The bastion's floating IP. */
  readonly bastionAddress: pulumi.Output<string>;
  /** The MySQL data directory on the `db` node (the mounted Cinder volume). */
  readonly mysqlDataPath: pulumi.Output<string>;
  /** Private addresses of the load-balancer nodes (keepalived unicast peers). */
  readonly lbPrivateAddresses: pulumi.Output<string[]>;
  /** The keepalived VIP (private address); undefined when keepalived is disabled. */
  readonly vipAddress: pulumi.Output<string> | undefined;
  /** keepalived's VIP as a host route (`a.b.c.d/32`) and the `lb` nodes' addresses; undefined when keepalived is disabled. */
  readonly virtualIp: pulumi.Output<VirtualIp> | undefined;
  /** Resolves after bootstrap, labels and the volume mount: stacks depend on it. */
  readonly ready: pulumi.Output<string>;
  /** Every node as an operator reaches it (the `nodes` stack output). */
  readonly nodes: readonly NodeAccess[];

  constructor(name: string, args: OpenStackClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("flotilla:openstack:OpenStackCluster", name, {}, opts);
    const { config } = args;
    const os: OpenStackConfig | undefined = config.openstack;
    // An invariant of the wiring: the schema requires the section with this target.
    if (config.target !== "openstack" || !os)
      throw new Error(
        "OpenStackCluster: flotilla:target must be 'openstack' with a flotilla:openstack section",
      );

    const keyPair = new openstack.compute.Keypair(
      `${name}-operator`,
      // Keypair names are unique per OpenStack user: include the stack.
      { name: keypairName(name, pulumi.getStack()), publicKey: os.sshPublicKey },
      { parent: this },
    );
    const network = new Network(
      `${name}-network`,
      {
        externalNetwork: os.externalNetwork,
        subnetCidr: os.subnetCidr,
        dnsNameservers: os.dnsNameservers,
        existingNetwork: os.existingNetwork,
      },
      { parent: this },
    );
    const groups = new SecurityGroups(`${name}-sg`, { rules: securityRules(config) }, { parent: this });
    const bastion = new Bastion(
      `${name}-bastion`,
      {
        networkId: network.networkId,
        subnetId: network.subnetId,
        securityGroupId: groups.ids.bastion,
        externalNetwork: os.externalNetwork,
        floatingIpDependencies: network.floatingIpDependencies,
        image: os.image,
        flavor: os.flavors.bastion,
        keyPair: keyPair.name,
        sshPublicKey: os.sshPublicKey,
        sshUser: os.sshUser,
        availabilityZone: os.availabilityZone,
      },
      { parent: this },
    );
    const vip = config.keepalived.enabled
      ? new Vip(
          `${name}-vip`,
          {
            networkId: network.networkId,
            subnetId: network.subnetId,
            securityGroupId: groups.ids.lb,
            externalNetwork: os.externalNetwork,
            floatingIpDependencies: network.floatingIpDependencies,
          },
          { parent: this },
        )
      : undefined;
    const swarm = new SwarmNodes(
      `${name}-swarm`,
      {
        nodes: planNodes(config.swarm, config.mysql.nodes),
        networkId: network.networkId,
        subnetId: network.subnetId,
        securityGroupIds: groups.ids,
        image: os.image,
        managerFlavor: os.flavors.manager,
        workerFlavor: os.flavors.worker,
        keyPair: keyPair.name,
        sshPublicKey: os.sshPublicKey,
        sshUser: os.sshUser,
        vipAddress: vip?.address,
        availabilityZone: os.availabilityZone,
        logging: config.logging,
      },
      { parent: this },
    );

    const plan = {
      mode: os.connection,
      user: os.sshUser,
      bastion: { host: bastion.publicAddress, hostKey: bastion.hostPublicKey },
    };
    const connect = (node: (typeof swarm.nodes)[number]) =>
      nodeConnection({ host: node.privateAddress, hostKey: node.hostPublicKey }, plan);

    const dbNodes = swarm.nodes.filter((n) => n.plan.labels.includes("db"));
    // An invariant of planNodes: the schema requires a worker beyond the lb nodes.
    if (dbNodes.length === 0) throw new Error("OpenStackCluster: the node plan has no `db` node");
    // One protected volume per database node (each Galera member its own); the first
    // keeps the single server's resource name, so going to a cluster never replaces it.
    const volumes = dbNodes.map(
      (dbNode, i) =>
        new DataVolume(
          i === 0 ? `${name}-mysql-data` : `${name}-mysql-data-${i + 1}`,
          {
            instanceId: dbNode.instanceId,
            connection: connect(dbNode),
            mountPath: config.mysql.dataPath,
            sizeGb: config.mysql.volumeSizeGb,
            volumeType: os.volumeType,
            availabilityZone: os.availabilityZone,
          },
          { parent: this },
        ),
    );
    // A db node is labelled (and MariaDB scheduled onto it) only once its volume is mounted;
    // in reverse, its drain stops MariaDB before the unmount.
    const mounted = new Map(dbNodes.map((n, i) => [n.plan.key, volumes[i]]));
    // The bootstrap manager first: it made the Swarm, labels the nodes and runs the deploys.
    const ordered = bootstrapFirst(swarm.nodes, config.swarm.bootstrapManager);
    const bootstrap = new SwarmBootstrap(
      `${name}-bootstrap`,
      {
        nodes: ordered.map((node) => {
          const volume = mounted.get(node.plan.key);
          return { ...node, connection: connect(node), ...(volume ? { labelAfter: [volume] } : {}) };
        }),
      },
      { parent: this },
    );
    const volume = volumes[0];

    const lbNodes = swarm.nodes.filter((n) => n.plan.labels.includes("lb"));
    if (vip) {
      this.publicAddress = vip.publicAddress;
    } else {
      const front = lbNodes[0] ?? swarm.nodes[0];
      this.publicAddress = new openstack.networking.FloatingIp(
        `${name}-public-fip`,
        { pool: os.externalNetwork, portId: front.portId, description: `${name} (Flotilla public address)` },
        { parent: this, dependsOn: network.floatingIpDependencies },
      ).address;
    }
    this.managerConnection = connect(ordered[0]);
    this.deployer = { kind: "remote", connection: this.managerConnection, swarmId: bootstrap.swarmId };
    this.bastionAddress = bastion.publicAddress;
    this.nodes = swarm.nodes.map((n) => ({
      key: n.plan.key,
      role: n.plan.role,
      labels: n.plan.labels,
      address: n.privateAddress,
      connection: connect(n),
    }));
    this.mysqlDataPath = volume.path;
    this.lbPrivateAddresses = pulumi.all(lbNodes.map((n) => n.privateAddress));
    this.vipAddress = vip?.address;
    this.virtualIp = vip
      ? pulumi
          .all([vip.address, this.lbPrivateAddresses])
          // A host route (/32) for the VIP: correct whatever the subnet's prefix, including an
          // existing network's.
          .apply(([address, peers]) => ({ vip: `${address}/32`, peers }))
      : undefined;
    this.ready = pulumi
      .all([bootstrap.ready, pulumi.all(volumes.map((v) => v.path))])
      .apply(
        ([labels, paths]) =>
          `swarm ready (${Object.keys(labels).length} nodes), MySQL data at ${paths[0]}${paths.length > 1 ? ` on ${paths.length} db nodes` : ""}`,
      );
    this.registerOutputs({
      managerConnection: this.managerConnection,
      publicAddress: this.publicAddress,
      bastionAddress: this.bastionAddress,
      mysqlDataPath: this.mysqlDataPath,
      lbPrivateAddresses: this.lbPrivateAddresses,
      vipAddress: this.vipAddress,
      virtualIp: this.virtualIp,
      ready: this.ready,
      // The quorum sizes, for the odd-quorums stack policy (it reads components' outputs).
      swarmManagers: config.swarm.managers,
      consulServers: config.consul.servers,
    });
  }
}
