// The rehearsal executor: runs the real Pulumi program (index.ts) under
// pulumi.runtime.setMocks with a mock monitor whose newResource PERFORMS the resource
// (docker build/run, commands over a shell or SSH, generated keys and passwords) and
// returns the real outputs, so later resources see real addresses, digests, host keys and
// command outputs. Pulumi's runtime registers a resource only once its inputs and
// dependsOn resources have resolved, which gives the dependency order for free.
//
// Like `pulumi up`, it keeps state between runs (.rehearsal/<stack>/state.json, secrets
// encrypted: state.ts) and, for each registered resource, does what the engine and the
// provider would: same (nothing runs, the stored outputs come back), create, update (the
// provider's in-place update) or replace, create-before-delete or delete-before-replace
// with the engine's dependent walk (diff.ts, rules.ts); what left the program is deleted
// at the end, dependents first. `teardown` is `pulumi destroy`. No refresh, no preview.
// `npm run up` (the Pulumi CLI) is the real thing.
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { parse as parseYaml } from "yaml";
import { checkInputs } from "./check";
import { type Decision, decide, dependentReplacements, type Prior, ProtectedError } from "./diff";
import {
  deleteInWaves,
  deleteRecord,
  describe,
  type EngineContext,
  handlerContext,
  keptWithProtected,
  maskRecord,
  newStep,
  priorOf,
  protectedDeleteError,
  providerOutputs,
  type Step,
  type Summary,
  stamp,
  stateNode,
  summarize,
  summaryLine,
} from "./engine";
import { HANDLERS } from "./handlers";
import { legacyJournalOf, teardownJournal } from "./journal";
import { CommandFailure, tail } from "./process";
import { isSecretWrapper, SecretMask, secretWrapper, unwrap } from "./secrets";
import { startSshSession } from "./ssh";
import {
  hasSecret,
  noOptions,
  type PendingOperation,
  RehearsalState,
  type StoredOptions,
  type StoredResource,
  statePath,
} from "./state";
import {
  asResourceHandler,
  type Handler,
  type HandlerResult,
  type ResourceHandler,
  type SshSession,
} from "./types";

export type { Step, Summary } from "./engine";

export const REPO_ROOT = path.resolve(__dirname, "..", "..");
export const PROJECT = "flotilla";
const STALL_MS = 15_000;

export interface ExecuteOptions {
  /** Stack name: reads `Pulumi.<stack>.yaml` from `root`. */
  stack: string;
  /** Repository root (default: this repository). */
  root?: string;
  /** The program: a module path (default `<root>/index.ts`) or a function that declares the resources. */
  program?:
    | string
    | (() => Promise<Record<string, unknown> | undefined> | Record<string, unknown> | undefined);
  /** State file: default `<root>/.rehearsal/<stack>/state.json`; `false` keeps none (every resource is created; tests of pure resources). */
  state?: string | false;
  /** @deprecated The old name of `state`. */
  journal?: string | false;
  /** Where progress lines go (already masked). Default: stderr. */
  log?: (line: string) => void;
  /** Answers to invokes (data sources) by token: the executor performs none itself (tests of other targets answer them). */
  invokes?: Record<string, (inputs: Record<string, unknown>) => Record<string, unknown>>;
  /** Handlers by type, over the built-in ones (tests inject slow or fake ones). A bare function is a create whose update runs it again. */
  handlers?: Record<string, Handler | ResourceHandler>;
  /** Config values over the stack file's, as stackConfig takes them (objects JSON-encoded). */
  config?: Record<string, unknown>;
  /** Values of secret config keys (`secure:` in the stack file cannot be decrypted without Pulumi). */
  secretConfig?: Record<string, string>;
  /** Aborting it (Ctrl-C in the demo) fails the run like a failed resource: running actions are killed. */
  signal?: AbortSignal;
  /** `pulumi up --replace`: URNs or resource names to replace even if unchanged. */
  replace?: string[];
  /** The plan's clock (default: the real one): a test can run "a year later". */
  now?: () => Date;
}

export interface ExecutedResource {
  type: string;
  name: string;
  urn: string;
  parent: string;
  custom: boolean;
  id?: string;
  /** URNs of the resources it depends on (dependsOn and those its inputs came from). */
  dependencies: string[];
  /** Outputs of the provider (on top of the inputs), secret ones replaced by "[secret]". */
  outputs: Record<string, unknown>;
  /** Names of outputs (and inputs) that are secret. */
  secrets: string[];
  /** What this run did with it. */
  op?: "create" | "update" | "replace" | "same";
  /** Milliseconds from the start of the run to the start and end of the action. */
  startedMs: number;
  finishedMs: number;
}

export interface ExecuteResult {
  /** The program's stack outputs; secret ones replaced by "[secret]", known secrets inside others masked. */
  outputs: Record<string, unknown>;
  /** The secret stack outputs' values (for a RAM-backed file, never for printing). */
  secretOutputs: Record<string, unknown>;
  resources: ExecutedResource[];
  /** Every step, in order: create, update, replace (with its keys and order), delete (also of replaced originals), same. */
  steps: Step[];
  /** Counts of the resources' steps, as Pulumi's summary line counts them. */
  summary: Summary;
  /** The state file, if one is kept. */
  state?: string;
  /** @deprecated The state file (was the journal). */
  journal?: string;
  seconds: number;
}

