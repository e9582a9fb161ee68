// Shared helpers of the docker:index/* handlers: the docker CLI, label lists, and the
// check that a resource uses the default provider (this machine's engine).
import { CommandFailure, type RunOptions, run, runOk } from "../process";
import type { HandlerContext } from "../types";

export async function docker(
  ctx: Pick<HandlerContext, "name" | "type" | "signal">,
  what: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<string> {
  const result = await runOk(`${ctx.type} ${ctx.name}: docker ${what}`, ["docker", ...args], {
    signal: ctx.signal,
    ...options,
  });
  return result.stdout.trim();
}

/** Already gone: what the provider's delete tolerates ("No such container", not found). */
const GONE = /no such (container|network|volume)|not found|No such object/i;

/** A docker command of a delete: success when the thing is already gone. */
export async function dockerGone(
  ctx: Pick<HandlerContext, "name" | "type" | "signal">,
  what: string,
  args: readonly string[],
): Promise<void> {
  const result = await run(["docker", ...args], { signal: ctx.signal });
  if (result.code !== 0 && !GONE.test(result.stderr))
    throw new CommandFailure(`${ctx.type} ${ctx.name}: docker ${what}`, result.code, result.stderr);
}

/** Retry a delete while docker says the thing is still in use (the provider's StateChangeConf loops). */
export async function dockerRemoveRetrying(
  ctx: Pick<HandlerContext, "name" | "type" | "signal">,
  what: string,
  args: readonly string[],
  busy: RegExp,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await run(["docker", ...args], { signal: ctx.signal });
    if (result.code === 0 || GONE.test(result.stderr)) return;
    if (!busy.test(result.stderr) || Date.now() > deadline || ctx.signal.aborted)
      throw new CommandFailure(`${ctx.type} ${ctx.name}: docker ${what}`, result.code, result.stderr);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** `labels: [{label, value}]` as `--label k=v` arguments. */
export function labelArgs(labels: unknown, where = "labels"): string[] {
  if (labels === undefined || labels === null) return [];
  if (!Array.isArray(labels)) throw new Error(`input '${where}': expected a list of {label, value}`);
  return labels.flatMap((l, i) => {
    const { label, value } = (l ?? {}) as { label?: unknown; value?: unknown };
    if (typeof label !== "string" || typeof value !== "string")
      throw new Error(
        `input '${where}[${i}]': expected {label: string, value: string}, got ${JSON.stringify(l)}`,
      );
    return ["--label", `${label}=${value}`];
  });
}

/** Fail on inputs the rehearsal does not implement, naming them, rather than ignore them. */
export function refuseInputs(inputs: Record<string, unknown>, known: readonly string[], type: string): void {
  const unknown = Object.keys(inputs).filter(
    (k) =>
      !known.includes(k) &&
      inputs[k] !== undefined &&
      inputs[k] !== null &&
      !(Array.isArray(inputs[k]) && (inputs[k] as unknown[]).length === 0),
  );
  if (unknown.length)
    throw new Error(
      `${type}: input(s) ${unknown.map((k) => `'${k}'`).join(", ")} not implemented by the rehearsal executor (it implements: ${known.join(", ")})`,
    );
}

export function stringList(v: unknown, where: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === "string"))
    throw new Error(`input '${where}': expected a list of strings, got ${JSON.stringify(v)}`);
  return v as string[];
}
