// The decision the Pulumi engine and the resource's provider make for one registered
// resource on `pulumi up`, as a pure function: same, create, update or replace (and
// for a replace, which keys caused it and whether the original goes first), plus the
// engine's two graph walks that follow from it: the dependents a delete-before-replace
// takes down first, and the order in which deletions run.
//
// The engine side is pulumi/pulumi pkg/resource/deploy/step_generator.go at 1b594989
// (cited by line); the provider side is the table in rules.ts. Values here are plain
// (secrets unwrapped): the engine's diff compares values, not their secretness.
import {
  applyIgnoreChanges,
  deepEqual,
  diffPaths,
  formatPath,
  type PathDiff,
  parsePath,
  pathContains,
} from "./paths";
import { type KeyRule, RULES, type TypeRule } from "./rules";

/** The resource options that matter to a decision, as the registration carries them. */
export interface DecisionOptions {
  protect?: boolean;
  /** Undefined when the program did not set it (the provider's answer stands). */
  deleteBeforeReplace?: boolean;
  replaceOnChanges?: string[];
  ignoreChanges?: string[];
  retainOnDelete?: boolean;
}

/** A resource as the old state holds it. */
export interface Prior {
  urn: string;
  type: string;
  inputs: Record<string, unknown>;
  outputs: Record<string, unknown>;
  options: DecisionOptions;
  /** Deleted by a delete-before-replace whose create has not happened yet (step.go:770-783). */
  pendingReplacement?: boolean;
}

/** The resource as the program registers it now. */
export interface Goal {
  urn: string;
  type: string;
  inputs: Record<string, unknown>;
  options: DecisionOptions;
}

export interface DecideContext {
  /** Plan time, for certificates' early renewal (the tls provider reads the clock in ModifyPlan). */
  now?: Date;
  /** `pulumi up --replace <urn>`. */
  targetedReplace?: boolean;
  /** Deleted earlier in this run as a dependent of a delete-before-replace (step_generator.go:1480-1505). */
  recreating?: { keys: string[] };
  /** `--target-dependents`-style override of protect (the engine's IgnoreProtect). */
  ignoreProtect?: boolean;
}

export type Op = "create" | "same" | "update" | "replace";

export interface Decision {
  op: Op;
  /** Top-level keys whose change forced the replacement (`id` for --replace, `readyForRenewal` for a certificate). */
  replaceKeys: string[];
  /** Top-level keys that changed. */
  changedKeys: string[];
  /** The changed paths, as the engine's detailed diff names them. */
  paths: string[];
  /** For a replace: delete the original first (else the engine deletes it at the end of the run). */
  deleteBeforeReplace: boolean;
  /** For an update: what the provider does in place, per changed key. */
  inPlace: string[];
  /** One line per rule that decided, with its source. */
  reasons: string[];
}

/** A replace or delete of a protected resource: refused, as the engine refuses it. */
export class ProtectedError extends Error {
  constructor(
    readonly urn: string,
    message: string,
  ) {
    super(message);
  }
}

/** A type nobody described (a test's fake): every change is an in-place update. */
const GENERIC: TypeRule = {
  kind: "terraform",
  keys: {},
  otherKeys: "update",
  deleteBeforeReplace: "never",
  updateDoes: "the handler's update",
  deleteDoes: "the handler's delete",
  source: "no rule for this type in rules.ts: every change an update",
};

function ruleFor(type: string): TypeRule {
  return RULES[type] ?? GENERIC;
}

/** Sorted copy of every array in a value (TF sets compare without order). */
function sortedDeep(v: unknown): unknown {
  if (Array.isArray(v))
    return v.map(sortedDeep).sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
  if (v && typeof v === "object")
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, sortedDeep(x)]));
  return v;
}

const absent = (v: unknown) => v === undefined || v === null;

/**
 * The provider's diff of old and new inputs: the changed paths and which top-level keys
 * force a replacement. Inputs have had ignoreChanges applied.
 */