/** A failed run: the resource, the command's exit code and its standard error (masked). */
export class ExecutionError extends Error {
  constructor(
    message: string,
    readonly resourceType?: string,
    readonly resourceName?: string,
    readonly exitCode?: number,
    readonly stderr?: string,
    /** The steps taken before the failure (the failed one carries `error`). */
    readonly steps: Step[] = [],
  ) {
    super(message);
  }
}

/**
 * Stack config as the CLI hands it to a program: keys namespaced with the project, every
 * value a string (objects JSON-encoded), and the names of secret keys. `secure:` values
 * must come from `secretConfig` (the rehearsal cannot decrypt Pulumi secrets).
 */
export function loadStackConfig(
  root: string,
  stack: string,
  overrides: Record<string, unknown> = {},
  secretConfig: Record<string, string> = {},
): { config: Record<string, string>; secretKeys: string[] } {
  const file = path.join(root, `Pulumi.${stack}.yaml`);
  if (!existsSync(file)) throw new Error(`no stack file ${file} (stack '${stack}')`);
  const parsed = (parseYaml(readFileSync(file, "utf8")) ?? {}) as { config?: Record<string, unknown> };
  const qualify = (k: string) => (k.includes(":") ? k : `${PROJECT}:${k}`);
  const merged: Record<string, unknown> = {};
  for (const [k, v] of Object.entries({ ...(parsed.config ?? {}), ...overrides })) merged[qualify(k)] = v;
  const config: Record<string, string> = {};
  const secretKeys: string[] = [];
  for (const [key, value] of Object.entries(merged)) {
    if (value === undefined) continue;
    if (value && typeof value === "object" && "secure" in (value as object)) {
      const given = secretConfig[key];
      if (given === undefined)
        throw new Error(
          `${key} is encrypted (secure:) in Pulumi.${stack}.yaml; the rehearsal cannot decrypt Pulumi secrets: pass its value in secretConfig (or leave it unset so it is generated)`,
        );
      continue;
    }
    config[key] = typeof value === "string" ? value : JSON.stringify(value);
  }
  for (const [k, v] of Object.entries(secretConfig)) {
    config[qualify(k)] = v;
    secretKeys.push(qualify(k));
  }
  return { config, secretKeys };
}

interface OutputsRequest {
  getUrn(): string;
  getOutputs(): { toJavaScript(): Record<string, unknown> } | undefined;
}

interface AliasSpec {
  getName(): string;
  getType(): string;
  getStack(): string;
  getProject(): string;
  getParenturn(): string;
  getNoparent(): boolean;
}

/** The parts of RegisterResourceRequest that MockResourceArgs does not carry (proto/resource_pb.js). */
interface MonitorRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getCustom(): boolean;
  getDependenciesList(): string[];
  getPropertydependenciesMap(): { entries(): Iterable<[string, { getUrnsList(): string[] }]> };
  getProtect(): boolean;
  getDeletebeforereplace(): boolean;
  getDeletebeforereplacedefined(): boolean;
  getReplaceonchangesList(): string[];
  getIgnorechangesList(): string[];
  getAdditionalsecretoutputsList(): string[];
  getAliasesList(): { getUrn(): string; getSpec(): AliasSpec | undefined; hasSpec?(): boolean }[];
  getAliasurnsList(): string[];
  hasRetainondelete(): boolean;
  getRetainondelete(): boolean;
}

/** What the registration said beyond type, name and inputs. */
interface Registration {
  parent: string;
  dependencies: string[];
  propertyDependencies: Record<string, string[]>;
  options: StoredOptions;
}

/** The URN the mock monitor gives (runtime/mocks.js newUrn): the parent's last type segment, then the type. */
function urnOf(stack: string, parent: string, type: string, name: string, project = PROJECT): string {
  const qualified = parent ? `${parent.split("::")[2].split("$").pop()}$${type}` : type;
  return `urn:pulumi:${stack}::${project}::${qualified}::${name}`;
}

/**
 * A registration's parent, dependencies and options. `aliasesOf` gives the alias URNs of
 * resources registered before (the parent's): as the engine does, a child of an aliased
 * parent is also found at its URN under each of the parent's old URNs, so a component's
 * renamed type token keeps its children (source_eval.go, inherited child aliases).
 */
function registrationOf(
  req: MonitorRequest,
  stack: string,
  aliasesOf: (urn: string) => readonly string[] = () => [],
): Registration {
  const propertyDependencies: Record<string, string[]> = {};
  for (const [k, deps] of req.getPropertydependenciesMap().entries())
    propertyDependencies[k] = deps.getUrnsList();
  const parent = req.getParent();
  const aliases: string[] = [...req.getAliasurnsList()];
  for (const alias of req.getAliasesList()) {
    const spec = alias.getSpec();
    if (!spec) {
      if (alias.getUrn()) aliases.push(alias.getUrn());
      continue;
    }
    const aliasParent = spec.getNoparent() ? "" : spec.getParenturn() || parent;
    aliases.push(
      urnOf(
        spec.getStack() || stack,
        aliasParent,
        spec.getType() || req.getType(),
        spec.getName() || req.getName(),
        spec.getProject() || PROJECT,
      ),
    );
  }
  for (const parentAlias of parent ? aliasesOf(parent) : [])
    aliases.push(urnOf(stack, parentAlias, req.getType(), req.getName()));
  return {
    parent,
    dependencies: req.getDependenciesList(),
    propertyDependencies,
    options: {
      protect: req.getProtect(),
      ...(req.getDeletebeforereplacedefined() ? { deleteBeforeReplace: req.getDeletebeforereplace() } : {}),
      replaceOnChanges: req.getReplaceonchangesList(),
      ignoreChanges: req.getIgnorechangesList(),
      additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
      aliases,
      ...(req.hasRetainondelete() && req.getRetainondelete() ? { retainOnDelete: true } : {}),
    },
  };
}

