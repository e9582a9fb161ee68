// One Docker stack, deployed by `@pulumi/command` running scripts/stack-deploy.sh:
// locally for the `local` target, on a Swarm manager over SSH for `openstack`. The
// compose document is rendered from the config (components/compose/render.ts);
// secrets travel on the command's standard input only; a changed document redeploys
// in place (`update`), deleting the resource removes the stack.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import {
  DEPLOY_SCRIPT,
  deployArgs,
  deployStdin,
  localCommand,
  REMOVE_SCRIPT,
  remoteCommand,
  removeArgs,
} from "./compose/deploy";
import {
  DEFAULT_PREFIX,
  SECRET_SOURCES,
  STACK_NETWORKS,
  STACK_SECRETS,
  type StackImage,
  type StackName,
  secretName,
  stackName,
} from "./compose/names";
import { composeHash, composeYaml, renderStack } from "./compose/render";
import type { FlotillaConfig, SecretKey } from "./config";

/** Where `docker stack deploy` runs: this machine's engine, or a Swarm manager over SSH. */
export type Deployer =
  | { kind: "local" }
  | { kind: "remote"; connection: pulumi.Input<command.types.input.remote.ConnectionArgs> };

/** The secret values the stacks need (the `Secrets` component has exactly these outputs). */
export type StackSecrets = Record<SecretKey, pulumi.Input<string>>;

export interface SwarmStackArgs {
  /** The validated stack configuration. */
  readonly config: FlotillaConfig;
  /** Image reference per image (tags locally, digests from a registry on OpenStack). */
  readonly images: Record<StackImage, pulumi.Input<string>>;
  /** Secret values; only the ones this stack uses are read. */
  readonly secrets: StackSecrets;
  /** Where the deploy runs. */
  readonly deployer: Deployer;
  /** Prefix of the Swarm stack, network and secret names (default `flotilla`). */
  readonly prefix?: string;
  /** keepalived's virtual IP and peers (keepalived stack only). */
  readonly keepalived?: pulumi.Input<{ vip: string; peers: string[] }>;
  /** Seconds the deploy waits for the stack to converge before failing. */
  readonly waitSeconds?: number;
}

/** Shared implementation of the five stack components (each has its own type token). */
export abstract class SwarmStack extends pulumi.ComponentResource {
  /** The Swarm stack name (`<prefix>-<stack>`). */
  readonly stackName: string;
  /** The rendered compose document (no secret in it: secrets are referenced by hashed name). */
  readonly document: pulumi.Output<string>;
  /** SHA-256 of the document: a change redeploys the stack. */
  readonly documentHash: pulumi.Output<string>;
  /** The deploy script's output (convergence time, created secrets and networks). */
  readonly deployLog: pulumi.Output<string>;

  protected constructor(
    type: string,
    stack: StackName,
    name: string,
    args: SwarmStackArgs,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super(type, name, {}, opts);
    const prefix = args.prefix ?? DEFAULT_PREFIX;
    const local = args.deployer.kind === "local";
    if (local !== (args.config.target === "local")) {
      throw new Error(
        `${name}: flotilla:target is '${args.config.target}' but the deployer is '${args.deployer.kind}' (local target deploys locally, openstack through a manager)`,
      );
    }
    if (stack === "keepalived" && !args.keepalived) {
      throw new Error(
        `${name}: flotilla:keepalived.enabled needs the virtual IP and the load-balancer peers`,
      );
    }
    this.stackName = stackName(prefix, stack);

    const targets = STACK_SECRETS[stack];
    const values = pulumi.all(targets.map((t) => pulumi.output(args.secrets[SECRET_SOURCES[t]])));
    // Hashed names reveal nothing of the values (see secretName), so they are not secret:
    // the document, the hash and the delete command stay readable in previews.
    const names = pulumi.unsecret(
      values.apply((vs) => Object.fromEntries(targets.map((t, i) => [t, secretName(prefix, t, vs[i])]))),
    );
    const images = pulumi.all(args.images);
    const keepalived = args.keepalived ? pulumi.output(args.keepalived) : pulumi.output(undefined);
    this.document = pulumi.all([names, images, keepalived]).apply(([secretNames, imageRefs, vrrp]) =>
      composeYaml(
        renderStack(stack, {
          config: args.config,
          images: imageRefs as Record<StackImage, string>,
          secretNames: secretNames as Parameters<typeof renderStack>[1]["secretNames"],
          prefix,
          keepalived: vrrp ? { vip: vrrp.vip, peers: [...vrrp.peers] } : undefined,
        }),
      ),
    );
    this.documentHash = this.document.apply(composeHash);

    const stdin = pulumi.secret(
      pulumi.all([values, names, this.document]).apply(([vs, ns, doc]) =>
        deployStdin(
          targets.map((t, i) => ({ name: (ns as Record<string, string>)[t], value: vs[i] })),
          doc,
        ),
      ),
    );
    const deploy = deployArgs({
      prefix,
      stack,
      networks: STACK_NETWORKS[stack],
      // On OpenStack the db node's data path is the Cinder volume's mount (cloud-init).
      ensureDirs: local && stack === "mysql" ? [args.config.mysql.dataPath] : [],
      // Local images have no registry: a lookup could pin someone else's image of that name.
      resolveImage: local ? "never" : "always",
      waitSeconds: args.waitSeconds,
    });
    const run = local ? localCommand : remoteCommand;
    const create = run(DEPLOY_SCRIPT, deploy);
    const remove = names.apply((ns) =>
      run(REMOVE_SCRIPT, removeArgs(prefix, stack, STACK_NETWORKS[stack], Object.values(ns))),
    );
    const common = {
      create,
      // `update` set: a changed document (trigger) redeploys in place instead of replacing,
      // which would remove the stack.
      update: create,
      delete: remove,
      stdin,
      triggers: [this.documentHash],
      addPreviousOutputInEnv: false,
    };
    const cmd =
      args.deployer.kind === "local"
        ? new command.local.Command(`${name}-deploy`, common, { parent: this })
        : new command.remote.Command(
            `${name}-deploy`,
            { ...common, connection: args.deployer.connection },
            { parent: this },
          );
    this.deployLog = cmd.stdout;
    this.registerOutputs({
      stackName: this.stackName,
      document: this.document,
      documentHash: this.documentHash,
      deployLog: this.deployLog,
    });
  }
}
