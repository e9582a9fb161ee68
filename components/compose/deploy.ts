// The deploy script's command lines and standard input, as pure functions: what the
// Pulumi components run and what the end-to-end suite runs are built the same way.
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { type NetworkKey, networkName, type StackName, stackName } from "./names";

/** The scripts, relative to the repository root. */
export const DEPLOY_SCRIPT = path.join("scripts", "stack-deploy.sh");
export const REMOVE_SCRIPT = path.join("scripts", "stack-remove.sh");

const REPO_ROOT = path.resolve(__dirname, "..", "..");

/** Quote one word for a POSIX shell. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

export interface DeployOptions {
  prefix: string;
  stack: StackName;
  networks: readonly NetworkKey[];
  /** Host directories to create first (the local target's MySQL data path). */
  ensureDirs?: readonly string[];
  /** `never` for local images (a registry lookup could pin someone else's image). */
  resolveImage: "always" | "changed" | "never";
  waitSeconds?: number;
}

/** Arguments of scripts/stack-deploy.sh (no secret: those go on stdin). */
export function deployArgs(o: DeployOptions): string[] {
  return [
    "--stack",
    stackName(o.prefix, o.stack),
    ...o.networks.flatMap((n) => ["--network", networkName(o.prefix, n)]),
    ...(o.ensureDirs ?? []).flatMap((d) => ["--ensure-dir", d]),
    "--resolve-image",
    o.resolveImage,
    "--wait",
    String(o.waitSeconds ?? 300),
  ];
}

/** Arguments of scripts/stack-remove.sh. */
export function removeArgs(
  prefix: string,
  stack: StackName,
  networks: readonly NetworkKey[],
  secretNames: readonly string[],
): string[] {
  return [
    "--stack",
    stackName(prefix, stack),
    ...networks.flatMap((n) => ["--network", networkName(prefix, n)]),
    ...secretNames.flatMap((s) => ["--secret", s]),
  ];
}

/**
 * The deploy script's standard input: one `NAME=base64(value)` line per Docker secret,
 * a `%%compose` line, then the compose document.
 */
export function deployStdin(secrets: readonly { name: string; value: string }[], yaml: string): string {
  const lines = secrets.map(({ name, value }) => `${name}=${Buffer.from(value, "utf8").toString("base64")}`);
  return `${lines.join("\n")}${lines.length ? "\n" : ""}%%compose\n${yaml}`;
}

/** A command line that runs a script from this repository on this machine. */
export function localCommand(script: string, args: readonly string[]): string {
  return ["bash", shellQuote(path.join(REPO_ROOT, script)), ...args.map(shellQuote)].join(" ");
}

/**
 * A command line that runs a script from this repository on a remote host that does not
 * have the repository: the script travels inside the command (it holds no secret), so
 * the remote side needs only bash, base64 and the docker CLI.
 */
export function remoteCommand(script: string, args: readonly string[]): string {
  const body = readFileSync(path.join(REPO_ROOT, script)).toString("base64");
  const name = path.basename(script, ".sh");
  return `bash -c "$(printf %s ${body} | base64 -d)" ${name} ${args.map(shellQuote).join(" ")}`;
}