/** A value with every known secret inside its strings masked. */
function maskDeep(value: unknown, secrets: SecretMask): unknown {
  if (typeof value === "string") return secrets.mask(value);
  if (Array.isArray(value)) return value.map((v) => maskDeep(v, secrets));
  if (value && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskDeep(v, secrets)]));
  return value;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The state file an execute or teardown uses (undefined: none). */
function stateFileOf(options: {
  stack: string;
  root?: string;
  state?: string | false;
  journal?: string | false;
}) {
  const given = options.state ?? options.journal;
  if (given === false) return undefined;
  return given ?? statePath(options.root ?? REPO_ROOT, options.stack);
}

/**
 * The state the runtime sees: the inputs echoed, then the provider's outputs; outputs the
 * provider marks secret, and those in additionalSecretOutputs (the engine applies them to
 * every registration's outputs), wrapped as secrets. Inputs keep their own secretness,
 * which the go-provider's default wiring flows to the same-named output
 * (infer/resource.go:754-806) and the bridge keeps for echoed inputs.
 */
function runtimeState(
  inputs: Record<string, unknown>,
  outputs: Record<string, unknown>,
  secretOutputs: ReadonlySet<string>,
  additionalSecretOutputs: readonly string[],
): Record<string, unknown> {
  const state: Record<string, unknown> = { ...inputs };
  for (const [k, v] of Object.entries(outputs)) {
    if (v === undefined) continue;
    state[k] = secretOutputs.has(k) && !isSecretWrapper(v) ? secretWrapper(v) : v;
  }
  for (const k of additionalSecretOutputs)
    if (k in state && !isSecretWrapper(state[k])) state[k] = secretWrapper(state[k]);
  return state;
}

/** The outputs shown in a record: the provider's, secrets as "[secret]", known secrets masked. */
function shownOutputs(state: Record<string, unknown>, inputs: Record<string, unknown>, secrets: SecretMask) {
  const shown: Record<string, unknown> = {};
  const secretKeys: string[] = [];
  for (const [k, v] of Object.entries(providerOutputs({ inputs, outputs: state }))) {
    if (hasSecret(v)) {
      shown[k] = "[secret]";
      secretKeys.push(k);
    } else shown[k] = maskDeep(unwrap(v), secrets);
  }
  for (const [k, v] of Object.entries(inputs)) if (hasSecret(v)) secretKeys.push(k);
  return { shown, secretKeys: [...new Set(secretKeys)] };
}

/** The stored inputs of a resource: the program's (with their secretness) plus what the provider's Check adds. */
function storedInputs(type: string, wire: Record<string, unknown>, root: string): Record<string, unknown> {
  const plain = unwrap(wire) as Record<string, unknown>;
  // Relative paths (a build context) are the project directory's, where `pulumi` runs the program.
  const checked = checkInputs(type, plain, root);
  if (checked === plain) return wire;
  const out: Record<string, unknown> = { ...wire };
  for (const [k, v] of Object.entries(checked))
    if (JSON.stringify(v) !== JSON.stringify(plain[k])) out[k] = hasSecret(wire[k]) ? secretWrapper(v) : v;
  return out;
}

function priorForDecision(r: StoredResource): Prior {
  return {
    urn: r.urn,
    type: r.type,
    inputs: unwrap(r.inputs) as Record<string, unknown>,
    outputs: unwrap(r.outputs) as Record<string, unknown>,
    options: r.options,
    pendingReplacement: r.pendingReplacement,
  };
}

/** Module namespaces the program returned in this process (each run must be a fresh one). */
const loadedPrograms = new WeakSet<object>();
let programLoads = 0;

/**
 * The program module, executed anew. Node caches modules, so a second `execute()` in one
 * process would get the first run's exports without any registration, and the run would
 * then delete every resource in state as "left the program". So the module is dropped
 * from the CommonJS cache and imported under a new URL (an ES module cache key), and a
 * namespace seen before is refused rather than taken for an empty program.
 */
async function loadProgram(file: string): Promise<Record<string, unknown>> {
  programLoads++;
  try {
    delete require.cache[require.resolve(file)];
  } catch {
    // Not loaded through CommonJS (an ES module runner): the URL below is new anyway.
  }
  const mod = (await import(programLoads === 1 ? file : `${file}?run=${programLoads}`)) as Record<
    string,
    unknown
  >;
  if (loadedPrograms.has(mod))
    throw new Error(
      `the program ${file} was not run again: this process returned the module an earlier execute() loaded (cached); run each up in its own process (npm run demo) or pass the program as a function`,
    );
  loadedPrograms.add(mod);
  return mod;
}

