// Swarm bootstrap over SSH (scripts/host/swarm/*.sh as @pulumi/command remote commands):
// init on the first manager, join tokens read as secrets, every other node joins
// (token on stdin), labels applied from a manager. A node's departure is its member
// command's delete, run on the first manager: drain, demote, remove. Init and join have
// no delete: the engine replaces a Command create-first and then runs the original's
// delete, so a `leave` there would take a node out of the Swarm right after it joined
// (a VM re-created at the same address); a VM that goes away needs no leave. Every
// script is idempotent, so a re-run or a replacement is harmless.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { NodePlan } from "./plan";
import { scriptCommand } from "./scripts";

/** A machine to bootstrap (an OpenStack VM, or any target's node). */
export interface BootstrapNode {
  /** Its plan: key, role and placement labels. */
  readonly plan: NodePlan;
  /** ID of the machine: a new one (a replaced VM) re-runs its bootstrap. */
  readonly instanceId: pulumi.Output<string>;
  /** Its private address (the Swarm advertise address). */
  readonly privateAddress: pulumi.Output<string>;
  /** The SSH connection to it (pinned host key, through the bastion or direct). */
  readonly connection: pulumi.Input<command.types.input.remote.ConnectionArgs>;
  /**
   * What must be ready before the node gets its labels, which is when Swarm may schedule
   * onto it (a db node's data volume mounted: a MariaDB task must never start on the root
   * disk). Deleted after the member's drain, in reverse.
   */
  readonly labelAfter?: pulumi.Input<pulumi.Resource>[];
}

export interface SwarmBootstrapArgs {
  /** The nodes, the first manager first. */
  readonly nodes: readonly BootstrapNode[];
}

/** Join tokens from join-tokens.sh's JSON; empty strings if absent (join.sh then refuses clearly). */
export function parseJoinTokens(stdout: string): { manager: string; worker: string } {
  const pick = (role: string) => new RegExp(`"${role}":"([^"]*)"`).exec(stdout)?.[1] ?? "";
  return { manager: pick("manager"), worker: pick("worker") };
}

/** init.sh's output: the first manager's node ID, then the Swarm's cluster ID. */
export function parseInitOutput(stdout: string): { nodeId: string; swarmId: string } {
  const [nodeId = "", swarmId = ""] = stdout.trim().split(/\s+/);
  if (!nodeId || !swarmId)
    throw new Error(`init.sh printed no node ID and cluster ID: ${JSON.stringify(stdout)}`);
  return { nodeId, swarmId };
}

/**
 * The Swarm over SSH (`flotilla:swarm:SwarmBootstrap`, formerly `flotilla:openstack:`,
 * aliased): init on the first manager, join tokens (secret), a join per other node, a
 * label (and, on delete, drain) per node from the first manager. Outputs `ready` (node key
 * to labels, once all have joined) and `nodeIds` (Swarm node IDs by node key).
 */
export class SwarmBootstrap extends pulumi.ComponentResource {
  /** Resolves once every node has joined and carries its labels: a map of node key to labels. */
  readonly ready: pulumi.Output<Record<string, string>>;
  /** Swarm node IDs by node key. */
  readonly nodeIds: Record<string, pulumi.Output<string>>;
  /** The Swarm's cluster ID (init.sh's second line): a new Swarm, a new ID. */
  readonly swarmId: pulumi.Output<string>;

  constructor(name: string, args: SwarmBootstrapArgs, opts?: pulumi.ComponentResourceOptions) {
    // Moved from components/openstack: the alias keeps existing stacks' URNs (no re-bootstrap).
    super(
      "flotilla:swarm:SwarmBootstrap",
      name,
      {},
      {
        ...opts,
        aliases: [...(opts?.aliases ?? []), { type: "flotilla:openstack:SwarmBootstrap" }],
      },
    );
    const [first, ...others] = args.nodes;
    if (first?.plan.role !== "manager") throw new Error("SwarmBootstrap: the first node must be a manager");
    const managerConnection = first.connection;

    const init = new command.remote.Command(
      `${name}-init`,
      {
        connection: managerConnection,
        addPreviousOutputInEnv: false,
        // The other managers' addresses: init refuses to make a second Swarm beside theirs.
        create: pulumi
          .all([
            first.privateAddress,
            ...others.filter((n) => n.plan.role === "manager").map((n) => n.privateAddress),
          ])
          .apply(([addr, ...peers]) => scriptCommand("init", [addr, ...peers])),
        triggers: [first.instanceId],
      },
      { parent: this },
    );
    const tokensCommand = new command.remote.Command(
      `${name}-join-tokens`,
      {
        connection: managerConnection,
        // Never hand the previous tokens back to the host in its environment.
        addPreviousOutputInEnv: false,
        create: scriptCommand("join-tokens"),
        triggers: [first.instanceId],
        // The tokens are secrets: never logged, encrypted in state.
        logging: command.types.enums.remote.Logging.None,
      },
      { parent: this, dependsOn: [init], additionalSecretOutputs: ["stdout"] },
    );
    const tokens = pulumi.secret(tokensCommand.stdout.apply(parseJoinTokens));

    const nodeIds: Record<string, pulumi.Output<string>> = {
      [first.plan.key]: init.stdout.apply((s) => parseInitOutput(s).nodeId),
    };
    for (const node of others) {
      const join = new command.remote.Command(
        `${name}-join-${node.plan.key}`,
        {
          connection: node.connection,
          addPreviousOutputInEnv: false,
          create: pulumi
            .all([first.privateAddress, node.privateAddress])
            .apply(([manager, addr]) => scriptCommand("join", [node.plan.role, manager, addr])),
          // The token goes on stdin (a secret input: encrypted in state, never in a command line).
          stdin: pulumi.secret(tokens.apply((t) => `${t[node.plan.role]}\n`)),
          triggers: [node.instanceId],
        },
        { parent: this, dependsOn: [tokensCommand] },
      );
      nodeIds[node.plan.key] = join.stdout.apply((s) => s.trim());
    }

    const labelled: pulumi.Output<[string, string]>[] = [];
    for (const node of args.nodes) {
      const id = nodeIds[node.plan.key];
      const member = new command.remote.Command(
        `${name}-member-${node.plan.key}`,
        {
          connection: managerConnection,
          addPreviousOutputInEnv: false,
          create: id.apply((nodeId) =>
            scriptCommand("label", [
              nodeId,
              ...node.plan.labels.map((label) => `${label}=true`),
              ...(node.plan.dbMember ? [`db_member=${node.plan.dbMember}`] : []),
            ]),
          ),
          delete: id.apply((nodeId) => scriptCommand("drain", [nodeId])),
          // A new node ID (the VM replaced, or the node re-joined) replaces the member:
          // the new one labels the new node, then the original's delete drains and removes
          // the old ID, which would otherwise stay in the Swarm as a ghost (for a manager, a
          // Raft member that never answers).
          triggers: [id],
        },
        { parent: this, dependsOn: node.labelAfter ?? [] },
      );
      labelled.push(member.stdout.apply((labels): [string, string] => [node.plan.key, labels.trim()]));
    }
    this.nodeIds = nodeIds;
    this.swarmId = init.stdout.apply((s) => parseInitOutput(s).swarmId);
    this.ready = pulumi.all(labelled).apply((pairs) => Object.fromEntries(pairs));
    this.registerOutputs({ ready: this.ready, nodeIds: this.nodeIds, swarmId: this.swarmId });
  }
}
