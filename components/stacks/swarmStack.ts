// One Docker stack, deployed by `@pulumi/command` running scripts/host/stack-deploy.sh
// where the deployer says: locally, or on a Swarm manager over SSH (as root). The
// compose document is rendered from the config by the stack's catalog entry; secrets
// travel on the command's standard input only; a changed document redeploys in place
// (`update`); only removing the stack from the program (or destroying it) removes it.
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
import { composeHash, composeYaml, renderStack, stackPhases, stackWaitSeconds } from "./render";
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
  /** Deploys that must finish before this one runs (the catalog's `rollsAfter`). */
  readonly deployAfter?: readonly pulumi.Resource[];
}

/**
 * One stack of the catalog (type token `flotilla:stacks:<Name>Stack`, from its entry):
 * declares the deploy command (create and update run stack-deploy.sh; no delete) and the
 * removal command (delete runs stack-remove.sh). Outputs the Swarm stack name, the rendered document (no secret in
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
  /** The deploy command (what a stack that rolls after this one waits for). */
  readonly deployCommand: pulumi.Resource;

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
    // Only this stack's own image: another image's rebuild leaves this document known (and
    // unchanged) in a preview, instead of turning every stack's document into an unknown.
    const image = pulumi.output(args.images[spec.image]);
    const vip = spec.needsVip && args.keepalived ? pulumi.output(args.keepalived) : pulumi.output(undefined);
    const rendered = pulumi.all([names, image, vip]).apply(([secretNames, ref, vrrp]) =>
      renderStack(stack, {
        config: args.config,
        images: { [spec.image]: ref } as Record<StackImage, string>,
        secretNames: secretNames as Parameters<typeof renderStack>[1]["secretNames"],
        prefix,
        keepalived: vrrp ? { vip: vrrp.vip, peers: [...vrrp.peers] } : undefined,
      }),
    );
    this.document = rendered.apply(composeYaml);
    this.documentHash = this.document.apply(composeHash);
    // Derived from the document alone (and the config), so its hash keys them too.
    const phases = rendered.apply((doc) => stackPhases(stack, args.config, doc));

    const stdin = pulumi.secret(
      pulumi.all([values, names, this.document, phases]).apply(([vs, ns, doc, ps]) =>
        deployStdin(
          targets.map((t, i) => ({ name: (ns as Record<string, string>)[t], value: vs[i] })),
          doc,
          ps,
        ),
      ),
    );
    const create = pulumi
      .all([this.documentHash, pulumi.output(args.deployer.swarmId)])
      .apply(([documentSha256, swarmId]) =>
        deployerCommand(
          args.deployer,
          DEPLOY_SCRIPT,
          deployArgs({
            prefix,
            stack,
            networks: spec.networks,
            // Clusters prepare their data paths themselves (the Cinder volume's mount).
            ensureDirs: local ? (spec.hostDirs?.(args.config) ?? []) : [],
            // Local images have no registry: a lookup could pin someone else's image of that name.
            resolveImage: local ? "never" : "always",
            // Each rolling phase converges in turn: the bound grows with them.
            waitSeconds: args.waitSeconds ?? stackWaitSeconds(stack, args.config),
            documentSha256,
            swarmId,
          }),
        ),
      );
    const connection = args.deployer.kind === "remote" ? { connection: args.deployer.connection } : {};
    const Command = (
      commandName: string,
      inputs: command.local.CommandArgs,
      options: pulumi.CustomResourceOptions,
    ) =>
      args.deployer.kind === "local"
        ? new command.local.Command(commandName, inputs, options)
        : new command.remote.Command(
            commandName,
            { ...inputs, ...connection } as command.remote.CommandArgs,
            options,
          );

    // Two resources, so that no update or replacement can ever remove the stack (the
    // @pulumi/command SDK replaces a Command whose `triggers` change, creating the new one
    // first and then running the original's `delete`: pulumi/pulumi-command#855).
    // The removal does nothing on create and removes the stack on delete. Its inputs are
    // fixed for the stack's life (secrets by family, not by content-hashed name), so it is
    // deleted only when the stack leaves the program or the whole stack is destroyed. The
    // stack name is its trigger: a renamed stack is created under the new name and the old
    // one removed at the end of the run.
    const removal = Command(
      `${name}-removal`,
      {
        delete: deployerCommand(
          args.deployer,
          REMOVE_SCRIPT,
          removeArgs(prefix, stack, spec.networks, targets),
        ),
        triggers: [this.stackName],
        addPreviousOutputInEnv: false,
      },
      { parent: this },
    );
    // The deploy: create and update run the same convergent script, with no delete and no
    // trigger, so a changed document (in its command line and on stdin) is an in-place update.
    const cmd = Command(
      `${name}-deploy`,
      { create, update: create, stdin, addPreviousOutputInEnv: false },
      { parent: this, dependsOn: [removal, ...(args.deployAfter ?? [])] },
    );
    this.deployCommand = cmd;
    this.deployLog = cmd.stdout;
    this.registerOutputs({
      stackName: this.stackName,
      document: this.document,
      documentHash: this.documentHash,
      deployLog: this.deployLog,
    });
  }
}
