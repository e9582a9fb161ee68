// The rehearsal executor: runs the real Pulumi program (index.ts) under
// pulumi.runtime.setMocks with a mock monitor whose newResource PERFORMS the resource
// (docker build/run, commands over a shell or SSH, generated keys and passwords) and
// returns the real outputs, so later resources see real addresses, digests, host keys and
// command outputs. Pulumi's runtime registers a resource only once its inputs and
// dependsOn resources have resolved, which gives the dependency order for free.
//
// What it is not: no diff, no update, no refresh, no Pulumi state. A create-only
// rehearsal that journals what it created (.rehearsal/<stack>/journal.json) so
// `teardown` can remove it. `npm run up` (the Pulumi CLI) is the real thing.
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { parse as parseYaml } from "yaml";
import { HANDLERS } from "./handlers";
import { runRemote } from "./handlers/remoteCommand";
import { Journal, journalPath } from "./journal";
import { CommandFailure, run, tail } from "./process";
import { SecretMask, secretWrapper, unwrap } from "./secrets";
import { startSshSession } from "./ssh";
import type { Handler, HandlerContext, JournalEntry, SshSession, Undo } from "./types";

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
  /** Journal file: default `<root>/.rehearsal/<stack>/journal.json`; `false` keeps none (tests of pure resources). */
  journal?: string | false;
  /** Where progress lines go (already masked). Default: stderr. */
  log?: (line: string) => void;
  /** Handlers by type, over the built-in ones (tests inject slow or fake ones). */
  handlers?: Record<string, Handler>;
  /** Config values over the stack file's, as stackConfig takes them (objects JSON-encoded). */
  config?: Record<string, unknown>;
  /** Values of secret config keys (`secure:` in the stack file cannot be decrypted without Pulumi). */
  secretConfig?: Record<string, string>;
  /** Aborting it (Ctrl-C in the demo) fails the run like a failed resource: running actions are killed. */
  signal?: AbortSignal;
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
  /** Outputs the handler returned (on top of the inputs), secret ones replaced by "[secret]". */
  outputs: Record<string, unknown>;
  /** Names of outputs (and inputs) that are secret. */
  secrets: string[];
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
  /** The journal file, if one was kept. */
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

interface MonitorRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getCustom(): boolean;
  getDependenciesList(): string[];
}

