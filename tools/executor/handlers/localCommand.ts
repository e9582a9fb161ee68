// command:local:Command — the provider's create, update and delete
// (pulumi-command v1.2.1 provider/pkg/provider/local/commandController.go, run in
// commandOutputs.go:39-120): the text through `interpreter` (default /bin/sh -c), in `dir`
// (default the working directory), with this process's environment plus `environment`,
// `stdin` piped; stdout and stderr with one trailing newline trimmed.
// - create runs `create` (nothing when unset);
// - update runs `update`, or `create` when `update` is unset (:67-91), with the previous
//   stdout/stderr in PULUMI_COMMAND_STDOUT/STDERR (unless addPreviousOutputInEnv is false:
//   commandOutputs.go:88-95); neither set: the old outputs stand;
// - delete runs the STORED `delete` with the stored inputs and outputs (:93-99).
import { runOk } from "../process";
import { type HandlerContext, input, type ResourceHandler } from "../types";
import { type CommandOutputs, commandLifecycle } from "./commandLifecycle";

export function interpreterOf(inputs: Record<string, unknown>): string[] {
  const interp = inputs.interpreter;
  if (interp === undefined || interp === null || (Array.isArray(interp) && interp.length === 0))
    return ["/bin/sh", "-c"];
  if (!Array.isArray(interp) || !interp.every((w) => typeof w === "string"))
    throw new Error(`input 'interpreter': expected a list of strings, got ${JSON.stringify(interp)}`);
  return interp as string[];
}

export function environmentOf(inputs: Record<string, unknown>): Record<string, string> {
  const env = inputs.environment;
  if (env === undefined || env === null) return {};
  if (typeof env !== "object" || Array.isArray(env))
    throw new Error(`input 'environment': expected a map of strings, got ${JSON.stringify(env)}`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (typeof v !== "string")
      throw new Error(`input 'environment.${k}': expected a string, got ${JSON.stringify(v)}`);
    out[k] = v;
  }
  return out;
}

/** The provider trims exactly one trailing newline from stdout and stderr. */
export function trimOneNewline(text: string): string {
  return text.endsWith("\n") ? text.slice(0, -1) : text;
}

/** PULUMI_COMMAND_STDOUT/STDERR from the previous outputs, as run() adds them (commandOutputs.go:88-95). */
export function previousOutputEnv(
  inputs: Record<string, unknown>,
  previous: { stdout?: unknown; stderr?: unknown },
): Record<string, string> {
  if (input(inputs, "addPreviousOutputInEnv", "boolean") === false) return {};
  const env: Record<string, string> = {};
  if (typeof previous.stdout === "string" && previous.stdout) env.PULUMI_COMMAND_STDOUT = previous.stdout;
  if (typeof previous.stderr === "string" && previous.stderr) env.PULUMI_COMMAND_STDERR = previous.stderr;
  return env;
}

function refuseUnsupported(inputs: Record<string, unknown>): void {
  for (const unsupported of ["assetPaths", "archivePaths"])
    if (inputs[unsupported] !== undefined && inputs[unsupported] !== null)
      throw new Error(`input '${unsupported}' is not implemented by the rehearsal`);
}

async function runLocal(
  what: string,
  text: string,
  inputs: Record<string, unknown>,
  previous: { stdout?: unknown; stderr?: unknown },
  ctx: HandlerContext,
): Promise<CommandOutputs> {
  const result = await runOk(`command:local ${ctx.name}${what}`, [...interpreterOf(inputs), text], {
    cwd: input(inputs, "dir", "string") ?? process.cwd(),
    env: { ...process.env, ...environmentOf(inputs), ...previousOutputEnv(inputs, previous) },
    stdin: input(inputs, "stdin", "string") || undefined,
    signal: ctx.signal,
  });
  return { stdout: trimOneNewline(result.stdout), stderr: trimOneNewline(result.stderr) };
}

export const localCommand: ResourceHandler = commandLifecycle(refuseUnsupported, runLocal);
