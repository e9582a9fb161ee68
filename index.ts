// Flotilla: a highly available web application on Docker Swarm, from one typed
// configuration per stack. This file only wires the top-level components.
import * as pulumi from "@pulumi/pulumi";
import { Images } from "./components/images";
import { loadConfig } from "./components/loadConfig";
import { LocalSwarm } from "./components/localSwarm";
import { OpenStackCluster } from "./components/openstackCluster";
import { Secrets } from "./components/secrets";
import { Stacks } from "./components/stacks";
import type { Deployer } from "./components/swarmStack";

// Validated before any resource is registered: a bad config stops here, listing every problem.
const { config, secrets: providedSecrets } = loadConfig();

const secrets = new Secrets("flotilla", { provided: providedSecrets });
const images = new Images("flotilla", { target: config.target, images: config.images });

// Where the stacks land: the local engine as a one-node Swarm, or an OpenStack cluster.
let deployer: Deployer;
let cluster: pulumi.Resource;
let publicHost: pulumi.Output<string>;
let bastion: pulumi.Output<string> | undefined;
let keepalived: pulumi.Output<{ vip: string; peers: string[] }> | undefined;
if (config.target === "local") {
  cluster = new LocalSwarm("flotilla");
  deployer = { kind: "local" };
  publicHost = pulumi.output("localhost");
} else {
  const openstack = new OpenStackCluster("flotilla", { config });
  cluster = openstack;
  deployer = { kind: "remote", connection: openstack.managerConnection };
  publicHost = openstack.publicAddress;
  bastion = openstack.bastionAddress;
  if (openstack.vipAddress) {
    keepalived = pulumi
      .all([openstack.vipAddress, openstack.lbPrivateAddresses])
      // A host route (/32) for the VIP: correct whatever the subnet's prefix, including an
      // existing network's.
      .apply(([vip, peers]) => ({ vip: `${vip}/32`, peers }));
  }
}

new Stacks(
  "flotilla",
  {
    config,
    images: images.refs,
    secrets: {
      mysqlRootPassword: secrets.mysqlRootPassword,
      mysqlPassword: secrets.mysqlPassword,
      statsPassword: secrets.statsPassword,
      keepalivedPassword: secrets.keepalivedPassword,
      consulGossipKey: secrets.consulGossipKey,
    },
    deployer,
    keepalived,
  },
  { dependsOn: [cluster, images] },
);

/** Where customers reach the webapp. */
export const publicUrl = pulumi.interpolate`http://${publicHost}:${config.haproxy.httpPort}/`;
/** HAProxy stats page (admin CIDRs only; user `haproxy.statsUser`, password `statsPassword`). */
export const statsUrl = pulumi.interpolate`http://${publicHost}:${config.haproxy.statsPort}/stats`;
/** The bastion's public address (OpenStack only). */
export const bastionAddress = bastion;
/** The HAProxy stats password, for the operator (`pulumi stack output --show-secrets statsPassword`). */
export const statsPassword = secrets.statsPassword;
