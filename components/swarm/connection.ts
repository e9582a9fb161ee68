// How the remote commands reach a node: its private address, its pinned host key,
// and either through the bastion as jump host (`connection: jump`, from a laptop) or
// directly (`connection: direct`, when `pulumi up` runs on the bastion). Only one
// hop exists: every node is on the bastion's private network.
// Authentication is the operator's SSH agent (SSH_AUTH_SOCK): no private key in config or
// state. The lab is the exception: it generates its own operator key (a Pulumi secret),
// since nobody's agent holds a key for machines that exist only on this host.
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
  /** SSH port (default 22). */
  readonly port?: pulumi.Input<number>;
}

export interface ConnectionPlan {
  /** Through the bastion as jump host, or directly (when `pulumi up` runs on the bastion). */
  readonly mode: "jump" | "direct";
  /** The image's login user on the bastion and the nodes. */
  readonly user: string;
  /** The bastion (its public address), used as jump host in `jump` mode. */
  readonly bastion: SshTarget;
  /** A private key to log in with instead of the SSH agent (the lab's generated key; secret). */
  readonly privateKey?: pulumi.Input<string>;
}

export function nodeConnection(
  target: SshTarget,
  plan: ConnectionPlan,
): pulumi.Output<command.types.input.remote.ConnectionArgs> {
  const login = (to: SshTarget) => ({
    host: to.host,
    ...(to.port !== undefined ? { port: to.port } : {}),
    hostKey: to.hostKey,
    user: plan.user,
    ...(plan.privateKey !== undefined ? { privateKey: pulumi.secret(plan.privateKey) } : {}),
    dialErrorLimit: DIAL_ERROR_LIMIT,
    perDialTimeout: PER_DIAL_TIMEOUT,
  });
  if (plan.mode === "direct") return pulumi.output(login(target));
  return pulumi.output({ ...login(target), proxy: login(plan.bastion) });
}

/** Where an `ssh` command line logs in: the node, and the bastion when it jumps. */
export interface SshLogin {
  host: string;
  port?: number;
  user?: string;
  proxy?: { host: string; port?: number; user?: string };
}

/**
 * The `ssh` command line that reaches a node the way the program's commands do: through the
 * bastion with `-J` when they jump (its port when not 22), the node's port with `-p`.
 */
export function sshCommandLine(login: SshLogin): string {
  const at = (l: { host: string; user?: string }) => (l.user ? `${l.user}@${l.host}` : l.host);
  const jump = login.proxy
    ? ["-J", `${at(login.proxy)}${login.proxy.port && login.proxy.port !== 22 ? `:${login.proxy.port}` : ""}`]
    : [];
  const port = login.port && login.port !== 22 ? ["-p", String(login.port)] : [];
  return ["ssh", ...jump, ...port, at(login)].join(" ");
}

/**
 * Where a resolved connection logs in, as `sshCommandLine` takes it (no key: the operator's
 * agent, or `-i`, supplies that).
 */
export function connectionLogin(c: command.types.input.remote.ConnectionArgs): SshLogin {
  const login = (l: { host: unknown; port?: unknown; user?: unknown }) => ({
    host: String(l.host),
    ...(l.port !== undefined ? { port: Number(l.port) } : {}),
    ...(l.user !== undefined ? { user: String(l.user) } : {}),
  });
  const proxy = c.proxy as command.types.input.remote.ProxyConnectionArgs | undefined;
  return { ...login(c), ...(proxy ? { proxy: login(proxy) } : {}) };
}
