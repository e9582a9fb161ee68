// What a resource handler receives and returns, and what the journal keeps for teardown.
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

/** How to undo one created thing. */
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
  /** Record something that now exists and must be undone by teardown (written at once). */
  journal(undo: Undo): void;
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

export type Handler = (inputs: Record<string, unknown>, ctx: HandlerContext) => Promise<HandlerResult>;

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
