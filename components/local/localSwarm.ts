// The `local` target's cluster: the developer's own Docker engine as a one-node
// Swarm carrying every placement label, so the same stacks deploy unchanged.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { localCommand } from "../repo";
import type { ClusterTarget, Deployer } from "../swarm";

export interface LocalSwarmArgs {
  /** Address the Swarm advertises (loopback keeps it private to the machine). */
  readonly advertiseAddr?: pulumi.Input<string>;
}

/**
 * The local engine as a one-node Swarm (`flotilla:swarm:LocalSwarm`): one local command
 * running scripts/host/local-swarm.sh (init if needed, labels `lb` and `db`). A
 * ClusterTarget: deploys run locally, the public address is `localhost`, no VIP, no
 * bastion; outputs `ready` (the bootstrap's log).
 */
export class LocalSwarm extends pulumi.ComponentResource implements ClusterTarget {
  /** Deploys run on this machine's engine. */
  readonly deployer: Deployer = { kind: "local" };
  /** Where customers reach the webapp: this machine. */
  readonly publicAddress: pulumi.Output<string> = pulumi.output("localhost");
  /** Output of the bootstrap, once the Swarm is active and labelled. */
  readonly ready: pulumi.Output<string>;

  constructor(name: string, args: LocalSwarmArgs = {}, opts?: pulumi.ComponentResourceOptions) {
    super("flotilla:swarm:LocalSwarm", name, {}, opts);
    const init = new command.local.Command(
      `${name}-init`,
      {
        create: localCommand("scripts/host/local-swarm.sh"),
        environment: { SWARM_ADVERTISE_ADDR: args.advertiseAddr ?? "127.0.0.1" },
      },
      { parent: this },
    );
    this.ready = init.stdout;
    this.registerOutputs({ ready: this.ready, publicAddress: this.publicAddress });
  }
}
