// The rehearsal's state: `.rehearsal/<stack>/state.json`, one record per custom resource
// (URN, type, name, parent, id, inputs, outputs, dependencies, property dependencies and
// the options a later decision needs), in dependency order, plus pending operations and
// the originals of create-before-delete replacements still to delete — what a Pulumi
// checkpoint holds (pkg/resource/deploy/snapshot.go, pkg/backend/snapshot.go).
//
// Secret values never reach the disk in plaintext: each is stored as the engine stores
// it, `{"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
// "ciphertext": "v1:<nonce>:<sealed>"}`, sealed with AES-256-GCM under a key derived from
// `.rehearsal/<stack>/passphrase` (mode 0600) as Pulumi's passphrase secrets provider
// derives it: PBKDF2-SHA256, 1,000,000 iterations, an 8-byte salt kept in the file
// (sdk/go/common/resource/config/crypt.go:165-183, pkg/secrets/passphrase/manager.go:164-180).
// Rewritten atomically (temporary file, then rename) after every step.
import { createCipheriv, createDecipheriv, pbkdf2Sync, randomBytes } from "node:crypto";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { isSecretWrapper, secretWrapper } from "./secrets";

export const STATE_NOTE =
  "Written by the Flotilla rehearsal executor (tools/executor): what the rehearsal made, for its next run and for `npm run demo -- --stack <stack> --down`. Not Pulumi state.";

/** The options a later decision or delete needs, as the registration carried them. */
export interface StoredOptions {
  protect: boolean;
  /** Absent when the program left it unset. */
  deleteBeforeReplace?: boolean;
  replaceOnChanges: string[];
  ignoreChanges: string[];
  additionalSecretOutputs: string[];
  /** Alias URNs, resolved. */
  aliases: string[];
  retainOnDelete?: boolean;
}

/** The options of a resource registered with none set. */
export function noOptions(): StoredOptions {
  return {
    protect: false,
    replaceOnChanges: [],
    ignoreChanges: [],
    additionalSecretOutputs: [],
    aliases: [],
  };
}

/** One custom resource. Values are in the runtime's wire form: secrets as `{<sig>: <secret sig>, value}`. */
export interface StoredResource {
  urn: string;
  type: string;
  name: string;
  parent: string;
  id: string;
  inputs: Record<string, unknown>;
  /** The state the program saw: the inputs echoed plus the provider's outputs. */
  outputs: Record<string, unknown>;
  dependencies: string[];
  propertyDependencies: Record<string, string[]>;
  options: StoredOptions;
  /** The original of a create-before-delete replacement, still to delete (the engine's `delete: true`). */
  delete?: boolean;
  /** Deleted by a delete-before-replace whose create has not happened yet (the engine's `pendingReplacement`). */
  pendingReplacement?: boolean;
  created: string;
  modified: string;
}

/**
 * An operation that did not complete: the engine keeps one only when it was interrupted
 * (pkg/backend/snapshot.go:684-775); the rehearsal also keeps failed creates (`failed`),
 * so that teardown can still run their delete (a half-made stack deploy).
 */
export interface PendingOperation {
  type: "creating" | "updating" | "deleting";
  resource: Pick<StoredResource, "urn" | "type" | "name" | "parent" | "inputs" | "dependencies"> & {
    id?: string;
  };
  failed?: string;
  time: string;
}

export interface StateData {
  version: 1;
  stack: string;
  note: string;
  secretsProvider: { type: "passphrase"; salt: string };
  resources: StoredResource[];
  pendingOperations: PendingOperation[];
}

const SIG = pulumi.runtime.specialSigKey;
const SECRET_SIG = pulumi.runtime.specialSecretSig;
const ITERATIONS = 1_000_000;

export function statePath(root: string, stack: string): string {
  return path.join(root, ".rehearsal", stack, "state.json");
}

/** The create-only executor's journal, from before the state existed. */
export function legacyJournalPath(root: string, stack: string): string {
  return path.join(root, ".rehearsal", stack, "journal.json");
}

export function passphrasePath(stateFile: string): string {
  return path.join(path.dirname(stateFile), "passphrase");
}

const keys = new Map<string, Buffer>();

/** The AES key for a passphrase and salt (PBKDF2 takes about a second: computed once per process). */
function deriveKey(passphrase: string, salt: Buffer): Buffer {
  const id = `${passphrase}\0${salt.toString("base64")}`;
  let key = keys.get(id);
  if (!key) {
    key = pbkdf2Sync(passphrase, salt, ITERATIONS, 32, "sha256");
    keys.set(id, key);
  }
  return key;
}

