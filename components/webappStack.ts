// The webapp stack: The webapp replicas on the edge, data and Consul networks, rolling `start-first` with rollback.
// The document is rendered by renderWebapp (components/compose/render.ts).
import type * as pulumi from "@pulumi/pulumi";
import { SwarmStack, type SwarmStackArgs } from "./swarmStack";

export class WebappStack extends SwarmStack {
  constructor(name: string, args: SwarmStackArgs, opts?: pulumi.ComponentResourceOptions) {
    super("flotilla:stacks:WebappStack", "webapp", name, args, opts);
  }
}