/** Bring a stack up (or update it, from its state) by running its program with real actions. Throws ExecutionError on the first failure. */
export async function execute(options: ExecuteOptions): Promise<ExecuteResult> {
  const root = options.root ?? REPO_ROOT;
  const { stack } = options;
  const t0 = Date.now();
  const secrets = new SecretMask();
  const log = (line: string) =>
    (options.log ?? ((l: string) => process.stderr.write(`${l}\n`)))(secrets.mask(line));
  const now = options.now ?? (() => new Date());

  const { config, secretKeys } = loadStackConfig(root, stack, options.config, options.secretConfig);
  for (const k of secretKeys) secrets.add(config[k]);

  const file = stateFileOf(options);
  const legacy = file ? legacyJournalOf(root, stack, file) : undefined;
  if (legacy)
    throw new ExecutionError(
      `${path.relative(process.cwd(), legacy) || legacy} is the journal of a rehearsal made by the create-only executor (no inputs to diff against): remove what it made first with \`npm run demo -- --stack ${stack} --down\`, then run again`,
    );
  let state: RehearsalState;
  try {
    state = file ? RehearsalState.open(file, stack) : RehearsalState.ephemeral(stack);
  } catch (err) {
    throw new ExecutionError(errorText(err));
  }
  const { ec, abort, closeSsh } = engineContext({
    stack,
    root,
    state,
    secrets,
    log,
    now,
    t0,
    handlers: options.handlers,
  });
  const { handlers, steps } = ec;
  const resources: ExecutedResource[] = [];
  const pending = new Map<string, Registration>();
  const inflight = new Set<Promise<unknown>>();
  let failure: ExecutionError | undefined;
  let lastActivity = Date.now();
  /** URNs registered (custom) this run. */
  const registered = new Set<string>();
  /** Deleted this run as dependents of a delete-before-replace: URN → the keys that condemned them. */
  const recreate = new Map<string, string[]>();
  const replaceTargets = new Set(options.replace ?? []);
  // After a failure the program's remaining outputs never resolve: stop waiting for them.
  let onFailure = () => {};
  const failed = new Promise<void>((resolve) => {
    onFailure = resolve;
  });

  const fail = (type: string, name: string, err: unknown): ExecutionError => {
    if (err instanceof ExecutionError && err === failure) return err;
    const exitCode = err instanceof CommandFailure ? err.exitCode : undefined;
    const stderr = err instanceof CommandFailure ? secrets.mask(tail(err.stderr)) : undefined;
    const what = err instanceof CommandFailure ? err.what : errorText(err);
    const message = secrets.mask(
      `${type} ${name} failed: ${what}${exitCode !== undefined ? ` (exit code ${exitCode})` : ""}${stderr ? `\n${stderr}` : ""}`,
    );
    const e = new ExecutionError(message, type, name, exitCode, stderr, steps);
    if (!failure) {
      failure = e;
      abort.abort();
      onFailure();
    }
    return e;
  };

  if (state.pendingOperations.length)
    log(
      `warning: ${state.pendingOperations.length} pending operation(s) from an earlier run:\n${state.pendingOperations
        .map(
          (op) =>
            `  * ${op.resource.urn}, ${op.failed ? `failed while ${op.type}` : `interrupted while ${op.type}`}`,
        )
        .join(
          "\n",
        )}\n  Pulumi keeps these until \`pulumi refresh --clear-pending-creates\`; a real \`destroy\` never runs their delete (the rehearsal's teardown does).`,
    );

  /** Perform one registered custom resource: decide, act, record. Returns the state for the runtime. */
  const perform = async (
    args: pulumi.runtime.MockResourceArgs,
    reg: Registration,
    urn: string,
    record: ExecutedResource,
  ): Promise<{ id: string | undefined; state: Record<string, unknown> }> => {
    const type = args.type;
    const name = args.name;
    const handler = handlers[type];
    if (!handler)
      throw fail(
        type,
        name,
        new Error(`the rehearsal executor does not implement ${type}: it is for the local and lab targets`),
      );
    const wireInputs = args.inputs as Record<string, unknown>;
    const programInputs = unwrap(wireInputs) as Record<string, unknown>;
    const inputsToStore = storedInputs(type, wireInputs, root);

    // The old record: at this URN, or at one of its aliases (then renamed, as the engine does).
    let prior = state.get(urn);
    if (!prior)
      for (const alias of reg.options.aliases) {
        const found = state.get(alias);
        if (found && !registered.has(alias)) {
          state.rename(found, urn);
          prior = found;
          break;
        }
      }
    registered.add(urn);

    let decision: Decision;
    try {
      decision = decide(
        prior ? priorForDecision(prior) : undefined,
        { urn, type, inputs: unwrap(inputsToStore) as Record<string, unknown>, options: reg.options },
        {
          now: now(),
          targetedReplace: !!prior && (replaceTargets.has(urn) || replaceTargets.has(name)),
          recreating: recreate.has(urn) ? { keys: recreate.get(urn) ?? [] } : undefined,
        },
      );
    } catch (err) {
      throw fail(type, name, err);
    }

    const ctxFor = (created?: (id: string) => void) => handlerContext(ec, { type, name, urn }, created);
    const finish = (step: Step) => {
      step.finishedMs = Date.now() - t0;
    };
    const toRecord = (id: string, runtime: Record<string, unknown>, created?: string): StoredResource => ({
      urn,
      type,
      name,
      parent: reg.parent,
      id,
      inputs: inputsToStore,
      outputs: runtime,
      dependencies: reg.dependencies,
      propertyDependencies: reg.propertyDependencies,
      options: reg.options,
      created: created ?? now().toISOString(),
      modified: now().toISOString(),
    });
    const outcome = (result: HandlerResult) => {
      const secretOutputs = new Set(result.secretOutputs ?? []);
      for (const k of secretOutputs) unwrap(secretWrapper(result.outputs[k]), (leaf) => secrets.add(leaf));
      return runtimeState(wireInputs, result.outputs, secretOutputs, reg.options.additionalSecretOutputs);
    };
    /** Run the provider's create; a pending operation stands while it runs and stays if it fails. */
    const create = async (step: Step): Promise<StoredResource> => {
      const op: PendingOperation = {
        type: "creating",
        resource: {
          urn,
          type,
          name,
          parent: reg.parent,
          inputs: inputsToStore,
          dependencies: reg.dependencies,
        },
        time: now().toISOString(),
      };
      state.beginOperation(op);
      let result: HandlerResult;
      try {
        result = await handler.create(
          programInputs,
          ctxFor((id) => {
            op.resource.id = id;
            state.save();
          }),
        );
      } catch (err) {
        step.error = secrets.mask(describe(err));
        finish(step);
        state.endOperation(op, step.error);
        throw err;
      }
      state.dropOperation(op);
      // A failed create of this URN left by an earlier run is superseded now.
      for (const old of state.pendingOperations.filter((o) => o.resource.urn === urn && o.failed))
        state.dropOperation(old);
      return toRecord(result.id, outcome(result));
    };

    const step = newStep(ec, {
      op: decision.op,
      urn,
      type,
      name,
      reasons: decision.reasons,
      ...(decision.op === "replace"
        ? {
            replaceKeys: decision.replaceKeys,
            order: decision.deleteBeforeReplace ? "delete-before-replace" : "create-before-delete",
          }
        : {}),
      ...(decision.changedKeys.length ? { changedKeys: decision.changedKeys } : {}),
      ...(decision.op === "update" ? { inPlace: decision.inPlace } : {}),
    });
    record.op = decision.op;

    if (decision.op === "same" && prior) {
      // The engine's same step: the old outputs, the new registration's options and dependencies.
      state.touch(urn);
      const updated: StoredResource = {
        ...prior,
        parent: reg.parent,
        dependencies: reg.dependencies,
        propertyDependencies: reg.propertyDependencies,
        options: reg.options,
        outputs: runtimeState(prior.outputs, {}, new Set(), reg.options.additionalSecretOutputs),
      };
      if (JSON.stringify(updated) !== JSON.stringify(prior)) state.put(updated);
      finish(step);
      const { shown, secretKeys: shownSecrets } = shownOutputs(updated.outputs, updated.inputs, secrets);
      Object.assign(record, { id: prior.id, outputs: shown, secrets: shownSecrets });
      return { id: prior.id, state: updated.outputs };
    }

    const what =
      decision.op === "replace"
        ? `+- ${type} ${name} (replace: ${decision.replaceKeys.join(", ")}; ${decision.deleteBeforeReplace ? "delete first" : "create first"})`
        : decision.op === "update"
          ? `~ ${type} ${name} (update: ${decision.changedKeys.join(", ")})`
          : `+ ${type} ${name}`;
    log(`${stamp(t0)} ${what}`);
    const work = (async (): Promise<StoredResource> => {
      try {
        if (decision.op === "create") {
          const made = await create(step);
          state.put(made);
          return made;
        }
        if (!prior) throw new Error(`internal: ${decision.op} without a prior state`);
        if (decision.op === "update") {
          let result: HandlerResult;
          try {
            result = handler.update
              ? await handler.update(priorOf(prior), programInputs, ctxFor())
              : { id: prior.id, outputs: unwrap(providerOutputs(prior)) as Record<string, unknown> };
          } catch (err) {
            // A failed update keeps the old state (go-provider: no partial state; snapshot.go:498-505).
            step.error = secrets.mask(describe(err));
            finish(step);
            throw err;
          }
          const made = toRecord(prior.id, outcome(result), prior.created);
          state.put(made);
          return made;
        }
        // replace
        if (decision.deleteBeforeReplace) {
          if (!recreate.has(urn) && !prior.pendingReplacement) {
            // Dependents whose replace keys take a value from this resource go first, dependents
            // before the resources they depend on (step_generator.go:2066-2140).
            const live = state.resources.filter((r) => !r.delete);
            const dependents = dependentReplacements(
              urn,
              live.map((r) => stateNode(r)),
              registered,
            );
            for (const d of [...dependents].reverse()) {
              const dep = state.get(d.urn);
              if (!dep) continue;
              if (dep.options.protect)
                throw new ProtectedError(
                  d.urn,
                  `unable to replace resource "${d.urn}" as part of replacing "${urn}" as it is currently marked for protection`,
                );
              await deleteRecord(ec, dep, { because: urn, pendingReplacement: true });
              recreate.set(d.urn, d.keys);
            }
            await deleteRecord(ec, prior, { replaced: true, pendingReplacement: true });
            // The replacement's create starts now, after the deletes: its step goes after theirs.
            steps.splice(steps.indexOf(step), 1);
            steps.push(step);
            steps.forEach((s, i) => {
              s.seq = i + 1;
            });
            step.startedMs = Date.now() - t0;
          }
          const made = await create(step);
          state.put(made);
          return made;
        }
        // Create-before-delete: the original is marked for deletion and deleted at the end of
        // the run with its OLD inputs (step.go:467-472; GenerateDeletes).
        const made = await create(step);
        state.update(prior, { delete: true });
        state.put(made);
        return made;
      } catch (err) {
        if (!step.error) {
          step.error = secrets.mask(describe(err));
          finish(step);
        }
        throw fail(type, name, err);
      }
    })();
    inflight.add(work);
    lastActivity = Date.now();
    let made: StoredResource;
    try {
      made = await work;
    } finally {
      inflight.delete(work);
      lastActivity = Date.now();
    }
    finish(step);
    const { shown, secretKeys: shownSecrets } = shownOutputs(made.outputs, made.inputs, secrets);
    Object.assign(record, { id: made.id, outputs: shown, secrets: shownSecrets });
    log(`${stamp(t0)} ✓ ${type} ${name} (${((Date.now() - t0 - step.startedMs) / 1000).toFixed(1)} s)`);
    return { id: made.id, state: made.outputs };
  };

  const newResource = async (
    args: pulumi.runtime.MockResourceArgs,
  ): Promise<{ id: string | undefined; state: Record<string, unknown> }> => {
    const reg = pending.get(`${args.type}::${args.name}`) ?? {
      parent: "",
      dependencies: [],
      propertyDependencies: {},
      options: noOptions(),
    };
    const urn = urnOf(stack, reg.parent, args.type, args.name);
    const secretKeysOfInputs = new Set<string>();
    const inputs = unwrap(args.inputs, (leaf, key, nested) => {
      secrets.add(leaf, nested);
      secretKeysOfInputs.add(key);
    }) as Record<string, unknown>;
    const custom = args.custom !== false;
    const record: ExecutedResource = {
      type: args.type,
      name: args.name,
      urn,
      parent: reg.parent,
      custom,
      dependencies: reg.dependencies,
      outputs: {},
      secrets: [...secretKeysOfInputs],
      startedMs: Date.now() - t0,
      finishedMs: Date.now() - t0,
    };
    resources.push(record);
    // Components (and the stack) only group their children: nothing to perform.
    if (!custom) return { id: undefined, state: {} };
    if (args.type.startsWith("pulumi:providers:")) {
      if (Object.keys(inputs).some((k) => ["host", "endpoint", "registryAuth"].includes(k)))
        throw fail(
          args.type,
          args.name,
          new Error("explicit providers that point elsewhere are not implemented by the rehearsal executor"),
        );
      record.id = `${args.name}-provider`;
      return { id: `${args.name}-provider`, state: args.inputs };
    }
    if (failure)
      throw new ExecutionError(
        `${args.type} ${args.name}: not started, the run is aborting (${failure.resourceType} ${failure.resourceName} failed)`,
      );
    const result = await perform(args, reg, urn, record);
    record.finishedMs = Date.now() - t0;
    return result;
  };

  pulumi.runtime.setAllConfig(config, secretKeys);
  await pulumi.runtime.setMocks(
    {
      newResource,
      call(args) {
        const answer = options.invokes?.[args.token];
        if (answer) return answer(unwrap(args.inputs) as Record<string, unknown>);
        throw fail(
          "invoke",
          args.token,
          new Error(`the rehearsal executor does not implement the invoke ${args.token}`),
        );
      },
    },
    PROJECT,
    stack,
    false,
  );
  // Record what MockResourceArgs does not carry: the parent, the dependencies and the options.
  const monitor = pulumi.runtime.getMonitor() as unknown as {
    registerResource(req: MonitorRequest, cb: unknown): Promise<void>;
    registerResourceOutputs(req: OutputsRequest, cb: unknown): void;
  };
  // The stack's outputs as registered (the wire form keeps which ones are secret).
  let stackOutputs: Record<string, unknown> | undefined;
  const originalOutputs = monitor.registerResourceOutputs.bind(monitor);
  monitor.registerResourceOutputs = (req, cb) => {
    if (req.getUrn().split("::")[2] === "pulumi:pulumi:Stack")
      stackOutputs = req.getOutputs()?.toJavaScript();
    return originalOutputs(req, cb);
  };
  const original = monitor.registerResource.bind(monitor);
  // Every registration's alias URNs, by its URN (its children inherit them).
  const aliasesByUrn = new Map<string, readonly string[]>();
  monitor.registerResource = (req, cb) => {
    lastActivity = Date.now();
    const registration = registrationOf(req, stack, (urn) => aliasesByUrn.get(urn) ?? []);
    aliasesByUrn.set(
      urnOf(stack, req.getParent(), req.getType(), req.getName()),
      registration.options.aliases ?? [],
    );
    pending.set(`${req.getType()}::${req.getName()}`, registration);
    return original(req, cb);
  };

  // A failed resource rejects the outputs that depend on it; those rejections are the
  // same failure, reported once below, not crashes of this process.
  let programError: unknown;
  const onRejection = (reason: unknown) => {
    if (!failure && programError === undefined) programError = reason;
  };
  process.on("unhandledRejection", onRejection);
  const onAbort = () => fail("run", stack, new Error("interrupted"));
  if (options.signal?.aborted) onAbort();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  // Nothing in flight and nothing registered for a while, yet not done: the program waits on
  // something that can never resolve. Fail instead of letting the process drain and exit.
  const watchdog = setInterval(() => {
    if (inflight.size === 0 && Date.now() - lastActivity > STALL_MS)
      fail(
        "program",
        "index",
        new Error(
          `stalled: no resource in flight and none registered for ${STALL_MS / 1000} s, yet the program has not finished (a dependency that never resolves?)`,
        ),
      );
  }, 1000);
  const live = state.resources.filter((r) => !r.delete).length;
  log(
    `${stamp(t0)} rehearsal of stack '${stack}': ${live ? `${live} resources in state (${file ? path.relative(process.cwd(), file) || file : "in memory"})` : "no state yet: everything is created"}`,
  );
  let raw: Record<string, unknown> = {};
  try {
    const program = options.program ?? path.join(root, "index.ts");
    const done = pulumi.runtime.runInPulumiStack(async () => {
      try {
        if (typeof program === "function") return (await program()) ?? {};
        return { ...(await loadProgram(program)) };
      } catch (err) {
        programError ??= err;
        onFailure();
        return {};
      }
    });
    raw = (await Promise.race([done, failed])) ?? {};
    // The stack's outputs may resolve long before the last resource: disconnect() is what
    // waits for every registration to settle (raced with a failure, after which the
    // dependents of the failed resource never settle).
    if (!failure) await Promise.race([pulumi.runtime.disconnect(), failed]);
  } catch (err) {
    if (!failure) programError ??= err;
  } finally {
    clearInterval(watchdog);
    options.signal?.removeEventListener("abort", onAbort);
    // Resources still in flight finish (or, after a failure, are killed by the abort signal).
    while (inflight.size) await Promise.allSettled([...inflight]);
    await new Promise((r) => setImmediate(r));
    process.off("unhandledRejection", onRejection);
  }

  // Deletes run only after the program finished without error (GenerateDeletes, after every
  // registration): the originals of create-before-delete replacements, and what left the
  // program; dependents first. A resource still pending replacement that left the program
  // is only dropped from the state (RemovePendingReplaceStep).
  if (!failure && programError === undefined) {
    try {
      for (const r of state.resources.filter(
        (r) => !r.delete && !registered.has(r.urn) && r.pendingReplacement,
      ))
        state.remove(r);
      const condemned = state.resources.filter((r) => r.delete || !registered.has(r.urn));
      const refused = condemned.filter((r) => !r.delete && r.options.protect);
      if (refused.length) throw protectedDeleteError(refused[0].urn);
      if (condemned.length) await deleteInWaves(ec, condemned, (r) => (r.delete ? { replaced: true } : {}));
    } catch (err) {
      const urnOfErr = err instanceof ProtectedError ? err.urn : "";
      fail("delete", urnOfErr.split("::").pop() || "of what left the program", err);
    }
  }
  await closeSsh();

  if (failure) {
    // The dependents of the failed resource never resolve: not leaks of the program.
    try {
      require("@pulumi/pulumi/runtime/debuggable").leakedPromises();
    } catch {
      // An SDK without it: the runtime may print a leak notice at exit.
    }
    log(`${stamp(t0)} ✗ ${failure.message}`);
    log(summaryLine(summarize(steps)));
    if (file) log(`state kept: ${file} (the next run continues from it; teardown removes what was made)`);
    throw failure;
  }
  if (programError !== undefined) {
    const e = new ExecutionError(
      secrets.mask(`the program failed: ${errorText(programError)}`),
      undefined,
      undefined,
      undefined,
      undefined,
      steps,
    );
    log(`${stamp(t0)} ✗ ${e.message}`);
    throw e;
  }

  const outputs: Record<string, unknown> = {};
  const secretOutputs: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(stackOutputs ?? raw)) {
    let secret = false;
    const plain = unwrap(v, (leaf) => {
      secret = true;
      secrets.add(leaf);
    });
    if (plain === undefined) continue;
    if (secret) secretOutputs[k] = plain;
    // A plain output that happens to contain a secret (a command echoing one) is masked too.
    outputs[k] = secret ? "[secret]" : maskDeep(plain, secrets);
  }
  const seconds = (Date.now() - t0) / 1000;
  const summary = summarize(steps);
  log(`${stamp(t0)} ${summaryLine(summary)} (${seconds.toFixed(1)} s)`);
  return { outputs, secretOutputs, resources, steps, summary, state: file, journal: file, seconds };
}

