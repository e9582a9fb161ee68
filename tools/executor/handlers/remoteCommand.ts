// command:remote:Command — the create text run over the real OpenSSH client: host keys
// checked strictly against the pinned `hostKey`s, the proxy as ProxyJump, private keys
// in a per-run ssh-agent (never on disk), `stdin` piped, dial retried on ssh's exit
// code 255 up to `dialErrorLimit` times. `environment` is refused: the provider sends it
// with SSH Setenv, which sshd rejects unless AcceptEnv allows it (the provider then fails),
// and OpenSSH's SetEnv would drop it silently, so no rehearsal of it would be honest.
import { CommandFailure, run, tail } from "../process";
import { type Connection, journaled, normaliseConnection, sshArgv, writeSshFiles } from "../ssh";
import { type Handler, type HandlerContext, input, type Undo } from "../types";
import { trimOneNewline } from "./localCommand";

let counter = 0;

/** Run one command over ssh with the provider's dial retries; returns stdout/stderr (trimmed) or throws CommandFailure. */
export async function runRemote(
  connection: Connection,
  command: string,
  ctx: Pick<HandlerContext, "name" | "signal" | "log" | "ssh">,
  stdin?: string,
): Promise<{ stdout: string; stderr: string }> {
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

export const remoteCommand: Handler = async (inputs, ctx) => {
  const environment = inputs.environment;
  if (environment && typeof environment === "object" && Object.keys(environment).length > 0)
    throw new Error(
      "input 'environment': refused by the rehearsal. The provider sends it with SSH Setenv, which sshd rejects unless AcceptEnv allows the names (the provider then fails); pass values on stdin or in the command instead",
    );
  const connection = normaliseConnection(inputs.connection);
  const create = input(inputs, "create", "string");
  // Journaled before the create runs (see command:local), completed after it.
  const del = input(inputs, "delete", "string");
  const undo: Undo | undefined = del
    ? { kind: "command:remote", delete: del, connection: journaled(connection), unfinished: true }
    : undefined;
  if (undo) ctx.journal(undo);
  let out = { stdout: "", stderr: "" };
  if (create !== undefined)
    out = await runRemote(connection, create, ctx, input(inputs, "stdin", "string") || undefined);
  if (undo) {
    delete undo.unfinished;
    ctx.journal(undo);
  }
  return { id: `${ctx.name}-${Date.now().toString(36)}`, outputs: out };
};
