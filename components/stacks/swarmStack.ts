// One Docker stack, deployed by `@pulumi/command` running scripts/host/stack-deploy.sh
// where the deployer says: locally, or on a Swarm manager over SSH (as root). The
// compose document is rendered from the config by the stack's catalog entry; secrets
// travel on the command's standard input only; a changed document redeploys in place
// (`update`), deleting the resource removes the stack.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { FlotillaConfig } from "../config";
import { type Deployer, deployerCommand, type VirtualIp } from "../swarm";
import { type StackName, stackSpec } from "./catalog";
import { DEPLOY_SCRIPT, deployArgs, deployStdin, REMOVE_SCRIPT, removeArgs } from "./deploy";
import {
  DEFAULT_PREFIX,
  SECRET_SOURCES,
  type SecretSource,
  type SecretTarget,
  secretName,
  stackName,
} from "./names";
import { composeHash, composeYaml, renderStack } from "./render";
import type { StackImage } from "./types";

/** The secret values the stacks need (the `Secrets` component's `values` has exactly these). */
export type StackSecrets = Readonly<Record<SecretSource | "secretNameKey", pulumi.Input<string>>>;

export interface SwarmStackArgs {
  /** The validated stack configuration. */
  readonly config: FlotillaConfig;
  /** Image reference per image (tags locally, digests from a registry on clouds). */
  readonly images: Record<StackImage, pulumi.Input<string>>;
  /** Secret values; only the ones this stack uses are read. */
  readonly secrets: StackSecrets;
  /** Where the deploy runs. */
  readonly deployer: Deployer;
  /** Prefix of the Swarm stack, network and secret names (default `flotilla`). */
  readonly prefix?: string;
  /** keepalived's virtual IP and peers (read by the stacks that need them). */
  readonly keepalived?: pulumi.Input<VirtualIp>;
  /** Seconds the deploy waits for the stack to converge before failing. */
  readonly waitSeconds?: number;
}

/**
 * One stack of the catalog (type token `flotilla:stacks:<Name>Stack`, from its entry):
 * declares the deploy command (create and update run stack-deploy.sh, delete runs
 * stack-remove.sh). Outputs the Swarm stack name, the rendered document (no secret in
 * it), its hash and the deploy script's log.
 */
export class SwarmStack extends pulumi.ComponentResource {
  /** The Swarm stack name (`<prefix>-<stack>`). */
  readonly stackName: string;
  /** The rendered compose document (no secret in it: secrets are referenced by hashed name). */
  readonly document: pulumi.Output<string>;
  /** SHA-256 of the document: a change redeploys the stack. */
  readonly documentHash: pulumi.Output<string>;
  /** The deploy script's output (convergence time, created secrets and networks). */
  readonly deployLog: pulumi.Output<string>;

  constructor(stack: StackName, name: string, args: SwarmStackArgs, opts?: pulumi.ComponentResourceOptions) {
    const spec = stackSpec(stack);
    super(spec.type, name, {}, opts);
    const prefix = args.prefix ?? DEFAULT_PREFIX;
    const local = args.deployer.kind === "local";
    this.stackName = stackName(prefix, stack);

    const targets: readonly SecretTarget[] = spec.secrets;
    const values = pulumi.all(targets.map((t) => pulumi.output(args.secrets[SECRET_SOURCES[t]])));
    // Names keyed with the program's secret key reveal nothing of the values (see
    // secretName), so they are not secret: the document, the hash and the delete command
    // stay readable in previews.
    const names = pulumi.unsecret(
      pulumi
        .all([values, pulumi.output(args.secrets.secretNameKey)])
        .apply(([vs, key]) =>
          Object.fromEntries(targets.map((t, i) => [t, secretName(prefix, t, vs[i], key)])),
        ),
    );
    const images = pulumi.all(args.images);
    const vip = spec.needsVip && args.keepalived ? pulumi.output(args.keepalived) : pulumi.output(undefined);
    this.document = pulumi.all([names, images, vip]).apply(([secretNames, imageRefs, vrrp]) =>
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
      networks: spec.networks,
      // Clusters prepare their data paths themselves (the Cinder volume's mount).
      ensureDirs: local ? (spec.hostDirs?.(args.config) ?? []) : [],
      // Local images have no registry: a lookup could pin someone else's image of that name.
      resolveImage: local ? "never" : "always",
      waitSeconds: args.waitSeconds,
    });
    const create = deployerCommand(args.deployer, DEPLOY_SCRIPT, deploy);
    const remove = names.apply((ns) =>
      deployerCommand(
        args.deployer,
        REMOVE_SCRIPT,
        removeArgs(prefix, stack, spec.networks, Object.values(ns)),
      ),
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