function urnOf(stack: string, parent: string, type: string, name: string): string {
  const qualified = parent ? `${parent.split("::")[2].split("$").pop()}$${type}` : type;
  return `urn:pulumi:${stack}::${PROJECT}::${qualified}::${name}`;
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

/** Bring a stack up by running its program with real actions. Throws ExecutionError on the first failure. */
export async function execute(options: ExecuteOptions): Promise<ExecuteResult> {
  const root = options.root ?? REPO_ROOT;
  const { stack } = options;
  const t0 = Date.now();
  const secrets = new SecretMask();
  const log = (line: string) =>
    (options.log ?? ((l: string) => process.stderr.write(`${l}\n`)))(secrets.mask(line));
  const stamp = () => `[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s]`;

  const { config, secretKeys } = loadStackConfig(root, stack, options.config, options.secretConfig);
  for (const k of secretKeys) secrets.add(config[k]);

  let journal: Journal | undefined;
  if (options.journal !== false) {
    const file = options.journal ?? journalPath(root, stack);
    if (Journal.exists(file) && new Journal(file, stack).entries.length > 0)
      throw new ExecutionError(
        `a rehearsal of stack '${stack}' is already up (journal ${path.relative(process.cwd(), file) || file}): tear it down first (npm run demo -- --stack ${stack} --down)`,
      );
    journal = new Journal(file, stack);
    journal.save();
  }

  const handlers: Record<string, Handler> = { ...HANDLERS, ...(options.handlers ?? {}) };
  const resources: ExecutedResource[] = [];
  const pending = new Map<string, { parent: string; dependencies: string[] }>();
  const inflight = new Set<Promise<unknown>>();
  const abort = new AbortController();
  let failure: ExecutionError | undefined;
  let ssh: Promise<SshSession & { close(): void }> | undefined;
  let lastActivity = Date.now();
  // After a failure the program's remaining outputs never resolve: stop waiting for them.
  let onFailure = () => {};
  const failed = new Promise<void>((resolve) => {
    onFailure = resolve;
  });

  const fail = (type: string, name: string, err: unknown): ExecutionError => {
    const exitCode = err instanceof CommandFailure ? err.exitCode : undefined;
    const stderr = err instanceof CommandFailure ? secrets.mask(tail(err.stderr)) : undefined;
    const what = err instanceof CommandFailure ? err.what : errorText(err);
    const message = secrets.mask(
      `${type} ${name} failed: ${what}${exitCode !== undefined ? ` (exit code ${exitCode})` : ""}${stderr ? `\n${stderr}` : ""}`,
    );
    const e = new ExecutionError(message, type, name, exitCode, stderr);
    if (!failure) {
      failure = e;
      abort.abort();
      onFailure();
    }
    return e;
  };

  const newResource = async (
    args: pulumi.runtime.MockResourceArgs,
  ): Promise<{ id: string | undefined; state: Record<string, unknown> }> => {
    const meta = pending.get(`${args.type}::${args.name}`) ?? { parent: "", dependencies: [] };
    const urn = urnOf(stack, meta.parent, args.type, args.name);
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
      parent: meta.parent,
      custom,
      dependencies: meta.dependencies,
      outputs: {},
      secrets: [...secretKeysOfInputs],
      startedMs: Date.now() - t0,
      finishedMs: Date.now() - t0,
    };
    // Components (and the stack) only group their children: nothing to perform.
    if (!custom) {
      resources.push(record);
      return { id: undefined, state: {} };
    }
    if (args.type.startsWith("pulumi:providers:")) {
      if (Object.keys(inputs).some((k) => ["host", "endpoint", "registryAuth"].includes(k)))
        throw fail(
          args.type,
          args.name,
          new Error("explicit providers that point elsewhere are not implemented by the rehearsal executor"),
        );
      resources.push({ ...record, id: `${args.name}-provider` });
      return { id: `${args.name}-provider`, state: args.inputs };
    }
    if (failure)
      throw new ExecutionError(
        `${args.type} ${args.name}: not started, the run is aborting (${failure.resourceType} ${failure.resourceName} failed)`,
      );
    const handler = handlers[args.type];
    if (!handler)
      throw fail(
        args.type,
        args.name,
        new Error(
          `the rehearsal executor does not implement ${args.type}: it is for the local and lab targets`,
        ),
      );
    let journaled = false;
    const ctx: HandlerContext = {
      type: args.type,
      name: args.name,
      urn,
      stack,
      root,
      log: (line) => log(`${stamp()}   ${args.name}: ${line}`),
      secrets,
      signal: abort.signal,
      journal: (undo: Undo) => {
        journaled = true;
        journal?.record({ type: args.type, name: args.name, urn, id: "id" in undo ? undo.id : "" }, undo);
      },
      ssh: () => {
        ssh ??= startSshSession(abort.signal);
        return ssh;
      },
    };
    log(`${stamp()} + ${args.type} ${args.name}`);
    const work = (async () => {
      try {
        return await handler(inputs, ctx);
      } catch (err) {
        throw fail(args.type, args.name, err);
      }
    })();
    inflight.add(work);
    lastActivity = Date.now();
    let result: Awaited<typeof work>;
    try {
      result = await work;
    } finally {
      inflight.delete(work);
      lastActivity = Date.now();
    }
    const secretOutputs = new Set(result.secretOutputs ?? []);
    for (const k of secretOutputs) unwrap(secretWrapper(result.outputs[k]), (leaf) => secrets.add(leaf));
    const state: Record<string, unknown> = { ...args.inputs };
    const shown: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(result.outputs)) {
      if (v === undefined) continue;
      state[k] = secretOutputs.has(k) ? secretWrapper(v) : v;
      shown[k] = secretOutputs.has(k) ? "[secret]" : maskDeep(v, secrets);
    }
    if (!journaled) journal?.record({ type: args.type, name: args.name, urn, id: result.id });
    resources.push({
      ...record,
      id: result.id,
      outputs: shown,
      secrets: [...new Set([...secretKeysOfInputs, ...secretOutputs])],
      finishedMs: Date.now() - t0,
    });
    log(
      `${stamp()} ✓ ${args.type} ${args.name} (${((Date.now() - t0 - record.startedMs) / 1000).toFixed(1)} s)`,
    );
    return { id: result.id, state };
  };

  pulumi.runtime.setAllConfig(config, secretKeys);
  await pulumi.runtime.setMocks(
    {
      newResource,
      call(args) {
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
  // Record what MockResourceArgs does not carry: the parent and the explicit dependsOn.
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
  monitor.registerResource = (req, cb) => {
    lastActivity = Date.now();
    pending.set(`${req.getType()}::${req.getName()}`, {
      parent: req.getParent(),
      dependencies: req.getDependenciesList(),
    });
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
  log(`${stamp()} rehearsal of stack '${stack}' (no Pulumi state: create only, journaled for teardown)`);
  let raw: Record<string, unknown> = {};
  try {
    const program = options.program ?? path.join(root, "index.ts");
    const done = pulumi.runtime.runInPulumiStack(async () => {
      try {
        if (typeof program === "function") return (await program()) ?? {};
        return { ...((await import(program)) as Record<string, unknown>) };
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
    if (ssh) (await ssh.catch(() => undefined))?.close();
  }
  if (failure) {
    // The dependents of the failed resource never resolve: not leaks of the program.
    try {
      require("@pulumi/pulumi/runtime/debuggable").leakedPromises();
    } catch {
      // An SDK without it: the runtime may print a leak notice at exit.
    }
    log(`${stamp()} ✗ ${failure.message}`);
    if (journal) log(`journal kept: ${journal.file} (teardown removes what was created)`);
    throw failure;
  }
  if (programError !== undefined) {
    const e = new ExecutionError(secrets.mask(`the program failed: ${errorText(programError)}`));
    log(`${stamp()} ✗ ${e.message}`);
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
  log(`${stamp()} done: ${resources.filter((r) => r.custom).length} resources`);
  return { outputs, secretOutputs, resources, journal: journal?.file, seconds };
}

export interface TeardownOptions {
  stack: string;
  root?: string;
  journal?: string;
  log?: (line: string) => void;
}

export interface TeardownResult {
  /** Entries undone. */
  undone: number;
  /** Notes on what was not undone, and why. */
  skipped: string[];
  seconds: number;
}

const GONE = /no such (container|network|volume)|not found|No such object/i;

/** Undo a rehearsal from its journal, newest first. Idempotent: without a journal it does nothing. */
export async function teardown(options: TeardownOptions): Promise<TeardownResult> {
  const root = options.root ?? REPO_ROOT;
  const t0 = Date.now();
  const log = options.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const file = options.journal ?? journalPath(root, options.stack);
  if (!Journal.exists(file)) {
    log(`teardown: no journal for stack '${options.stack}' (${file}): nothing to remove`);
    return { undone: 0, skipped: [], seconds: 0 };
  }
  const journal = new Journal(file, options.stack);
  const removedAddresses = new Set(
    journal.entries.flatMap((e) => (e.undo?.kind === "docker:container" ? e.undo.addresses : [])),
  );
  const skipped: string[] = [];
  let undone = 0;
  const signal = new AbortController().signal;
  for (const entry of [...journal.entries].reverse()) {
    const undo = entry.undo;
    if (undo) {
      log(`teardown: - ${entry.type} ${entry.name}`);
      let note: string | undefined;
      try {
        note = await undoOne(entry, undo, removedAddresses, signal, log);
      } catch (err) {
        // A command whose create never finished may have nothing to delete: note it, go on.
        if (!("unfinished" in undo && undo.unfinished)) throw err;
        note = `the delete of ${entry.name} (whose create did not finish) failed: ${err instanceof Error ? err.message : String(err)}`;
      }
      if (note) {
        skipped.push(note);
        log(`teardown:   ${note}`);
      } else undone++;
    }
    journal.remove(entry);
  }
  journal.delete();
  const seconds = (Date.now() - t0) / 1000;
  log(
    `teardown: done in ${seconds.toFixed(1)} s (${undone} undone, ${skipped.length} skipped; images are kept as build cache)`,
  );
  return { undone, skipped, seconds };
}

async function undoOne(
  entry: JournalEntry,
  undo: Undo,
  removedAddresses: Set<string>,
  signal: AbortSignal,
  log: (line: string) => void,
): Promise<string | undefined> {
  const gone = async (argv: string[]) => {
    const r = await run(argv, { signal });
    if (r.code !== 0 && !GONE.test(r.stderr))
      throw new CommandFailure(
        `teardown of ${entry.type} ${entry.name}: ${argv.slice(0, 3).join(" ")}`,
        r.code,
        r.stderr,
      );
  };
  switch (undo.kind) {
    case "command:local": {
      const dir = existsSync(undo.dir ?? "") ? undo.dir : process.cwd();
      const r = await run([...undo.interpreter, undo.delete], {
        cwd: dir,
        env: { ...process.env, ...(undo.environment ?? {}) },
        signal,
      });
      if (r.code !== 0)
        throw new CommandFailure(
          `teardown of ${entry.type} ${entry.name}: its delete command`,
          r.code,
          r.stderr,
        );
      if (undo.environmentOmitted?.length)
        log(
          `teardown:   (ran without ${undo.environmentOmitted.join(", ")}: they held secrets and were not journaled)`,
        );
      return undefined;
    }
    case "command:remote": {
      const c = undo.connection;
      const host = [c.host, c.proxy?.host].find((h) => h && removedAddresses.has(h));
      if (host)
        return `skipped the delete of ${entry.name}: its host (${host}) is a container this teardown removes`;
      const agent = process.env.SSH_AUTH_SOCK;
      if (!agent)
        return `skipped the delete of ${entry.name} on ${c.user}@${c.host}: no private key (keys are not journaled) and no ssh-agent (SSH_AUTH_SOCK) to use`;
      const { mkdtempSync, rmSync } = await import("node:fs");
      const dir = mkdtempSync(path.join((await import("node:os")).tmpdir(), "flotilla-teardown-ssh-"));
      try {
        const session: SshSession = {
          dir,
          agentSocket: agent,
          addKey: async () => {
            throw new Error("no keys in teardown");
          },
        };
        await runRemote({ ...c, proxy: c.proxy }, undo.delete, {
          name: entry.name,
          signal,
          log,
          ssh: async () => session,
        });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      return undefined;
    }
    case "docker:container":
      await gone(["docker", "rm", "-f", "-v", undo.id]);
      return undefined;
    case "docker:network":
      await gone(["docker", "network", "rm", undo.id]);
      return undefined;
    case "docker:volume":
      await gone(["docker", "volume", "rm", undo.name]);
      return undefined;
  }
}
