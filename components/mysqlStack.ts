// The mysql stack: MariaDB on the `db` node, its data on the host path, on the data network only, never published.
// The document is rendered by renderMysql (components/compose/render.ts).
import type * as pulumi from "@pulumi/pulumi";
import { SwarmStack, type SwarmStackArgs } from "./swarmStack";

export class MysqlStack extends SwarmStack {
  constructor(name: string, args: SwarmStackArgs, opts?: pulumi.ComponentResourceOptions) {
    super("flotilla:stacks:MysqlStack", "mysql", name, args, opts);
  }
}
