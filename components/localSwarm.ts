// The `local` target's cluster: the developer's own Docker engine as a one-node
// Swarm carrying every placement label, so the same stacks deploy unchanged.
import * as path from "node:path";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";

export interface LocalSwarmArgs {
  /** Address the Swarm advertises (loopback keeps it private to the machine). */
  readonly advertiseAddr?: pulumi.Input<string>;
}

export class LocalSwarm extends pulumi.ComponentResource {
  /** Output of the bootstrap, once the Swarm is active and labelled. */
  readonly ready: pulumi.Output<string>;

  constructor(name: string, args: LocalSwarmArgs = {}, opts?: pulumi.ComponentResourceOptions) {
    super("flotilla:swarm:LocalSwarm", name, {}, opts);
    const init = new command.local.Command(
      `${name}-init`,
      {
        create: `bash ${JSON.stringify(path.join(__dirname, "..", "scripts", "local-swarm.sh"))}`,
        environment: { SWARM_ADVERTISE_ADDR: args.advertiseAddr ?? "127.0.0.1" },
      },
      { parent: this },
    );
    this.ready = init.stdout;
    this.registerOutputs({ ready: this.ready });
  }
}
