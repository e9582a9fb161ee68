// The `lab` target's cluster: the helion topology on this machine's Docker engine. Each
// node is a container that boots like a VM (images/lab-vm: systemd, cloud-init from a
// NoCloud seed, sshd with a pinned host key, Docker inside), on one Docker network that
// plays the private subnet; the bastion's SSH is published on 127.0.0.1 (the lab's
// "floating IP"), every node is reached through it as jump host, and a registry on the
// lab network serves the images by digest. From there on the lab runs exactly what
// helion runs: the same cloud-init documents, SwarmBootstrap over SSH, and the stacks
// deployed on the first manager with `sudo -n`.
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import type { FlotillaConfig, LabConfig } from "../config";
import type { DebianBase } from "../images";
import {
  type BootstrapNode,
  type ClusterTarget,
  type Deployer,
  hostKey,
  hostUserData,
  type ImageRegistry,
  type NodeAccess,
  nodeConnection,
  planNodes,
  SwarmBootstrap,
  type VirtualIp,
} from "../swarm";
import { planLabAddresses } from "./plan";
import { LAB_VM_SHUTDOWN_SECONDS, labVmSpec, renderMetaData } from "./vm";

export interface LabClusterArgs {
  /** The validated configuration (target `lab`, with its `lab` section). */
  readonly config: FlotillaConfig;
  /** The Debian base image the lab's VM and registry images build on. */
  readonly base: DebianBase;
}

/** The registry's port inside the lab (the nodes pull from `<registry address>:5000`). */
const REGISTRY_PORT = 5000;

/**
 * The lab (`flotilla:lab:LabCluster`): the lab VM and registry images, the lab network
 * (fixed addresses from `planLabAddresses`), the registry, a generated operator key,
 * the bastion and one VM per Swarm node (with a volume of its own for the MySQL data path
 * on `db` nodes, as a Cinder volume is on helion), then SwarmBootstrap
 * over SSH through the bastion. A ClusterTarget: deploys run on the first manager over
 * SSH, the public address is keepalived's VIP; outputs the registry, the bastion
 * address (`127.0.0.1:<sshPort>`), the node container names and `ready`.
 */
export class LabCluster extends pulumi.ComponentResource implements ClusterTarget {
  /** Deploys run on the first manager, over SSH through the bastion. */
  readonly deployer: Deployer;
  /** The VIP (or the first load-balancer node without keepalived): on the lab network. */
  readonly publicAddress: pulumi.Output<string>;
  /** keepalived's VIP and the load-balancer nodes' addresses. */
  readonly virtualIp?: pulumi.Output<VirtualIp>;
  /** The bastion's SSH, as the operator reaches it (`127.0.0.1:<sshPort>`). */
  readonly bastionAddress: pulumi.Output<string>;
  /** The lab's registry: pushed to on 127.0.0.1, pulled from on the lab network. */
  readonly registry: ImageRegistry;
  /** The containers playing the VMs, by node key (`manager-0` …), plus `bastion`. */
  readonly machines: pulumi.Output<Record<string, string>>;
  /** Resolves once every node has joined the Swarm with its labels. */
  readonly ready: pulumi.Output<string>;
  /** Every node as an operator reaches it (the `nodes` stack output). */
  readonly nodes: readonly NodeAccess[];

