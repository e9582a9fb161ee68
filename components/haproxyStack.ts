// The haproxy stack: HAProxy on every `lb` node (ports on the node), backends from Consul DNS.
// The document is rendered by renderHaproxy (components/compose/render.ts).
import type * as pulumi from "@pulumi/pulumi";
import { SwarmStack, type SwarmStackArgs } from "./swarmStack";

export class HaproxyStack extends SwarmStack {
  constructor(name: string, args: SwarmStackArgs, opts?: pulumi.ComponentResourceOptions) {
    super("flotilla:stacks:HaproxyStack", "haproxy", name, args, opts);
  }
}