export function providerDiff(
  rule: TypeRule,
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
): { diffs: PathDiff[]; replaceKeys: string[] } {
  const diffs: PathDiff[] = [];
  const replaceKeys = new Set<string>();
  const keys = new Set([...Object.keys(olds), ...Object.keys(news)]);
  for (const key of keys) {
    // go-provider drops `version` and `__`-prefixed keys before diffing (infer/resource.go:1166-1172).
    if (key === "version" || key.startsWith("__")) continue;
    const k: KeyRule | undefined = rule.keys[key];
    let o = olds[key];
    let n = news[key];
    if (rule.kind === "terraform") {
      if (k?.default !== undefined) {
        if (absent(o)) o = k.default;
        if (absent(n)) n = k.default;
      }
      // Optional+Computed: an input left out keeps what the state has.
      if (k?.computed && absent(n)) continue;
      if (k?.set) {
        if (!deepEqual(sortedDeep(o), sortedDeep(n)))
          diffs.push({ path: [key], kind: absent(o) ? "add" : absent(n) ? "delete" : "update" });
        if (!deepEqual(sortedDeep(o), sortedDeep(n)) && k.replace) replaceKeys.add(key);
        continue;
      }
    }
    // The docker Image ignores a change of only the registry's username/password (provider.go:330-345).
    if (rule.kind === "docker-image" && key === "registry") {
      const strip = (r: unknown) =>
        r && typeof r === "object" ? { ...r, username: null, password: null } : r;
      o = strip(o);
      n = strip(n);
    }
    const here = diffPaths(o, n, [key]);
    diffs.push(...here);
    if (here.length === 0) continue;
    if (rule.kind === "command") {
      // The go-provider forces a replace only for a diff key that is itself a replaceOnChanges
      // field: `triggers` added or removed as a whole (infer/resource.go:1141-1146,1228).
      if (k?.replace && here.some((d) => d.path.length === 1)) replaceKeys.add(key);
    } else if (rule.kind === "terraform") {
      if (k ? k.replace : rule.otherKeys === "replace") replaceKeys.add(key);
    }
  }
  return { diffs, replaceKeys: [...replaceKeys].sort() };
}

/** Whether a certificate is due: now ≥ validity end − early renewal hours (tls common_cert.go:268-311). */
export function readyForRenewal(
  outputs: Record<string, unknown>,
  earlyRenewalHours: number,
  now: Date,
): boolean {
  const end = Date.parse(String(outputs.validityEndTime ?? ""));
  if (Number.isNaN(end)) return false;
  return end - earlyRenewalHours * 3600_000 - now.getTime() <= 0;
}

/** Whether the options' delete-before-replace (when set) or the provider's rule asks for delete-first. */
function providerAsksDeleteFirst(rule: TypeRule, goal: Goal): boolean {
  switch (rule.deleteBeforeReplace) {
    case "always":
      return true;
    case "never":
      return false;
    case "explicit-name":
      // The bridge: an auto-named `name` among the new inputs that the autonamer did not fill in
      // (absent from `__defaults`) asks for delete-first (tfbridge/schema.go:195-235, the loop
      // at the end). The rehearsal has no autonamer: a `name` input is an explicit one.
      return !absent(goal.inputs.name);
  }
}

/**
 * What the engine does with one registered resource (step_generator.go
 * continueStepsFromDiff :1876-2204 and diff :2884):
 * - no old state: create;
 * - deleted earlier in this run by a dependent delete-before-replace: replace (create it fresh);
 * - `--replace`: replace, blaming `id`, without asking the provider (so create-first unless the
 *   deleteBeforeReplace option says otherwise: :2892, :2058-2061);
 * - otherwise the provider's diff after ignoreChanges, then replaceOnChanges turns matching
 *   changed paths into replace keys (applyReplaceOnChanges :3170); a replace of a resource
 *   protected in both old and new state is refused (:1955); the option deleteBeforeReplace,
 *   when set, overrides the provider's answer (:2058-2061);
 * - a resource pending replacement (deleted by an earlier delete-before-replace whose create
 *   failed) is replaced without a second delete (:1952-1953, :2142).
 */