export interface TeardownOptions {
  stack: string;
  root?: string;
  /** The state file (default `<root>/.rehearsal/<stack>/state.json`). */
  state?: string;
  /** @deprecated The old name of `state` (a journal of the create-only executor there is undone as it did). */
  journal?: string;
  log?: (line: string) => void;
  /** Delete protected resources too (the engine refuses them; `pulumi state unprotect` first). */
  unprotect?: boolean;
  /**
   * Keep the protected resources and what they need, delete the rest (`pulumi destroy
   * --exclude-protected`): the lab's MariaDB data volumes stay, in the state, for the next up.
   */
  excludeProtected?: boolean;
  handlers?: Record<string, Handler | ResourceHandler>;
}

/**
 * What up and teardown both run on: the state's secret values masked in every log line,
 * the providers (a test may replace some), one abort signal, and one SSH session (agent
 * and known-hosts files) started on first use.
 */
function engineContext(base: {
  stack: string;
  root: string;
  state: RehearsalState;
  secrets: SecretMask;
  log: (line: string) => void;
  now: () => Date;
  t0: number;
  handlers?: Record<string, Handler | ResourceHandler>;
}): { ec: EngineContext; abort: AbortController; closeSsh: () => Promise<void> } {
  const { state, secrets, handlers: replaced, ...rest } = base;
  for (const r of state.resources) maskRecord(secrets, r);
  for (const op of state.pendingOperations) maskRecord(secrets, { inputs: op.resource.inputs, outputs: {} });
  const handlers: Record<string, ResourceHandler> = { ...HANDLERS };
  for (const [type, h] of Object.entries(replaced ?? {})) handlers[type] = asResourceHandler(h);
  const abort = new AbortController();
  let session: Promise<SshSession & { close(): void }> | undefined;
  const ec: EngineContext = {
    ...rest,
    state,
    secrets,
    handlers,
    signal: abort.signal,
    ssh: () => {
      session ??= startSshSession(abort.signal);
      return session;
    },
    steps: [],
  };
  const closeSsh = async () => {
    if (session) (await session.catch(() => undefined))?.close();
  };
  return { ec, abort, closeSsh };
}

