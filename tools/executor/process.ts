// Run one child process with its standard input, environment and working directory,
// capture its output, and kill it when the run is aborted. Every failure becomes a
// CommandFailure carrying the exit code and standard error, never the command line
// (which may hold a value the caller has not masked yet).
import { spawn } from "node:child_process";

export interface RunOptions {
  /** Standard input (piped, then closed); absent: /dev/null. */
  stdin?: string | Buffer;
  /** Full environment of the child (default: this process's). */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Kills the child's process group (SIGTERM, then SIGKILL after 5 s) when aborted. */
  signal?: AbortSignal;
  /** Called with each complete line of stdout/stderr as it arrives. */
  onLine?: (stream: "stdout" | "stderr", line: string) => void;
}

export interface RunResult {
  code: number;
  /** The signal that ended the child, if any. */
  killedBy?: string;
  stdout: string;
  stderr: string;
}

/** A step that failed: which one, its exit code and its standard error (masked before display by the caller). */
export class CommandFailure extends Error {
  constructor(
    readonly what: string,
    readonly exitCode: number,
    readonly stderr: string,
    readonly stdout = "",
  ) {
    super(`${what}: exit code ${exitCode}${stderr.trim() ? `\n${tail(stderr)}` : ""}`);
  }
}

/** The last lines of a long text (errors show the end, where the cause usually is). */
export function tail(text: string, lines = 40): string {
  const all = text.replace(/\n+$/, "").split("\n");
  return all.length > lines
    ? [`[... ${all.length - lines} lines before]`, ...all.slice(-lines)].join("\n")
    : all.join("\n");
}

export function run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(new Error(`${argv[0]}: not started, the run was aborted`));
      return;
    }
    const child = spawn(argv[0], argv.slice(1), {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ["pipe", "pipe", "pipe"],
      // Its own process group, so an abort reaches what the shell started too (a killed
      // `sh -c` alone would leave its children holding the output pipes open).
      detached: true,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const partial = { stdout: "", stderr: "" };
    const collect = (stream: "stdout" | "stderr", sink: Buffer[]) => (chunk: Buffer) => {
      sink.push(chunk);
      if (!options.onLine) return;
      const text = partial[stream] + chunk.toString("utf8");
      const lines = text.split("\n");
      partial[stream] = lines.pop() ?? "";
      for (const line of lines) options.onLine(stream, line);
    };
    child.stdout.on("data", collect("stdout", out));
    child.stderr.on("data", collect("stderr", err));
    let killTimer: NodeJS.Timeout | undefined;
    const killGroup = (sig: NodeJS.Signals) => {
      try {
        if (child.pid) process.kill(-child.pid, sig);
      } catch {
        // Already gone.
      }
    };
    const onAbort = () => {
      killGroup("SIGTERM");
      killTimer = setTimeout(() => killGroup("SIGKILL"), 5000);
    };
    options.signal?.addEventListener("abort", onAbort, { once: true });
    child.on("error", (e) => {
      options.signal?.removeEventListener("abort", onAbort);
      reject(new Error(`${argv[0]}: ${e.message}`));
    });
    child.on("close", (code, signal) => {
      options.signal?.removeEventListener("abort", onAbort);
      if (killTimer) clearTimeout(killTimer);
      for (const stream of ["stdout", "stderr"] as const)
        if (partial[stream] && options.onLine) options.onLine(stream, partial[stream]);
      resolve({
        code: code ?? 128,
        killedBy: signal ?? undefined,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
      });
    });
    child.stdin.on("error", () => {
      // The child may exit without reading its input (EPIPE): its exit code tells what happened.
    });
    child.stdin.end(options.stdin ?? "");
  });
}

/** Run and require exit code 0; otherwise a CommandFailure named `what`. */
export async function runOk(
  what: string,
  argv: readonly string[],
  options: RunOptions = {},
): Promise<RunResult> {
  const result = await run(argv, options);
  if (result.code !== 0 || result.killedBy) {
    throw new CommandFailure(
      result.killedBy ? `${what} (killed by ${result.killedBy})` : what,
      result.code,
      result.stderr,
      result.stdout,
    );
  }
  return result;
}
