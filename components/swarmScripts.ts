// The Swarm bootstrap scripts (scripts/swarm/*.sh) as remote command lines: each
// script with lib.sh inlined, run by `sudo -n bash -c '<script>' <name> <args...>`.
// Pure: the same strings the remote commands run are what the Docker tests run.
// Secrets never appear here: they travel on the command's stdin.
import { readFileSync } from "node:fs";
import * as path from "node:path";

export const SCRIPTS_DIR = path.join(__dirname, "..", "scripts", "swarm");

export type SwarmScript =
  | "init"
  | "join-tokens"
  | "join"
  | "label"
  | "drain"
  | "leave"
  | "format-if-empty-and-mount"
  | "unmount";

const SOURCE_LINE = /^# shellcheck source=scripts\/swarm\/lib\.sh\n\. "\$\(dirname "\$0"\)\/lib\.sh"\n/m;

/** The script's text with lib.sh inlined in place of its `. lib.sh` line. */
export function scriptText(script: SwarmScript): string {
  const text = readFileSync(path.join(SCRIPTS_DIR, `${script}.sh`), "utf8");
  const lib = readFileSync(path.join(SCRIPTS_DIR, "lib.sh"), "utf8").replace(/^#!.*\n/, "");
  if (!SOURCE_LINE.test(text)) throw new Error(`scripts/swarm/${script}.sh does not source lib.sh`);
  return text.replace(SOURCE_LINE, () => `# --- lib.sh (inlined) ---\n${lib}# --- end of lib.sh ---\n`);
}

/** POSIX single-quoting: safe for any string in any POSIX shell. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** The command line a remote command runs: the script, as root, with its arguments. */
export function scriptCommand(script: SwarmScript, args: readonly string[] = []): string {
  return [
    "sudo",
    "-n",
    "bash",
    "-c",
    shellQuote(scriptText(script)),
    `flotilla-${script}`,
    ...args.map(shellQuote),
  ].join(" ");
}
