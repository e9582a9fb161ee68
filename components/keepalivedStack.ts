// The keepalived stack: keepalived on every `lb` node (host network), moving the virtual IP to a healthy HAProxy.
// The document is rendered by renderKeepalived (components/compose/render.ts).
import type * as pulumi from "@pulumi/pulumi";
import { SwarmStack, type SwarmStackArgs } from "./swarmStack";

export class KeepalivedStack extends SwarmStack {
  constructor(name: string, args: SwarmStackArgs, opts?: pulumi.ComponentResourceOptions) {
    super("flotilla:stacks:KeepalivedStack", "keepalived", name, args, opts);
  }
}
