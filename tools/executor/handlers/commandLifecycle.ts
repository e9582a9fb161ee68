// What pulumi-command v1.2.1 does alike for a local and a remote Command
// (provider/pkg/provider/{local,remote}/commandController.go); only where the text runs
// differs, and what each refuses before it runs anything.
// - create runs `create` (nothing when unset) under a new id;
// - update runs `update`, or `create` when `update` is unset; neither set: the old
//   stdout/stderr stand;
// - delete runs the STORED `delete` with the stored inputs and outputs.
import {
  type DeleteHandler,
  type Handler,
  type HandlerContext,
  input,
  type ResourceHandler,
  type UpdateHandler,
} from "../types";

/** The outputs a command leaves: its stdout and stderr, one trailing newline trimmed. */
export type CommandOutputs = { stdout: string; stderr: string };

/**
 * Runs one command text. `what` says which action it is for the logs ("", " (update)" or
 * " (delete)"); `previous` holds the outputs before an update or a delete.
 */
export type RunCommandText = (
  what: string,
  text: string,
  inputs: Record<string, unknown>,
  previous: { stdout?: unknown; stderr?: unknown },
  ctx: HandlerContext,
) => Promise<CommandOutputs>;

/** The create, update and delete of a Command whose texts `runText` runs, after `refuse` has checked the new inputs. */
export function commandLifecycle(
  refuse: (inputs: Record<string, unknown>) => void,
  runText: RunCommandText,
): ResourceHandler {
  const create: Handler = async (inputs, ctx) => {
    refuse(inputs);
    const text = input(inputs, "create", "string");
    const out = text === undefined ? { stdout: "", stderr: "" } : await runText("", text, inputs, {}, ctx);
    return { id: `${ctx.name}-${Date.now().toString(36)}`, outputs: out };
  };
  const update: UpdateHandler = async (prior, inputs, ctx) => {
    refuse(inputs);
    const text = input(inputs, "update", "string") ?? input(inputs, "create", "string");
    const previous = { stdout: prior.outputs.stdout ?? "", stderr: prior.outputs.stderr ?? "" };
    if (text === undefined) return { id: prior.id, outputs: previous };
    return { id: prior.id, outputs: await runText(" (update)", text, inputs, previous, ctx) };
  };
  const del: DeleteHandler = async (prior, ctx) => {
    const text = input(prior.inputs, "delete", "string");
    if (text === undefined) return;
    await runText(" (delete)", text, prior.inputs, prior.outputs, ctx);
  };
  return { create, update, delete: del };
}
