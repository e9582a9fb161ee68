// The one place that knows where the repository is on disk and how one of its scripts
// runs: here (`bash <path> args`), or on a host that does not have the repository (the
// script travels inside the command line, run as root with `sudo -n`). Pure: the
// strings the Pulumi commands run are what the Docker suites run. Secrets never appear
// in a command line: they travel on the command's standard input, which sudo passes on.
import { readFileSync } from "node:fs";
import * as path from "node:path";

/** The repository's root directory (this file is components/repo/runner.ts). */
export const REPO_ROOT = path.resolve(__dirname, "..", "..");

/** Scripts the program ships to hosts live here, relative to the repository root. */
export const HOST_SCRIPTS_DIR = path.join("scripts", "host");

/** An absolute path inside the repository, from a path relative to its root. */
export function repoPath(...relative: string[]): string {
  return path.join(REPO_ROOT, ...relative);
}

/** Quote one word for a POSIX shell: plain words stay readable, anything else is single-quoted. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** A `. "$(dirname "$0")/<file>"` line with its shellcheck directive: the script sources a sibling. */
const SOURCE_LINE = /^# shellcheck source=\S+\n\. "\$\(dirname "\$0"\)\/([A-Za-z0-9_.-]+)"\n/m;

/**
 * A script's text as a remote host runs it: a sibling it sources (`lib.sh`) is inlined in
 * place of the `.` line, so the command is one self-contained script.
 */
export function scriptText(script: string): string {
  const file = repoPath(script);
  const text = readFileSync(file, "utf8");
  const match = SOURCE_LINE.exec(text);
  if (!match) return text;
  const sibling = match[1];
  const lib = readFileSync(path.join(path.dirname(file), sibling), "utf8").replace(/^#!.*\n/, "");
  return text.replace(
    SOURCE_LINE,
    () => `# --- ${sibling} (inlined) ---\n${lib}# --- end of ${sibling} ---\n`,
  );
}

/** The script's text inside a command line: base64 (no secret in it), decoded by the login shell, run by bash. */
function embedded(script: string, args: readonly string[]): string[] {
  const body = Buffer.from(scriptText(script), "utf8").toString("base64");
  const name = `flotilla-${path.basename(script, ".sh")}`;
  return ["bash", "-c", `"$(printf %s ${body} | base64 -d)"`, name, ...args.map(shellQuote)];
}

/**
 * A command line that runs a repository script (path relative to the root) on this
 * machine. The script travels inside the command, as on a remote host, so the command
 * (kept in Pulumi state, and run again as a delete) names no checkout: running `up` from
 * another clone or machine changes nothing, and a delete still runs after the checkout
 * moved. It changes exactly when the script does.
 */
export function localCommand(script: string, args: readonly string[] = []): string {
  return embedded(script, args).join(" ");
}

/**
 * A command line that runs a host script (path relative to the root, under scripts/host/)
 * over SSH on a machine without the repository: the script's text, base64-encoded inside
 * the command (it holds no secret), decoded by the login shell and run by bash as root
 * (`sudo -n`: the login user is in group `sudo`, not `docker`, and root is what the
 * Docker engine and the mounts need). `$0` is `flotilla-<script name>`.
 */
export function remoteCommand(script: string, args: readonly string[] = []): string {
  if (!path.normalize(script).startsWith(`${HOST_SCRIPTS_DIR}${path.sep}`))
    throw new Error(`remoteCommand: ${script} is not a host script (${HOST_SCRIPTS_DIR}/)`);
  return ["sudo", "-n", ...embedded(script, args)].join(" ");
}
