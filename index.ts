// Flotilla: a highly available web application on Docker Swarm, from one typed
// configuration per stack. This file only wires the top-level components.
import type * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { loadConfig } from "./components/config";
import { DebianBase, Images } from "./components/images";
import { LabCluster } from "./components/lab";
import { LocalSwarm } from "./components/local";
import { checkCloud, OpenStackCluster } from "./components/openstack";
import { Secrets } from "./components/secrets";
import { Stacks } from "./components/stacks";
import { type ClusterTarget, connectionLogin, sshCommandLine } from "./components/swarm";

// Validated before any resource is registered: a bad config stops here, listing every problem.
const { config, secrets: providedSecrets } = loadConfig();

// On OpenStack the cloud is asked next (flavors, image, networks, keypair, quotas): every
// component waits for the answer, so nothing is created when the project cannot take the stack.
const cloudAnswered: Promise<pulumi.Resource[]> | undefined =
  config.target === "openstack"
    ? checkCloud(config, "flotilla", pulumi.getStack()).then(() => [])
    : undefined;
const asked: pulumi.ComponentResourceOptions = cloudAnswered ? { dependsOn: cloudAnswered } : {};

const base = new DebianBase("flotilla", { image: config.images.baseImage }, asked);

// Where the stacks land: one cluster per target, all of the same shape.
const clusters: Record<typeof config.target, () => ClusterTarget> = {
  local: () => new LocalSwarm("flotilla"),
  openstack: () => new OpenStackCluster("flotilla", { config }, asked),
  lab: () => new LabCluster("flotilla", { config, base }),
};
const cluster = clusters[config.target]();
// After the cluster: a generated certificate names its public address.
const secrets = new Secrets(
  "flotilla",
  {
    provided: providedSecrets,
    publicAddress: cluster.publicAddress,
    tlsNames: config.haproxy.tlsNames,
  },
  asked,
);
const images = new Images(
  "flotilla",
  {
    target: config.target,
    images: config.images,
    base,
    registry: cluster.registry,
  },
  asked,
);

new Stacks(
  "flotilla",
  {
    config,
    images: images.refs,
    secrets: secrets.values,
    deployer: cluster.deployer,
    keepalived: cluster.virtualIp,
  },
  { dependsOn: [cluster, images] },
);

/** Where customers reach the webapp: HTTPS at HAProxy (plain HTTP on `haproxy.httpPort` redirects here unless `haproxy.redirectHttp` is false). */
export const publicUrl = pulumi.interpolate`https://${cluster.publicAddress}:${config.haproxy.httpsPort}/`;
/** HAProxy stats page over TLS (admin CIDRs only; user `haproxy.statsUser`, password `statsPassword`). */
export const statsUrl = pulumi.interpolate`https://${cluster.publicAddress}:${config.haproxy.statsPort}/stats`;
/** The bastion's public address (targets with a bastion only). */
export const bastionAddress = cluster.bastionAddress;
/** The `ssh` line that reaches a node the way the program's commands do (no key in it). */
const sshLine = (connection: pulumi.Input<command.types.input.remote.ConnectionArgs>) =>
  pulumi.unsecret(pulumi.output(connection).apply((c) => sshCommandLine(connectionLogin(c))));
/** How to reach the first manager (`docker node ls`, `docker service ps`): the same hop the program's commands take (remote targets only). */
export const managerSsh =
  cluster.deployer.kind === "remote" ? sshLine(cluster.deployer.connection) : undefined;
/** Every Swarm node: its role, placement labels, private address and the `ssh` line that reaches it (remote targets only). */
export const nodes = cluster.nodes
  ? pulumi
      .all(
        cluster.nodes.map((n) =>
          pulumi
            .all([pulumi.unsecret(pulumi.output(n.address)), sshLine(n.connection)])
            .apply(([address, ssh]) => ({
              key: n.key,
              role: n.role,
              labels: [...n.labels],
              address,
              ssh,
            })),
        ),
      )
      .apply((list) => Object.fromEntries(list.map(({ key, ...rest }) => [key, rest])))
  : undefined;
/** The HAProxy stats password, for the operator (`pulumi stack output --show-secrets statsPassword`). */
export const statsPassword = secrets.statsPassword;
/** Prometheus' UI password, for the operator (`pulumi stack output --show-secrets monitoringPassword`). */
export const monitoringPassword = secrets.monitoringPassword;
/** HAProxy's certificate: its subject and end of validity, or that it is self-signed and how to set a trusted one. */
export const tlsCertificate = secrets.certificate.summary;
/** HAProxy's certificate (public PEM), e.g. for `curl --cacert` while it is self-signed. */
export const tlsCertificatePem = secrets.certificate.certificatePem;
