// The Swarm bootstrap scripts (scripts/host/swarm/*.sh) as remote command lines: each
// script with lib.sh inlined, run as root by `sudo -n` (components/repo's remoteCommand).
// Pure: the same strings the remote commands run are what the Docker suites run.
// Secrets never appear here: they travel on the command's stdin.
import { remoteCommand, scriptText } from "../repo";

/** The directory of the bootstrap scripts, relative to the repository root. */
export const SWARM_SCRIPTS_DIR = "scripts/host/swarm";

export type SwarmScript =
  | "init"
  | "join-tokens"
  | "join"
  | "label"
  | "drain"
  | "leave"
  | "format-if-empty-and-mount"
  | "unmount";

/** A bootstrap script's path, relative to the repository root. */
export function swarmScriptPath(script: SwarmScript): string {
  return `${SWARM_SCRIPTS_DIR}/${script}.sh`;
}

/** The script's text as the remote command runs it (lib.sh inlined). */
export function swarmScriptText(script: SwarmScript): string {
  return scriptText(swarmScriptPath(script));
}

/** The command line a remote command runs: the script, as root, with its arguments. */
export function scriptCommand(script: SwarmScript, args: readonly string[] = []): string {
  return remoteCommand(swarmScriptPath(script), args);
}