/** `v1:<nonce>:<ciphertext+tag>`, as symmetricCrypter.EncryptValue writes it (crypt.go:179-183). */
export function encryptValue(key: Buffer, plaintext: string): string {
  const nonce = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, nonce);
  const sealed = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final(), cipher.getAuthTag()]);
  return `v1:${nonce.toString("base64")}:${sealed.toString("base64")}`;
}

export function decryptValue(key: Buffer, text: string): string {
  const [v, nonce, sealed] = text.split(":");
  if (v !== "v1" || !nonce || !sealed) throw new Error("bad secret value in the state file");
  const raw = Buffer.from(sealed, "base64");
  const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(nonce, "base64"));
  decipher.setAuthTag(raw.subarray(raw.length - 16));
  return Buffer.concat([decipher.update(raw.subarray(0, raw.length - 16)), decipher.final()]).toString(
    "utf8",
  );
}

/** Map every secret wrapper in a value (outermost first). */
function mapSecrets(value: unknown, f: (wrapper: Record<string, unknown>) => unknown): unknown {
  if (value && typeof value === "object" && !Array.isArray(value)) {
    const o = value as Record<string, unknown>;
    if (o[SIG] === SECRET_SIG) return f(o);
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, mapSecrets(v, f)]));
  }
  if (Array.isArray(value)) return value.map((v) => mapSecrets(v, f));
  return value;
}

export class RehearsalState {
  private data: StateData;
  private key: Buffer;
  /** URNs written during this run, in order (they come first in the saved file: Snap's merge). */
  private seen: string[] = [];

  private constructor(
    readonly file: string | undefined,
    data: StateData,
    key: Buffer,
  ) {
    this.data = data;
    this.key = key;
  }

  /** An in-memory state that is never written (tests of pure resources, `state: false`). */
  static ephemeral(stack: string): RehearsalState {
    return new RehearsalState(undefined, RehearsalState.empty(stack, randomBytes(8)), randomBytes(32));
  }

  private static empty(stack: string, salt: Buffer): StateData {
    return {
      version: 1,
      stack,
      note: STATE_NOTE,
      secretsProvider: { type: "passphrase", salt: `v1:${salt.toString("base64")}` },
      resources: [],
      pendingOperations: [],
    };
  }

  static exists(file: string): boolean {
    return existsSync(file);
  }

  /** Load the state (creating an empty one, and its passphrase, when there is none). */
  static open(file: string, stack: string): RehearsalState {
    const phraseFile = passphrasePath(file);
    if (existsSync(file)) {
      const raw = JSON.parse(readFileSync(file, "utf8")) as Partial<StateData> & { entries?: unknown };
      if (raw.entries !== undefined || raw.version !== 1)
        throw new Error(
          `${file} is not a rehearsal state (a journal of the create-only executor?): remove what it made with \`npm run demo -- --stack ${stack} --down\` first`,
        );
      if (!existsSync(phraseFile))
        throw new Error(
          `${file} holds encrypted secrets but its passphrase file ${phraseFile} is missing: the state cannot be read`,
        );
      const salt = Buffer.from(String(raw.secretsProvider?.salt ?? "").split(":")[1] ?? "", "base64");
      const key = deriveKey(readFileSync(phraseFile, "utf8").trim(), salt);
      const state = new RehearsalState(file, raw as StateData, key);
      state.data = state.decrypt(raw as StateData);
      return state;
    }
    mkdirSync(path.dirname(file), { recursive: true });
    if (!existsSync(phraseFile))
      writeFileSync(phraseFile, `${randomBytes(32).toString("base64")}\n`, { mode: 0o600 });
    chmodSync(phraseFile, 0o600);
    const salt = randomBytes(8);
    const key = deriveKey(readFileSync(phraseFile, "utf8").trim(), salt);
    return new RehearsalState(file, RehearsalState.empty(stack, salt), key);
  }

  private decrypt(data: StateData): StateData {
    const open = (v: unknown) =>
      mapSecrets(v, (w) => {
        if (typeof w.ciphertext !== "string") return w;
        return secretWrapper(JSON.parse(decryptValue(this.key, w.ciphertext)));
      });
    return {
      ...data,
      resources: data.resources.map((r) => ({
        ...r,
        inputs: open(r.inputs) as Record<string, unknown>,
        outputs: open(r.outputs) as Record<string, unknown>,
      })),
      pendingOperations: (data.pendingOperations ?? []).map((op) => ({
        ...op,
        resource: { ...op.resource, inputs: open(op.resource.inputs) as Record<string, unknown> },
      })),
    };
  }

