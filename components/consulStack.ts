// The consul stack: Consul servers (Raft quorum over the managers), on their own overlay network.
// The document is rendered by renderConsul (components/compose/render.ts).
import type * as pulumi from "@pulumi/pulumi";
import { SwarmStack, type SwarmStackArgs } from "./swarmStack";

export class ConsulStack extends SwarmStack {
  constructor(name: string, args: SwarmStackArgs, opts?: pulumi.ComponentResourceOptions) {
    super("flotilla:stacks:ConsulStack", "consul", name, args, opts);
  }
}
