// The rehearsal's journal: `.rehearsal/<stack>/journal.json`, the created resources in
// order with only what teardown needs (no secret values, no private keys). Rewritten
// (atomically) after every change, so an interrupted run or teardown leaves a true record.
import { existsSync, mkdirSync, readFileSync, renameSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import type { JournalEntry, Undo } from "./types";

export interface JournalFile {
  stack: string;
  note: string;
  started: string;
  entries: JournalEntry[];
}

export function journalPath(root: string, stack: string): string {
  return path.join(root, ".rehearsal", stack, "journal.json");
}

export class Journal {
  private data: JournalFile;

  constructor(
    readonly file: string,
    stack: string,
  ) {
    this.data = existsSync(file)
      ? (JSON.parse(readFileSync(file, "utf8")) as JournalFile)
      : {
          stack,
          note: "Written by the Flotilla rehearsal executor (tools/executor); `npm run demo -- --stack <stack> --down` undoes it. Not Pulumi state.",
          started: new Date().toISOString(),
          entries: [],
        };
  }

  static exists(file: string): boolean {
    return existsSync(file);
  }

  get entries(): readonly JournalEntry[] {
    return this.data.entries;
  }

  /** Add an entry (or, for an undo already recorded, rewrite it in place). */
  record(entry: Omit<JournalEntry, "created" | "undo">, undo?: Undo): void {
    const existing = undo ? this.data.entries.find((e) => e.undo === undo) : undefined;
    if (!existing)
      this.data.entries.push({ ...entry, created: new Date().toISOString(), ...(undo ? { undo } : {}) });
    this.save();
  }

  remove(entry: JournalEntry): void {
    this.data.entries = this.data.entries.filter((e) => e !== entry);
    this.save();
  }

  save(): void {
    mkdirSync(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(this.data, null, 2)}\n`, { mode: 0o600 });
    renameSync(tmp, this.file);
  }

  /** Remove the journal file (after a complete teardown). */
  delete(): void {
    rmSync(this.file, { force: true });
    try {
      rmdirSync(path.dirname(this.file));
    } catch {
      // Not empty or already gone: leave it.
    }
  }
}