export function decide(prior: Prior | undefined, goal: Goal, ctx: DecideContext = {}): Decision {
  const rule = ruleFor(goal.type);
  const base = { changedKeys: [], paths: [], inPlace: [], reasons: [] as string[] };
  if (!prior) return { ...base, op: "create", replaceKeys: [], deleteBeforeReplace: false, reasons: ["new"] };
  if (ctx.recreating)
    return {
      ...base,
      op: "replace",
      replaceKeys: ctx.recreating.keys,
      deleteBeforeReplace: true,
      reasons: [
        "deleted earlier in this run as a dependent of a delete-before-replace (step_generator.go:1480-1505)",
      ],
    };

  const protectCheck = (why: string) => {
    if (goal.options.protect && prior.options.protect && !ctx.ignoreProtect)
      throw new ProtectedError(
        goal.urn,
        `unable to replace resource "${goal.urn}" (${why}) as it is currently marked for protection. To unprotect the resource, remove the \`protect\` flag from the resource in your Pulumi program and run \`pulumi up\``,
      );
  };
  const dbrFrom = (providerSays: boolean) =>
    goal.options.deleteBeforeReplace !== undefined ? goal.options.deleteBeforeReplace : providerSays;

  if (ctx.targetedReplace) {
    protectCheck("--replace");
    return {
      ...base,
      op: "replace",
      replaceKeys: ["id"],
      deleteBeforeReplace: dbrFrom(false),
      reasons: [
        "targeted by --replace: the engine blames `id` without asking the provider, so only the deleteBeforeReplace option makes it delete-first (step_generator.go:2892, :2058)",
      ],
    };
  }

  const { inputs: news, invalid } = applyIgnoreChanges(
    prior.inputs,
    goal.inputs,
    goal.options.ignoreChanges ?? [],
  );
  const reasons: string[] = invalid.length
    ? [`ignoreChanges cannot ignore added or removed elements: ${invalid.join(", ")}`]
    : [];
  const { diffs, replaceKeys: providerReplace } = providerDiff(rule, prior.inputs, news);
  const replaceKeys = new Set(providerReplace);
  for (const k of providerReplace)
    reasons.push(`${k}: replaced by the provider (${rule.source}${rule.keys[k]?.at ?? ""})`);

  // tls SelfSignedCert: ModifyPlan requires a replace once the early-renewal time has passed.
  if (goal.type === "tls:index/selfSignedCert:SelfSignedCert") {
    const hours = Number(news.earlyRenewalHours ?? 0);
    if (readyForRenewal(prior.outputs, hours, ctx.now ?? new Date())) {
      replaceKeys.add("readyForRenewal");
      reasons.push(
        `readyForRenewal: validity ends ${String(prior.outputs.validityEndTime)}, ${hours} h early renewal: replaced (tls common_cert.go:268-311)`,
      );
    }
  }

  // replaceOnChanges: a changed path inside one of its paths is a replace (step_generator.go:3170-3230).
  const patterns = (goal.options.replaceOnChanges ?? []).map(parsePath);
  for (const d of diffs)
    for (const [i, p] of patterns.entries())
      if (pathContains(p, d.path)) {
        const key = String(d.path[0]);
        if (!replaceKeys.has(key))
          reasons.push(`${formatPath(d.path)}: replaceOnChanges ${goal.options.replaceOnChanges?.[i]}`);
        replaceKeys.add(key);
      }

  const changedKeys = [...new Set(diffs.map((d) => String(d.path[0])))].sort();
  const paths = diffs.map((d) => formatPath(d.path));
  const replace = (deleteBeforeReplace: boolean): Decision => ({
    changedKeys,
    paths,
    inPlace: [],
    op: "replace",
    replaceKeys: [...replaceKeys].sort(),
    deleteBeforeReplace,
    reasons,
  });
  if (prior.pendingReplacement) {
    protectCheck("pending replacement");
    reasons.push(
      "pending replacement: deleted by an earlier delete-before-replace, created now (step_generator.go:1952, :2142)",
    );
    return replace(true);
  }
  if (replaceKeys.size > 0) {
    protectCheck(`changed: ${[...replaceKeys].sort().join(", ")}`);
    // The provider answers DeleteBeforeReplace only for replaces of its own: the bridge sets it
    // when `len(replaces) > 0` (tfbridge/provider.go:1275-1276), so a replace caused by
    // replaceOnChanges alone is create-first unless the option says otherwise.
    const providerSays = providerReplace.length > 0 && providerAsksDeleteFirst(rule, goal);
    const deleteBeforeReplace = dbrFrom(providerSays);
    reasons.push(
      deleteBeforeReplace
        ? goal.options.deleteBeforeReplace
          ? "delete-before-replace: the deleteBeforeReplace option"
          : `delete-before-replace: the provider asks for it (${rule.deleteBeforeReplace === "always" ? "always for this type" : "explicit name"})`
        : "create-before-delete: the original is deleted at the end of the run, with its old inputs",
    );
    return replace(deleteBeforeReplace);
  }
  if (diffs.length === 0)
    return { ...base, op: "same", replaceKeys: [], deleteBeforeReplace: false, reasons };
  const inPlace = [...new Set(changedKeys.map((k) => `${k}: ${rule.keys[k]?.inPlace ?? rule.updateDoes}`))];
  if (rule.kind === "command")
    inPlace.splice(0, inPlace.length, `${changedKeys.join(", ")}: ${rule.updateDoes}`);
  return {
    changedKeys,
    paths,
    inPlace,
    op: "update",
    replaceKeys: [],
    deleteBeforeReplace: false,
    reasons: [...reasons, ...inPlace],
  };
}

