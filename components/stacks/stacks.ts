// Every enabled stack of the catalog, deployed at the same time: none needs another to
// be deployed first (the webapp waits for Consul and MySQL by itself, its readiness
// failing until they answer; HAProxy keeps resolving Consul's DNS; each deploy waits for
// its own services to be healthy), so a first `up` takes as long as the slowest stack,
// not the sum of all. The one exception is the catalog's `rollsAfter` (keepalived after
// HAProxy), whose rolling updates must not overlap.
import * as pulumi from "@pulumi/pulumi";
import { imageTag } from "../images";
import { STACK_IMAGES, type StackName, stackSpec } from "./catalog";
import { DEFAULT_PREFIX } from "./names";
import { enabledStacks } from "./render";
import { SwarmStack, type SwarmStackArgs } from "./swarmStack";
import type { StackImage } from "./types";

export interface StacksArgs extends Omit<SwarmStackArgs, "images"> {
  /** Image reference per image; missing ones default to `[registry/]flotilla/<name>:<images.version>`. */
  readonly images?: Partial<Record<StackImage, pulumi.Input<string>>>;
}

/**
 * Every enabled stack of the catalog (`flotilla:stacks:Stacks`), each a SwarmStack child,
 * deployed in parallel but for the catalog's `rollsAfter`. Outputs the Swarm stack names, in catalog order, and the name
 * prefix.
 */
export class Stacks extends pulumi.ComponentResource {
  /** The deployed stacks, by stack, in catalog order. */
  readonly stacks: Partial<Record<StackName, SwarmStack>>;
  /** The Swarm stack names, in catalog order. */
  readonly stackNames: string[];

  constructor(name: string, args: StacksArgs, opts?: pulumi.ComponentResourceOptions) {
    super("flotilla:stacks:Stacks", name, {}, opts);
    const { config } = args;
    const stacks = enabledStacks(config);
    // Invariants of the wiring (the schema has already refused configs that could break them).
    const vipless = stacks.filter((s) => stackSpec(s).needsVip && !args.keepalived);
    if (vipless.length > 0)
      throw new Error(
        `Stacks: flotilla:keepalived.enabled is true but the cluster gave no virtual IP for ${vipless.join(", ")}`,
      );
    if ((args.deployer.kind === "local") !== (config.target === "local"))
      throw new Error(
        `Stacks: flotilla:target is '${config.target}' but the deployer is '${args.deployer.kind}' (local target deploys locally, the others through a manager)`,
      );
    const images = Object.fromEntries(
      STACK_IMAGES.map((image) => [
        image,
        args.images?.[image] ?? imageTag(image, config.images.version, config.images.registry),
      ]),
    ) as Record<StackImage, pulumi.Input<string>>;

    this.stacks = {};
    for (const stack of stacks) {
      const deployAfter = (stackSpec(stack).rollsAfter ?? []).flatMap((before) => {
        const earlier = this.stacks[before as StackName];
        return earlier ? [earlier.deployCommand] : [];
      });
      this.stacks[stack] = new SwarmStack(
        stack,
        `${name}-${stack}`,
        { ...args, images, deployAfter },
        { parent: this },
      );
    }
    this.stackNames = Object.values(this.stacks).map((s) => s.stackName);
    this.registerOutputs({
      stackNames: this.stackNames,
      prefix: args.prefix ?? DEFAULT_PREFIX,
    });
  }
}