  constructor(name: string, args: LabClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("flotilla:lab:LabCluster", name, {}, opts);
    const { config } = args;
    const lab: LabConfig | undefined = config.lab;
    // The schema requires the section with target `lab`.
    if (config.target !== "lab" || !lab) throw new Error("LabCluster: target 'lab' without a lab section");
    const nodes = planNodes(config.swarm, config.mysql.nodes);
    const addresses = planLabAddresses(
      lab.subnetCidr,
      nodes.map((n) => n.key),
    );
    const prefix = `${name}-lab`;
    const labels = [{ label: "flotilla.lab", value: name }];
    const child = { parent: this };

    // The machines' images, built on the Debian base like every Flotilla image. They are
    // the lab's "cloud images", not Flotilla's release: `images.version` is not theirs
    // (a version bump would otherwise replace every VM).
    const localImage = (image: "lab-vm" | "lab-registry") =>
      new docker.Image(
        `${prefix}-${image}-image`,
        {
          imageName: `flotilla/${image}:lab`,
          build: {
            context: `images/${image}`,
            args: { DEBIAN_IMAGE: config.images.baseImage },
            builderVersion: "BuilderV1",
          },
          skipPush: true,
          buildOnPreview: false,
        },
        { parent: this, dependsOn: [args.base] },
      ).repoDigest;
    const vmImage = localImage("lab-vm");

    const network = new docker.Network(
      `${prefix}-network`,
      { name: prefix, driver: "bridge", ipamConfigs: [addresses.network], labels },
      child,
    );

    const registryData = new docker.Volume(
      `${prefix}-registry-data`,
      { name: `${prefix}-registry-data`, labels },
      child,
    );
    const registry = new docker.Container(
      `${prefix}-registry`,
      {
        name: `${prefix}-registry`,
        image: localImage("lab-registry"),
        networksAdvanced: [{ name: network.name, ipv4Address: addresses.registry }],
        ports: [{ internal: REGISTRY_PORT, external: lab.registryPort, ip: "127.0.0.1", protocol: "tcp" }],
        volumes: [{ volumeName: registryData.name, containerPath: "/var/lib/docker-registry" }],
        labels,
        restart: "unless-stopped",
        // Healthy (its /v2/ answers) before anything is pushed.
        wait: true,
      },
      // Named: a `--replace` must remove the old one before creating its successor.
      { parent: this, deleteBeforeReplace: true },
    );
    this.registry = {
      push: `127.0.0.1:${lab.registryPort}/flotilla`,
      pull: `${addresses.registry}:${REGISTRY_PORT}/flotilla`,
      dependsOn: [registry],
    };

    // The operator: the lab's own key (nobody's agent holds one for machines that exist only here).
    const operator = new tls.PrivateKey(`${prefix}-operator-key`, { algorithm: "ED25519" }, child);
    const operatorPublic = operator.publicKeyOpenssh.apply((k) => k.trim());

    /** One VM: host key, cloud-init seed, container (its engine's disk goes with it, as a root disk). */
    const machine = (
      key: string,
      address: string,
      opts: { docker: boolean; ssh?: number; data?: boolean },
    ) => {
      const host = hostKey(`${prefix}-${key}-host-key`, this);
      const userData = hostUserData(host, {
        hostname: key,
        sshUser: lab.sshUser,
        authorizedKeys: [operatorPublic],
        docker: opts.docker,
        ...(opts.docker
          ? {
              dockerDaemon: { "insecure-registries": [`${addresses.registry}:${REGISTRY_PORT}`] },
              logging: config.logging,
            }
          : {}),
      });
      const spec = labVmSpec<pulumi.Input<string>>({
        name: `${prefix}-${key}`,
        hostname: key,
        image: vmImage,
        network: network.name,
        ipv4Address: address,
        seed: { userData, metaData: renderMetaData(`${prefix}-${key}`, key) },
        ...(opts.ssh !== undefined ? { publishSsh: { hostIp: "127.0.0.1", hostPort: opts.ssh } } : {}),
        labels: { "flotilla.lab": name, "flotilla.lab.node": key },
        logging: config.logging,
      });
      // A db node's MySQL data path is its own volume, as a Cinder volume is on helion: it
      // outlives the node's power cycles and replacements, and is protected as helion's is
      // (a destroy refuses it: `npm run demo -- --stack lab --down --unprotect`).
      const data = opts.data
        ? new docker.Volume(
            `${prefix}-${key}-mysql-data`,
            { name: `${prefix}-${key}-mysql-data`, labels },
            { parent: this, protect: true },
          )
        : undefined;
      const container = new docker.Container(
        `${prefix}-${key}`,
        {
          ...spec,
          // A deleted VM halts cleanly (systemd stops the engine and its tasks) instead of being killed.
          destroyGraceSeconds: LAB_VM_SHUTDOWN_SECONDS,
          volumes: [
            ...spec.volumes,
            ...(data ? [{ volumeName: data.name, containerPath: config.mysql.dataPath }] : []),
          ],
        },
        {
          parent: this,
          // The seed holds the private host key: secret in state.
          additionalSecretOutputs: ["uploads"],
          // As helion's VMs ignore changes of their image, user-data and key pair: a running
          // VM is never replaced by a changed setting; nodes are replaced one at a time on
          // purpose, with `--replace` (docs/lab.md).
          ignoreChanges: ["image", "uploads", "logDriver", "logOpts"],
          // `--replace` blames `id` without asking the provider, so the engine would create
          // the replacement first, under the same container name, and fail: the old VM goes
          // first (its member's drain before it, step_generator.go calculateDependentReplacements).
          deleteBeforeReplace: true,
        },
      );
      return { container, hostPublicKey: host.publicKeyOpenssh };
    };

    const bastion = machine("bastion", addresses.bastion, { docker: false, ssh: lab.sshPort });
    const plan = {
      mode: "jump" as const,
      user: lab.sshUser,
      privateKey: operator.privateKeyOpenssh,
      // Through the bastion's container: a connection waits for it to exist.
      bastion: {
        host: bastion.container.id.apply(() => "127.0.0.1"),
        port: lab.sshPort,
        hostKey: bastion.hostPublicKey,
      },
    };
    const machines: Record<string, pulumi.Output<string>> = { bastion: bastion.container.name };
    const bootstrapNodes: BootstrapNode[] = nodes.map((node) => {
      const address = addresses.nodes[node.key];
      const vm = machine(node.key, address, { docker: true, data: node.labels.includes("db") });
      machines[node.key] = vm.container.name;
      return {
        plan: node,
        instanceId: vm.container.id,
        privateAddress: pulumi.output(address),
        connection: nodeConnection({ host: address, hostKey: vm.hostPublicKey }, plan),
      };
    });
    const bootstrap = new SwarmBootstrap(`${prefix}-bootstrap`, { nodes: bootstrapNodes }, child);

    const lbAddresses = nodes.filter((n) => n.labels.includes("lb")).map((n) => addresses.nodes[n.key]);
    this.deployer = { kind: "remote", connection: bootstrapNodes[0].connection, swarmId: bootstrap.swarmId };
    this.publicAddress = pulumi.output(config.keepalived.enabled ? addresses.vip : lbAddresses[0]);
    this.virtualIp = config.keepalived.enabled
      ? pulumi.output({ vip: `${addresses.vip}/32`, peers: lbAddresses })
      : undefined;
    this.bastionAddress = bastion.container.id.apply(() => `127.0.0.1:${lab.sshPort}`);
    this.machines = pulumi.all(machines);
    this.nodes = bootstrapNodes.map((n) => ({
      key: n.plan.key,
      role: n.plan.role,
      labels: n.plan.labels,
      address: n.privateAddress,
      connection: n.connection,
    }));
    this.ready = bootstrap.ready.apply((joined) => `lab swarm ready (${Object.keys(joined).length} nodes)`);
    this.registerOutputs({
      publicAddress: this.publicAddress,
      virtualIp: this.virtualIp,
      bastionAddress: this.bastionAddress,
      machines: this.machines,
      ready: this.ready,
    });
  }
}