  private encrypted(): StateData {
    const seal = (v: unknown) =>
      mapSecrets(v, (w) => ({
        [SIG]: SECRET_SIG,
        ciphertext: encryptValue(this.key, JSON.stringify(w.value ?? null)),
      }));
    const order = new Map(this.seen.map((u, i) => [u, i]));
    // Snap's merge (pkg/backend/snapshot.go Snap): what this run wrote, in its order, then
    // the rest of the old state in its order; both orders respect dependencies.
    const resources = [...this.data.resources]
      .map((r, i) => ({ r, i }))
      .sort((a, b) => {
        const oa = order.get(a.r.urn) ?? Number.MAX_SAFE_INTEGER;
        const ob = order.get(b.r.urn) ?? Number.MAX_SAFE_INTEGER;
        return oa !== ob ? oa - ob : a.i - b.i;
      })
      .map(({ r }) => ({
        ...r,
        inputs: seal(r.inputs) as Record<string, unknown>,
        outputs: seal(r.outputs) as Record<string, unknown>,
      }));
    return {
      ...this.data,
      resources,
      pendingOperations: this.data.pendingOperations.map((op) => ({
        ...op,
        resource: { ...op.resource, inputs: seal(op.resource.inputs) as Record<string, unknown> },
      })),
    };
  }

  get stack(): string {
    return this.data.stack;
  }

  /** Every record, pending deletes included, in dependency order. */
  get resources(): readonly StoredResource[] {
    return this.data.resources;
  }

  get pendingOperations(): readonly PendingOperation[] {
    return this.data.pendingOperations;
  }

  /** The live record of a URN (not a pending delete). */
  get(urn: string): StoredResource | undefined {
    return this.data.resources.find((r) => r.urn === urn && !r.delete);
  }

  /** Write (or overwrite) the live record of its URN, and save. */
  put(record: StoredResource): void {
    const i = this.data.resources.findIndex((r) => r.urn === record.urn && !r.delete);
    if (i >= 0) this.data.resources[i] = record;
    else this.data.resources.push(record);
    if (!this.seen.includes(record.urn)) this.seen.push(record.urn);
    this.save();
  }

  /** Mark a URN as seen this run without changing its record (a `same`). */
  touch(urn: string): void {
    if (!this.seen.includes(urn)) this.seen.push(urn);
  }

  /** Remove one record (by identity), and save. */
  remove(record: StoredResource): void {
    this.data.resources = this.data.resources.filter((r) => r !== record);
    this.save();
  }

  /** Change a record in place (by identity), and save. */
  update(record: StoredResource, change: Partial<StoredResource>): void {
    Object.assign(record, change);
    this.save();
  }

  /** Rename a record's URN (an alias matched), and save. */
  rename(record: StoredResource, urn: string): void {
    record.urn = urn;
    this.save();
  }

  beginOperation(op: PendingOperation): void {
    this.data.pendingOperations.push(op);
    this.save();
  }

  endOperation(op: PendingOperation, failed?: string): void {
    if (failed === undefined)
      this.data.pendingOperations = this.data.pendingOperations.filter((o) => o !== op);
    else op.failed = failed;
    this.save();
  }

  dropOperation(op: PendingOperation): void {
    this.data.pendingOperations = this.data.pendingOperations.filter((o) => o !== op);
    this.save();
  }

  save(): void {
    if (!this.file) return;
    mkdirSync(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(this.encrypted(), null, 2)}\n`, { mode: 0o600 });
    renameSync(tmp, this.file);
  }

  /** After a complete destroy: remove the state file and its passphrase (and the directory if empty). */
  removeFiles(): void {
    if (!this.file) return;
    rmSync(this.file, { force: true });
    rmSync(passphrasePath(this.file), { force: true });
    try {
      rmdirSync(path.dirname(this.file));
    } catch {
      // Not empty (the demo's certificate) or already gone.
    }
  }
}

/** Whether any leaf of a wire value is inside a secret. */
export function hasSecret(value: unknown): boolean {
  if (isSecretWrapper(value)) return true;
  if (Array.isArray(value)) return value.some(hasSecret);
  if (value && typeof value === "object") return Object.values(value).some(hasSecret);
  return false;
}