export interface TeardownResult {
  /** Resources deleted (removed from the state). */
  undone: number;
  /** Notes on what was not undone, and why. */
  skipped: string[];
  steps: Step[];
  seconds: number;
}

/**
 * `pulumi destroy`: delete every resource of the state in the engine's waves (dependents
 * first, each wave in parallel), each with its stored inputs; refuses protected ones
 * unless `unprotect`. Failed creates left as pending operations are deleted first, their
 * failure tolerated (a real destroy would not know about them). Idempotent: without a
 * state it does nothing; an interrupted teardown resumes where it stopped.
 */
export async function teardown(options: TeardownOptions): Promise<TeardownResult> {
  const root = options.root ?? REPO_ROOT;
  const t0 = Date.now();
  const secrets = new SecretMask();
  const log = (line: string) =>
    (options.log ?? ((l: string) => process.stderr.write(`${l}\n`)))(secrets.mask(line));
  const file = options.state ?? options.journal ?? statePath(root, options.stack);
  const legacy = legacyJournalOf(root, options.stack, file);
  const skipped: string[] = [];
  let undone = 0;
  if (legacy) {
    const r = await teardownJournal(legacy, log);
    undone += r.undone;
    skipped.push(...r.skipped);
  }
  if (!RehearsalState.exists(file)) {
    if (!legacy) log(`teardown: no state for stack '${options.stack}' (${file}): nothing to remove`);
    return { undone, skipped, steps: [], seconds: (Date.now() - t0) / 1000 };
  }
  const state = RehearsalState.open(file, options.stack);
  const { ec, closeSsh } = engineContext({
    stack: options.stack,
    root,
    state,
    secrets,
    log,
    now: () => new Date(),
    t0,
    handlers: options.handlers,
  });
  const { handlers, steps } = ec;
  try {
    const refused = state.resources.filter((r) => r.options.protect && !r.pendingReplacement);
    if (refused.length && !options.unprotect && !options.excludeProtected)
      throw new ExecutionError(
        `teardown refused: ${refused.length} protected resource(s): ${refused.map((r) => r.urn).join(", ")}. ${protectedDeleteError(refused[0].urn).message}`,
      );
    const kept = options.unprotect ? new Set<string>() : keptWithProtected(state.resources);
    if (kept.size)
      log(
        `teardown: keeping ${kept.size} resource(s): the protected ones (${refused.map((r) => r.name).join(", ")}) and what they need; the next up uses them again`,
      );
    // Failed creates first: nothing in the state depends on them.
    for (const op of [...state.pendingOperations]) {
      const handler = handlers[op.resource.type];
      const r = op.resource;
      if (handler?.delete && (op.type === "creating" ? true : op.resource.id)) {
        log(`teardown: - ${r.type} ${r.name} (its create ${op.failed ? "failed" : "was interrupted"})`);
        try {
          await handler.delete(
            { id: r.id ?? "", inputs: unwrap(r.inputs) as Record<string, unknown>, outputs: {} },
            handlerContext(ec, r),
          );
          undone++;
        } catch (err) {
          const note = `the delete of ${r.name} (whose create did not finish) failed: ${describe(err)}`;
          skipped.push(note);
          log(`teardown:   ${note}`);
        }
      }
      state.dropOperation(op);
    }
    for (const r of state.resources.filter((r) => r.pendingReplacement)) state.remove(r);
    const before = state.resources.length;
    try {
      await deleteInWaves(
        ec,
        state.resources.filter((r) => !kept.has(r.urn)),
        (r) => (r.delete ? { replaced: true } : {}),
      );
    } finally {
      undone += before - state.resources.length;
    }
  } finally {
    await closeSsh();
  }
  if (state.resources.length === 0 && state.pendingOperations.length === 0) state.removeFiles();
  const seconds = (Date.now() - t0) / 1000;
  log(
    `teardown: done in ${seconds.toFixed(1)} s (${undone} deleted, ${skipped.length} skipped; images are kept as build cache)`,
  );
  return { undone, skipped, steps, seconds };
}
