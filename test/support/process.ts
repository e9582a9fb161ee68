// One way to run a program from a test or a tool: asynchronously (a load generator or a
// server in the same process keeps running), never through a shell (arguments are never
// parsed again), and bounded: killed after a timeout, its output capped.
import { spawn } from "node:child_process";
import { REPO_ROOT } from "../../components/repo";

export interface RunOptions {
  /** Standard input (a secret goes here, never in argv). */
  input?: string | Buffer;
  /** Killed (SIGKILL) after this long; default 300 s. */
  timeoutMs?: number;
  /** Working directory; default the repository root (scripts are named relative to it). */
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** At most this many bytes of each stream are kept (the last ones); default 16 MiB. */
  maxBytes?: number;
}

export interface RunResult {
  /** Exit code; -1 when killed by a signal (the timeout included). */
  code: number;
  /** Trimmed standard output. */
  stdout: string;
  /** Trimmed standard error. */
  stderr: string;
  /** Killed because the timeout passed. */
  timedOut: boolean;
  ms: number;
}

/** The command as a short label for messages: the program and its first arguments, clipped. */
export function commandLabel(cmd: string, args: readonly string[]): string {
  const text = [cmd, ...args.slice(0, 4)].join(" ") + (args.length > 4 ? " …" : "");
  return text.length > 160 ? `${text.slice(0, 159)}…` : text;
}

/** A bounded buffer that keeps the last `max` bytes written to it. */
function tail(max: number) {
  const chunks: Buffer[] = [];
  let size = 0;
  let dropped = false;
  return {
    push(chunk: Buffer) {
      chunks.push(chunk);
      size += chunk.length;
      while (size > max && chunks.length > 1) {
        size -= chunks.shift()!.length;
        dropped = true;
      }
    },
    text() {
      const all = Buffer.concat(chunks);
      const kept = all.length > max ? all.subarray(all.length - max) : all;
      return (
        (dropped || all.length > max ? "[…earlier output dropped]\n" : "") + kept.toString("utf8").trim()
      );
    },
  };
}

/** Run a program; resolves with its exit code and output whatever the code (rejects only if it cannot start). */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? 300_000;
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd ?? REPO_ROOT,
      env: opts.env,
      stdio: ["pipe", "pipe", "pipe"],
    });
    const out = tail(opts.maxBytes ?? 16 * 1024 * 1024);
    const err = tail(opts.maxBytes ?? 16 * 1024 * 1024);
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => err.push(d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout: out.text(), stderr: err.text(), timedOut, ms: Date.now() - start });
    });
    // A program that exits before reading its input (a refused argument) is not our error.
    child.stdin.on("error", () => {});
    child.stdin.end(opts.input ?? "");
  });
}

/** Run, and resolve with trimmed stdout; a non-zero exit or the timeout fails with the command's stderr. */
export async function ok(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<string> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) {
    const why = r.timedOut ? `killed after ${opts.timeoutMs ?? 300_000} ms` : `exit ${r.code}`;
    throw new Error(`${commandLabel(cmd, args)} failed (${why}): ${r.stderr || r.stdout}`);
  }
  return r.stdout;
}
