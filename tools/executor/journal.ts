// The create-only executor's journal (`.rehearsal/<stack>/journal.json`), from before the
// rehearsal kept state: the created resources in order with only what teardown needed
// (no secret values, no private keys). Nothing writes it any more; `teardown` still reads
// one left behind and undoes it, newest first, exactly as that executor did, so an old
// rehearsal can be removed. `execute` refuses to run over one (the journal holds no
// inputs, so there is nothing to diff against).
import { existsSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { runRemote } from "./handlers/remoteCommand";
import { CommandFailure, run } from "./process";
import { legacyJournalPath, statePath } from "./state";
import type { JournalEntry, SshSession, Undo } from "./types";

export { legacyJournalPath };

/**
 * @deprecated The file that exists while a rehearsal of the stack is up: now the state
 * file (`statePath`). Kept so callers written for the journal keep working.
 */
export function journalPath(root: string, stack: string): string {
  return statePath(root, stack);
}

export interface JournalFile {
  stack: string;
  note: string;
  started: string;
  entries: JournalEntry[];
}

/** Whether a file is a journal of the create-only executor. */
export function isLegacyJournal(file: string): boolean {
  if (!existsSync(file)) return false;
  try {
    return Array.isArray((JSON.parse(readFileSync(file, "utf8")) as Partial<JournalFile>).entries);
  } catch {
    return false;
  }
}

const GONE = /no such (container|network|volume)|not found|No such object/i;

/** Undo a create-only journal, newest first; each entry dropped once undone. */
export async function teardownJournal(
  file: string,
  log: (line: string) => void,
): Promise<{ undone: number; skipped: string[] }> {
  const data = JSON.parse(readFileSync(file, "utf8")) as JournalFile;
  const save = () => writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600 });
  const removedAddresses = new Set(
    data.entries.flatMap((e) => (e.undo?.kind === "docker:container" ? e.undo.addresses : [])),
  );
  const skipped: string[] = [];
  let undone = 0;
  const signal = new AbortController().signal;
  log(
    `teardown: ${path.basename(file)} is a journal of the create-only executor: undoing it as that executor did`,
  );
  for (const entry of [...data.entries].reverse()) {
    const undo = entry.undo;
    if (undo) {
      log(`teardown: - ${entry.type} ${entry.name}`);
      let note: string | undefined;
      try {
        note = await undoOne(entry, undo, removedAddresses, signal, log);
      } catch (err) {
        if (!("unfinished" in undo && undo.unfinished)) throw err;
        note = `the delete of ${entry.name} (whose create did not finish) failed: ${err instanceof Error ? err.message : String(err)}`;
      }
      if (note) {
        skipped.push(note);
        log(`teardown:   ${note}`);
      } else undone++;
    }
    data.entries = data.entries.filter((e) => e !== entry);
    save();
  }
  rmSync(file, { force: true });
  try {
    rmdirSync(path.dirname(file));
  } catch {
    // Not empty or already gone.
  }
  return { undone, skipped };
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
      return undefined;
    }
    case "command:remote": {
      const c = undo.connection;
      const host = [c.host, c.proxy?.host].find((h) => h && removedAddresses.has(h));
      if (host)
        return `skipped the delete of ${entry.name}: its host (${host}) is a container this teardown removes`;
      const agent = process.env.SSH_AUTH_SOCK;
      if (!agent)
        return `skipped the delete of ${entry.name} on ${c.user}@${c.host}: no private key (keys were not journaled) and no ssh-agent (SSH_AUTH_SOCK) to use`;
      const dir = mkdtempSync(path.join(tmpdir(), "flotilla-teardown-ssh-"));
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

/**
 * The create-only journal a run over `stateFile` must not ignore: that file itself when it
 * is one, and the stack's old journal next to the default state file.
 */
export function legacyJournalOf(root: string, stack: string, stateFile: string): string | undefined {
  const candidates = [stateFile];
  if (path.resolve(stateFile) === path.resolve(statePath(root, stack)))
    candidates.push(legacyJournalPath(root, stack));
  return candidates.find(isLegacyJournal);
}
