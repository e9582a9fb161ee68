// The engine's side of a step, shared by `execute` (up) and `teardown` (destroy): the
// step records, a handler's context, and deletes — one resource, or many in the
// engine's waves (dependents first, each wave in parallel) — each written to the state
// as it completes. The decision of what to do is diff.ts; the provider actions are the
// handlers.
import { deleteWaves, ProtectedError, type StateNode } from "./diff";
import { CommandFailure } from "./process";
import { type SecretMask, unwrap } from "./secrets";
import type { RehearsalState, StoredResource } from "./state";
import type { HandlerContext, PriorResource, ResourceHandler, SshSession } from "./types";

export type StepOp = "create" | "update" | "replace" | "delete" | "same";

/** One thing the run did (or decided), in the order it happened. */
export interface Step {
  /** 1, 2, …: the order the steps started in. */
  seq: number;
  op: StepOp;
  urn: string;
  type: string;
  name: string;
  /** For a replace: the keys that caused it (`id` for --replace). */
  replaceKeys?: string[];
  /** For a replace: whether the original went first or goes at the end of the run. */
  order?: "create-before-delete" | "delete-before-replace";
  /** For an update or replace: the top-level keys that changed. */
  changedKeys?: string[];
  /** For a delete: the original of a replacement (`delete-replaced` in Pulumi's display). */
  replaced?: boolean;
  /** For a delete: the delete-before-replace that took it down first (its URN). */
  because?: string;
  /** For an update: what the provider does in place. */
  inPlace?: string[];
  /** Why (rules, with sources). */
  reasons?: string[];
  startedMs: number;
  finishedMs: number;
  /** The step failed with this message. */
  error?: string;
}

export type Summary = Record<StepOp, number>;

export function summarize(steps: readonly Step[]): Summary {
  const s: Summary = { create: 0, update: 0, replace: 0, delete: 0, same: 0 };
  for (const step of steps)
    if (!step.error && !(step.op === "delete" && (step.replaced || step.because))) s[step.op]++;
  return s;
}

/** "Resources: 1 created, 3 updated, 1 replaced, 90 unchanged", as Pulumi's summary reads. */
export function summaryLine(s: Summary): string {
  const parts = [
    s.create && `${s.create} created`,
    s.update && `${s.update} updated`,
    s.replace && `${s.replace} replaced`,
    s.delete && `${s.delete} deleted`,
    `${s.same} unchanged`,
  ].filter(Boolean);
  return `Resources: ${parts.join(", ")}`;
}

export interface EngineContext {
  stack: string;
  root: string;
  state: RehearsalState;
  handlers: Record<string, ResourceHandler>;
  secrets: SecretMask;
  /** Masked already. */
  log(line: string): void;
  signal: AbortSignal;
  ssh(): Promise<SshSession & { close?(): void }>;
  now(): Date;
  t0: number;
  steps: Step[];
}

export const stamp = (t0: number) => `[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s]`;

export function newStep(ec: EngineContext, step: Omit<Step, "seq" | "startedMs" | "finishedMs">): Step {
  const s: Step = {
    ...step,
    seq: ec.steps.length + 1,
    startedMs: Date.now() - ec.t0,
    finishedMs: Date.now() - ec.t0,
  };
  ec.steps.push(s);
  return s;
}

export function handlerContext(
  ec: EngineContext,
  r: { type: string; name: string; urn: string },
  created: (id: string) => void = () => {},
): HandlerContext {
  return {
    type: r.type,
    name: r.name,
    urn: r.urn,
    stack: ec.stack,
    root: ec.root,
    log: (line) => ec.log(`${stamp(ec.t0)}   ${r.name}: ${line}`),
    secrets: ec.secrets,
    signal: ec.signal,
    created,
    now: ec.now,
    ssh: ec.ssh,
  };
}

/** The provider's outputs of a record: the state's keys that are not the inputs echoed. */
export function providerOutputs(record: Pick<StoredResource, "inputs" | "outputs">): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(record.outputs))
    if (!(k in record.inputs) || JSON.stringify(record.inputs[k]) !== JSON.stringify(v)) out[k] = v;
  return out;
}

/** A record as a handler's `prior`, secrets unwrapped. */
export function priorOf(record: StoredResource): PriorResource {
  return {
    id: record.id,
    inputs: unwrap(record.inputs) as Record<string, unknown>,
    outputs: unwrap(providerOutputs(record)) as Record<string, unknown>,
  };
}

/** Add every secret of a record to the run's mask (so logs of a later step never show it). */
export function maskRecord(secrets: SecretMask, record: Pick<StoredResource, "inputs" | "outputs">): void {
  unwrap(record.inputs, (leaf, _k, nested) => secrets.add(leaf, nested));
  unwrap(record.outputs, (leaf, _k, nested) => secrets.add(leaf, nested));
}

