// The `local` target's cluster: the developer's own Docker engine as a one-node
// Swarm carrying every placement label, so the same stacks deploy unchanged.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { localCommand } from "../repo";
import type { ClusterTarget, Deployer } from "../swarm";

/** The cluster ID from local-swarm.sh's output (`swarm: cluster <id>`). */
export function parseClusterId(stdout: string): string {
  const id = /^swarm: cluster (\S+)$/m.exec(stdout)?.[1];
  if (!id) throw new Error(`local-swarm.sh printed no cluster ID: ${JSON.stringify(stdout)}`);
  return id;
}

export interface LocalSwarmArgs {
  /** Address the Swarm advertises (loopback keeps it private to the machine). */
  readonly advertiseAddr?: pulumi.Input<string>;
}

/**
 * The local engine as a one-node Swarm (`flotilla:local:LocalSwarm`): one local command
 * running scripts/host/local-swarm.sh (init if needed, labels `lb` and `db`). A
 * ClusterTarget: deploys run locally, the public address is `localhost`, no VIP, no
 * bastion; outputs `ready` (the bootstrap's log).
 */
export class LocalSwarm extends pulumi.ComponentResource implements ClusterTarget {
  /** Deploys run on this machine's engine, into the Swarm this component made. */
  readonly deployer: Deployer;
  /** Where customers reach the webapp: this machine. */
  readonly publicAddress: pulumi.Output<string> = pulumi.output("localhost");
  /** Output of the bootstrap, once the Swarm is active and labelled. */
  readonly ready: pulumi.Output<string>;

  constructor(name: string, args: LocalSwarmArgs = {}, opts?: pulumi.ComponentResourceOptions) {
    // Its module is `local` (it lives in components/local); the alias keeps stacks made
    // under its first token from replacing it (and its bootstrap command) on the next up.
    super(
      "flotilla:local:LocalSwarm",
      name,
      {},
      {
        ...opts,
        aliases: [...(opts?.aliases ?? []), { type: "flotilla:swarm:LocalSwarm" }],
      },
    );
    const init = new command.local.Command(
      `${name}-init`,
      {
        create: localCommand("scripts/host/local-swarm.sh"),
        environment: { SWARM_ADVERTISE_ADDR: args.advertiseAddr ?? "127.0.0.1" },
      },
      { parent: this },
    );
    this.ready = init.stdout;
    this.deployer = { kind: "local", swarmId: init.stdout.apply(parseClusterId) };
    this.registerOutputs({ ready: this.ready, publicAddress: this.publicAddress });
  }
}
