// The five Docker stacks in deployment order: consul → mysql → webapp → haproxy →
// keepalived (when enabled). Each waits for the one before it to converge, so the
// webapp finds Consul and MySQL, and HAProxy finds webapp replicas in Consul.
import * as pulumi from "@pulumi/pulumi";
import { DEFAULT_PREFIX, STACK_IMAGES, type StackImage, type StackName } from "./compose/names";
import { enabledStacks } from "./compose/render";
import { ConsulStack } from "./consulStack";
import { HaproxyStack } from "./haproxyStack";
import { imageTag } from "./imageCatalog";
import { KeepalivedStack } from "./keepalivedStack";
import { MysqlStack } from "./mysqlStack";
import type { SwarmStack, SwarmStackArgs } from "./swarmStack";
import { WebappStack } from "./webappStack";

export interface StacksArgs extends Omit<SwarmStackArgs, "images"> {
  /** Image reference per image; missing ones default to `[registry/]flotilla/<name>:<images.version>`. */
  readonly images?: Partial<Record<StackImage, pulumi.Input<string>>>;
}

const COMPONENTS: Record<
  StackName,
  new (
    name: string,
    args: SwarmStackArgs,
    opts?: pulumi.ComponentResourceOptions,
  ) => SwarmStack
> = {
  consul: ConsulStack,
  mysql: MysqlStack,
  webapp: WebappStack,
  haproxy: HaproxyStack,
  keepalived: KeepalivedStack,
};

export class Stacks extends pulumi.ComponentResource {
  /** The deployed stacks, by stack, in deployment order. */
  readonly stacks: Partial<Record<StackName, SwarmStack>>;
  /** The Swarm stack names, in deployment order. */
  readonly stackNames: string[];

  constructor(name: string, args: StacksArgs, opts?: pulumi.ComponentResourceOptions) {
    super("flotilla:stacks:Stacks", name, {}, opts);
    const { config } = args;
    if (config.keepalived.enabled && !args.keepalived) {
      throw new Error(
        "flotilla:keepalived.enabled is true: the Stacks component needs `keepalived` (the virtual IP and the load-balancer node addresses)",
      );
    }
    const images = Object.fromEntries(
      STACK_IMAGES.map((image) => [
        image,
        args.images?.[image] ?? imageTag(image, config.images.version, config.images.registry),
      ]),
    ) as Record<StackImage, pulumi.Input<string>>;

    this.stacks = {};
    let previous: SwarmStack | undefined;
    for (const stack of enabledStacks(config)) {
      const component = new COMPONENTS[stack](
        `${name}-${stack}`,
        { ...args, images },
        { parent: this, ...(previous ? { dependsOn: [previous] } : {}) },
      );
      this.stacks[stack] = component;
      previous = component;
    }
    this.stackNames = Object.values(this.stacks).map((s) => s.stackName);
    this.registerOutputs({
      stackNames: this.stackNames,
      prefix: args.prefix ?? DEFAULT_PREFIX,
    });
  }
}
