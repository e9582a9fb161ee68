// command:local:Command — the create text run as the provider runs it: through
// `interpreter` (default /bin/sh -c), in `dir` (default the program's working
// directory), with this process's environment plus `environment`, `stdin` piped;
// stdout and stderr with one trailing newline trimmed. `update`/`delete` are not run at
// create; `delete` is journaled for teardown.
import { runOk } from "../process";
import { type Handler, input, type Undo } from "../types";

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

export const localCommand: Handler = async (inputs, ctx) => {
  for (const unsupported of ["assetPaths", "archivePaths"])
    if (inputs[unsupported] !== undefined)
      throw new Error(`input '${unsupported}' is not implemented by the rehearsal`);
  const create = input(inputs, "create", "string");
  const interpreter = interpreterOf(inputs);
  const environment = environmentOf(inputs);
  const dir = input(inputs, "dir", "string");
  // Journaled before the create runs: a create that fails or is killed half-way may have
  // made things its delete removes (a stack deploy's secrets and networks).
  const del = input(inputs, "delete", "string");
  let undo: Undo | undefined;
  if (del) {
    const omitted = Object.entries(environment)
      .filter(([, v]) => ctx.secrets.reveals(v))
      .map(([k]) => k);
    undo = {
      kind: "command:local",
      delete: del,
      interpreter,
      dir: dir ?? process.cwd(),
      environment: Object.fromEntries(Object.entries(environment).filter(([k]) => !omitted.includes(k))),
      ...(omitted.length ? { environmentOmitted: omitted } : {}),
      unfinished: true,
    };
    ctx.journal(undo);
  }
  let stdout = "";
  let stderr = "";
  if (create !== undefined) {
    const result = await runOk(`command:local ${ctx.name}`, [...interpreter, create], {
      cwd: dir ?? process.cwd(),
      env: { ...process.env, ...environment },
      stdin: input(inputs, "stdin", "string") || undefined,
      signal: ctx.signal,
    });
    stdout = trimOneNewline(result.stdout);
    stderr = trimOneNewline(result.stderr);
  }
  if (undo?.kind === "command:local") {
    delete undo.unfinished;
    if (input(inputs, "addPreviousOutputInEnv", "boolean") !== false) {
      // As the provider does for delete: the create's outputs in the environment (unless secret).
      if (stdout && !ctx.secrets.reveals(stdout))
        undo.environment = { ...undo.environment, PULUMI_COMMAND_STDOUT: stdout };
      if (stderr && !ctx.secrets.reveals(stderr))
        undo.environment = { ...undo.environment, PULUMI_COMMAND_STDERR: stderr };
    }
    ctx.journal(undo);
  }
  return { id: `${ctx.name}-${Date.now().toString(36)}`, outputs: { stdout, stderr } };
};