/** A resource of the old state, for the graph walks. */
export interface StateNode {
  /** Unique within the state (URN, or URN#n for a pending delete sharing its URN). */
  key: string;
  urn: string;
  type: string;
  custom: boolean;
  parent?: string;
  dependencies: string[];
  propertyDependencies: Record<string, string[]>;
  inputs: Record<string, unknown>;
  options: DecisionOptions;
}

function dependsOnAny(n: StateNode, urns: Set<string>): boolean {
  if (n.parent && urns.has(n.parent)) return true;
  if (n.dependencies.some((d) => urns.has(d))) return true;
  return Object.values(n.propertyDependencies).some((ds) => ds.some((d) => urns.has(d)));
}

/**
 * calculateDependentReplacements (step_generator.go:3268-3417): walk the old state's
 * transitive dependents of `root` in dependency order, skipping those already registered
 * this run (:3391-3402); a custom dependent is condemned when one of its inputs takes a
 * value from a condemned resource (property dependencies) and its provider, given that
 * input as unknown, answers "replace" — a replace key of its type, or a replaceOnChanges
 * path. Returned in dependency order: the caller deletes them in reverse.
 */
export function dependentReplacements(
  root: string,
  nodes: readonly StateNode[],
  alreadyRegistered: ReadonlySet<string> = new Set(),
): { urn: string; keys: string[] }[] {
  const condemned = new Set([root]);
  const out: { urn: string; keys: string[] }[] = [];
  // Transitive dependents in state order (the state is kept in dependency order).
  const dependents = new Set([root]);
  for (const n of nodes) {
    if (n.urn === root || alreadyRegistered.has(n.urn)) continue;
    if (!dependsOnAny(n, dependents)) continue;
    dependents.add(n.urn);
    if (!n.custom) continue;
    const rule = RULES[n.type];
    // The engine passes the dependent's ignoreChanges to its provider's diff
    // (step_generator.go:3368-3371, diffResource :2974-2992): an ignored input that would
    // become unknown is no change at all (a VM ignoring `keyPair` survives its key pair's
    // replacement).
    const ignored = (n.options.ignoreChanges ?? []).map(parsePath);
    const keys = Object.entries(n.propertyDependencies)
      .filter(([k, ds]) => k in n.inputs && ds.some((d) => condemned.has(d)))
      .filter(([k]) => !ignored.some((p) => pathContains(p, [k])))
      .map(([k]) => k);
    if (keys.length === 0) continue;
    const patterns = (n.options.replaceOnChanges ?? []).map(parsePath);
    const replacing = keys.filter((k) => {
      // An unknown top-level value: the provider's diff reports the whole key.
      if (patterns.some((p) => pathContains(p, [k]))) return true;
      if (!rule) return false;
      const kr = rule.keys[k];
      if (rule.kind === "command") return kr?.replace === true;
      if (rule.kind === "terraform") return kr ? kr.replace === true : rule.otherKeys === "replace";
      return false;
    });
    if (replacing.length === 0) continue;
    condemned.add(n.urn);
    out.push({ urn: n.urn, keys: replacing.sort() });
  }
  return out;
}

/**
 * ScheduleDeletes (step_generator.go:2747-2797): antichains of the condemned resources —
 * peel off those none of whose dependencies (parent, dependsOn, property dependencies) is
 * still condemned, repeat, then reverse. Each wave can run in parallel; a resource is
 * deleted only after everything that depends on it.
 */
export function deleteWaves<
  T extends Pick<StateNode, "key" | "urn" | "parent" | "dependencies" | "propertyDependencies">,
>(condemned: readonly T[]): T[][] {
  const left = new Set(condemned);
  const waves: T[][] = [];
  while (left.size > 0) {
    const urns = new Set([...left].map((n) => n.urn));
    const wave = [...left].filter((n) => {
      const deps = new Set([
        ...(n.parent ? [n.parent] : []),
        ...n.dependencies,
        ...Object.values(n.propertyDependencies).flat(),
      ]);
      deps.delete(n.urn);
      return ![...deps].some((d) => urns.has(d));
    });
    if (wave.length === 0) {
      // A cycle (impossible in a valid state): delete the rest one by one, newest first.
      waves.push(...[...left].reverse().map((n) => [n]));
      break;
    }
    for (const n of wave) left.delete(n);
    waves.push(wave);
  }
  return waves.reverse();
}
