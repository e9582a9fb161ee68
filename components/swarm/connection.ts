// How the remote commands reach a node: its private address, its pinned host key,
// and either through the bastion as jump host (`connection: jump`, from a laptop) or
// directly (`connection: direct`, when `pulumi up` runs on the bastion). Only one
// hop exists: every node is on the bastion's private network.
// Authentication is the operator's SSH agent (SSH_AUTH_SOCK): no private key in config or state.
import type * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";

/** A booting VM refuses connections for a while: retry dials for about ten minutes. */
export const DIAL_ERROR_LIMIT = 120;
/** Seconds per dial attempt. */
export const PER_DIAL_TIMEOUT = 10;

export interface SshTarget {
  /** Address to connect to. */
  readonly host: pulumi.Input<string>;
  /** The host key to expect (`ssh-ed25519 ...`): anything else is refused. */
  readonly hostKey: pulumi.Input<string>;
}

export interface ConnectionPlan {
  /** Through the bastion as jump host, or directly (when `pulumi up` runs on the bastion). */
  readonly mode: "jump" | "direct";
  /** The image's login user on the bastion and the nodes. */
  readonly user: string;
  /** The bastion (its public address), used as jump host in `jump` mode. */
  readonly bastion: SshTarget;
}

export function nodeConnection(
  target: SshTarget,
  plan: ConnectionPlan,
): pulumi.Output<command.types.input.remote.ConnectionArgs> {
  const base = {
    host: target.host,
    hostKey: target.hostKey,
    user: plan.user,
    dialErrorLimit: DIAL_ERROR_LIMIT,
    perDialTimeout: PER_DIAL_TIMEOUT,
  };
  if (plan.mode === "direct") return pulumi.output(base);
  return pulumi.output({
    ...base,
    proxy: {
      host: plan.bastion.host,
      hostKey: plan.bastion.hostKey,
      user: plan.user,
      dialErrorLimit: DIAL_ERROR_LIMIT,
      perDialTimeout: PER_DIAL_TIMEOUT,
    },
  });
}
