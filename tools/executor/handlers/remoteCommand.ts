// command:remote:Command — the create, update and delete of pulumi-command v1.2.1
// (provider/pkg/provider/remote/commandController.go) over the real OpenSSH client: host
// keys checked strictly against the pinned `hostKey`s, the proxy as ProxyJump, private
// keys in a per-run ssh-agent (never on disk), `stdin` piped, dial retried on ssh's exit
// code 255 up to `dialErrorLimit` times.
// - update runs `update` ?? `create` with the NEW connection (:63-84);
// - delete runs the STORED `delete` with the STORED connection (:86-92): its private key
//   comes from the (encrypted) state.
// `environment` is refused: the provider sends it with SSH Setenv, which sshd rejects
// unless AcceptEnv allows it (the provider then fails), and OpenSSH's SetEnv would drop
// it silently, so no rehearsal of it would be honest. The previous outputs the provider
// also tries to Setenv (commandOutputs.go:51-69, a warning when refused) are not sent.
import { CommandFailure, run, tail } from "../process";
import { type Connection, journaled, normaliseConnection, sshArgv, writeSshFiles } from "../ssh";
import { type HandlerContext, input, type ResourceHandler } from "../types";
import { type CommandOutputs, commandLifecycle } from "./commandLifecycle";
import { trimOneNewline } from "./localCommand";

let counter = 0;

/** Run one command over ssh with the provider's dial retries; returns stdout/stderr (trimmed) or throws CommandFailure. */
export async function runRemote(
  connection: Connection,
  command: string,
  ctx: Pick<HandlerContext, "name" | "signal" | "log" | "ssh">,
  stdin?: string,
): Promise<CommandOutputs> {
  const session = await ctx.ssh();
  for (const key of [connection.privateKey, connection.proxy?.privateKey]) if (key) await session.addKey(key);
  const files = writeSshFiles(
    session.dir,
    session.agentSocket,
    journaled(connection),
    `${ctx.name}-${++counter}`,
  );
  const argv = sshArgv(journaled(connection), files, command);
  // One ssh process dials both hops: the target's limit counts its failures (the provider
  // counts the proxy's dials against the proxy's own limit).
  const limit = connection.dialErrorLimit;
  for (let attempt = 1; ; attempt++) {
    const result = await run(argv, {
      stdin,
      signal: ctx.signal,
      env: { ...process.env, SSH_AUTH_SOCK: session.agentSocket },
    });
    if (result.code === 0 && !result.killedBy)
      return { stdout: trimOneNewline(result.stdout), stderr: trimOneNewline(result.stderr) };
    // 255: ssh itself failed (could not connect, host key, authentication) and the command
    // produced nothing: a dial error, retried as the provider retries its dial.
    const dialError = result.code === 255 && result.stdout === "" && !result.killedBy;
    if (!dialError || ctx.signal.aborted || (limit !== -1 && attempt >= limit)) {
      const what = dialError
        ? `command:remote ${ctx.name}: could not connect to ${connection.user}@${connection.host}:${connection.port}${connection.proxy ? ` via ${connection.proxy.host}:${connection.proxy.port}` : ""} after ${attempt} attempt(s)`
        : `command:remote ${ctx.name}`;
      throw new CommandFailure(
        result.killedBy ? `${what} (killed by ${result.killedBy})` : what,
        result.code,
        result.stderr,
      );
    }
    ctx.log(`dial ${attempt}/${limit === -1 ? "inf" : limit} failed (${tail(result.stderr, 1)}): retrying`);
    await new Promise((r) => setTimeout(r, Math.min(1000 * 1.5 ** (attempt - 1), 5000)));
  }
}

function refuseEnvironment(inputs: Record<string, unknown>): void {
  const environment = inputs.environment;
  if (environment && typeof environment === "object" && Object.keys(environment).length > 0)
    throw new Error(
      "input 'environment': refused by the rehearsal. The provider sends it with SSH Setenv, which sshd rejects unless AcceptEnv allows the names (the provider then fails); pass values on stdin or in the command instead",
    );
}

/** New inputs: no environment, and a connection the rehearsal can use, even when no text runs. */
function refuseNew(inputs: Record<string, unknown>): void {
  refuseEnvironment(inputs);
  normaliseConnection(inputs.connection);
}

/** A text over ssh, with the connection and stdin of `inputs` (the stored ones for a delete). */
const runText = (
  _what: string,
  text: string,
  inputs: Record<string, unknown>,
  _previous: unknown,
  ctx: HandlerContext,
): Promise<CommandOutputs> =>
  runRemote(normaliseConnection(inputs.connection), text, ctx, input(inputs, "stdin", "string") || undefined);

export const remoteCommand: ResourceHandler = commandLifecycle(refuseNew, runText);
