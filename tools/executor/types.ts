// What a resource handler receives and returns (create, update, delete), and what the
// create-only executor's journal kept (read only to tear an old rehearsal down).
import type { SecretMask } from "./secrets";

/** SSH connection as journaled: everything needed to reach the host again except keys and passwords. */
export interface JournaledConnection {
  host: string;
  port: number;
  user: string;
  hostKey: string;
  dialErrorLimit: number;
  perDialTimeout: number;
  proxy?: Omit<JournaledConnection, "proxy">;
}

/** How to undo one created thing (the create-only executor's journal: read by its teardown only). */
export type Undo =
  | {
      kind: "command:local";
      delete: string;
      interpreter: string[];
      dir?: string;
      environment?: Record<string, string>;
      /** Environment variables of the create left out of the journal because they held a secret. */
      environmentOmitted?: string[];
      /** The create had not finished (failed or killed): teardown runs the delete but tolerates its failure. */
      unfinished?: boolean;
    }
  | { kind: "command:remote"; delete: string; connection: JournaledConnection; unfinished?: boolean }
  | { kind: "docker:container"; id: string; name: string; addresses: string[] }
  | { kind: "docker:network"; id: string; name: string }
  | { kind: "docker:volume"; name: string };

export interface JournalEntry {
  type: string;
  name: string;
  urn: string;
  id: string;
  /** ISO time the resource was created. */
  created: string;
  undo?: Undo;
}

export interface HandlerContext {
  type: string;
  name: string;
  urn: string;
  stack: string;
  /** Repository root (where the program and its Pulumi.<stack>.yaml live). */
  root: string;
  /** Print a line (masked by the executor). */
  log(line: string): void;
  /** Secret values of the run: add generated secrets here before anything could print them. */
  secrets: SecretMask;
  /** Aborted when another resource failed: kill what is running. */
  signal: AbortSignal;
  /** The provider id of something that now exists although the create has not finished (a container after `docker create`): kept with the pending operation, so a failed create can still be deleted. */
  created(id: string): void;
  /** The plan's clock (injectable: a test can run "a year later"). */
  now(): Date;
  /** Per-run SSH client state (agent, known_hosts), created on first use. */
  ssh(): Promise<SshSession>;
}

export interface SshSession {
  /** Directory (mode 0700) for known_hosts and the ssh config of this run. */
  dir: string;
  /** The per-run agent's socket (keys are added from memory, never written to disk). */
  agentSocket: string;
  addKey(privateKey: string): Promise<void>;
}

export interface HandlerResult {
  /** The provider id. */
  id: string;
  /** Outputs on top of the inputs (the provider's state echoes the inputs). */
  outputs: Record<string, unknown>;
  /** Output names the provider marks secret (their values are added to the mask). */
  secretOutputs?: string[];
}

/** A create: make the resource from its inputs. */
export type Handler = (inputs: Record<string, unknown>, ctx: HandlerContext) => Promise<HandlerResult>;

/** A resource as the state holds it, secrets unwrapped (for an update or a delete). */
export interface PriorResource {
  id: string;
  inputs: Record<string, unknown>;
  /** The provider's outputs (the inputs echoed are in `inputs`). */
  outputs: Record<string, unknown>;
}

/** The provider's in-place update: the new inputs over the resource `prior`; same id. */
export type UpdateHandler = (
  prior: PriorResource,
  inputs: Record<string, unknown>,
  ctx: HandlerContext,
) => Promise<HandlerResult>;

/** The provider's delete, with the inputs and outputs the state holds (not the program's). */
export type DeleteHandler = (prior: PriorResource, ctx: HandlerContext) => Promise<void>;

/**
 * A resource type's provider actions. `update` absent: the provider's update only writes
 * state (the old outputs stand); `delete` absent: deleting it does nothing (random, tls,
 * docker Image).
 */
export interface ResourceHandler {
  create: Handler;
  update?: UpdateHandler;
  delete?: DeleteHandler;
}

/** A bare function is a create; its update runs it again with the new inputs. */
export function asResourceHandler(h: Handler | ResourceHandler): ResourceHandler {
  if (typeof h !== "function") return h;
  return { create: h, update: (_prior, inputs, ctx) => h(inputs, ctx) };
}

/** Thrown for inputs the rehearsal does not support: names the resource and the input. */
export class Unsupported extends Error {}

/** Read an optional typed input, with a clear error naming the input when it has the wrong type. */
export function input<T extends "string" | "number" | "boolean">(
  inputs: Record<string, unknown>,
  key: string,
  kind: T,
): (T extends "string" ? string : T extends "number" ? number : boolean) | undefined {
  const v = inputs[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== kind) throw new Error(`input '${key}': expected a ${kind}, got ${JSON.stringify(v)}`);
  return v as never;
}

export function requireInput<T extends "string" | "number" | "boolean">(
  inputs: Record<string, unknown>,
  key: string,
  kind: T,
): T extends "string" ? string : T extends "number" ? number : boolean {
  const v = input(inputs, key, kind);
  if (v === undefined) throw new Error(`input '${key}' is required`);
  return v as never;
}