export function stateNode(r: StoredResource, key = r.urn): StateNode {
  return {
    key,
    urn: r.urn,
    type: r.type,
    custom: true,
    parent: r.parent || undefined,
    dependencies: r.dependencies,
    propertyDependencies: r.propertyDependencies,
    inputs: unwrap(r.inputs) as Record<string, unknown>,
    options: r.options,
  };
}

export interface DeleteHow {
  /** The original of a replacement. */
  replaced?: boolean;
  /** Deleted first for this delete-before-replace (URN). */
  because?: string;
  /** Keep the record, marked pending replacement (a delete-before-replace: step.go:770-783). */
  pendingReplacement?: boolean;
}

/**
 * Delete one resource with its STORED inputs and outputs (the provider's Delete gets the
 * old state), then drop its record (or keep it pending replacement). A failed delete
 * keeps the record: the resource is assumed to still exist (step.go DeleteStep).
 */
export async function deleteRecord(
  ec: EngineContext,
  record: StoredResource,
  how: DeleteHow = {},
): Promise<Step> {
  const step = newStep(ec, {
    op: "delete",
    urn: record.urn,
    type: record.type,
    name: record.name,
    ...(how.replaced ? { replaced: true } : {}),
    ...(how.because ? { because: how.because } : {}),
  });
  const label = how.replaced
    ? "delete-replaced"
    : how.because
      ? `delete (before replacing ${how.because.split("::").pop()})`
      : "delete";
  ec.log(`${stamp(ec.t0)} - ${record.type} ${record.name} (${label})`);
  const handler = ec.handlers[record.type];
  try {
    if (record.options.retainOnDelete)
      ec.log(`${stamp(ec.t0)}   ${record.name}: retainOnDelete: left in place`);
    else if (handler?.delete) await handler.delete(priorOf(record), handlerContext(ec, record));
    else if (!handler)
      throw new Error(`the rehearsal executor does not implement ${record.type}: cannot delete it`);
  } catch (err) {
    step.error = ec.secrets.mask(describe(err));
    step.finishedMs = Date.now() - ec.t0;
    throw err;
  }
  step.finishedMs = Date.now() - ec.t0;
  if (how.pendingReplacement) ec.state.update(record, { pendingReplacement: true, delete: undefined });
  else ec.state.remove(record);
  return step;
}

export function describe(err: unknown): string {
  if (err instanceof CommandFailure) return err.message;
  return err instanceof Error ? err.message : String(err);
}

/** The engine's refusal to delete a protected resource (step.go:614-624). */
export function protectedDeleteError(urn: string): ProtectedError {
  return new ProtectedError(
    urn,
    `resource "${urn}" cannot be deleted because it is protected. To unprotect the resource, either remove the \`protect\` flag from the resource in your Pulumi program and run \`pulumi up\`, or use the command: \`pulumi state unprotect '${urn}'\``,
  );
}

/**
 * What `pulumi destroy --exclude-protected` keeps: the protected resources and, transitively,
 * everything they depend on (dependencies, property dependencies, their parent). Their
 * dependents are not kept: a VM that mounts a protected volume goes, the volume stays.
 */
export function keptWithProtected(resources: readonly StoredResource[]): Set<string> {
  const byUrn = new Map(resources.map((r) => [r.urn, r]));
  const kept = new Set<string>();
  const stack = resources.filter((r) => r.options.protect && !r.pendingReplacement).map((r) => r.urn);
  while (stack.length) {
    const urn = stack.pop() as string;
    if (kept.has(urn)) continue;
    kept.add(urn);
    const r = byUrn.get(urn);
    if (!r) continue;
    for (const dep of [r.parent, ...r.dependencies, ...Object.values(r.propertyDependencies).flat()])
      if (dep && byUrn.has(dep) && !kept.has(dep)) stack.push(dep);
  }
  return kept;
}

/**
 * Delete records in the engine's waves (ScheduleDeletes, diff.ts deleteWaves): a wave
 * runs in parallel; after a failure the wave finishes and no later wave starts.
 */
export async function deleteInWaves(
  ec: EngineContext,
  records: readonly StoredResource[],
  how: (r: StoredResource) => DeleteHow = () => ({}),
): Promise<Step[]> {
  const nodes = records.map((r, i) => ({ ...stateNode(r, `${r.urn}#${i}`), record: r }));
  const steps: Step[] = [];
  for (const wave of deleteWaves(nodes)) {
    const results = await Promise.allSettled(wave.map((n) => deleteRecord(ec, n.record, how(n.record))));
    for (const r of results) if (r.status === "fulfilled") steps.push(r.value);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
  }
  return steps;
}
