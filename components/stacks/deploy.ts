// The deploy script's arguments and standard input, as pure functions: what the Pulumi
// components run and what the end-to-end suite runs are built the same way (the command
// line around them comes from components/repo: `localCommand` or `remoteCommand`).
import type { StackName } from "./catalog";
import { type NetworkKey, networkName, type SecretTarget, secretFamily, stackName } from "./names";

/** The scripts, relative to the repository root (host scripts: they run on a manager). */
export const DEPLOY_SCRIPT = "scripts/host/stack-deploy.sh";
export const REMOVE_SCRIPT = "scripts/host/stack-remove.sh";

export interface DeployOptions {
  /** Prefix of the Swarm stack, network and secret names. */
  prefix: string;
  /** The catalog stack to deploy. */
  stack: StackName;
  /** The overlay networks to create first (shared by stacks, so never a stack's own). */
  networks: readonly NetworkKey[];
  /** Host directories to create first (the local target's MySQL data path). */
  ensureDirs?: readonly string[];
  /** `never` for local images (a registry lookup could pin someone else's image). */
  resolveImage: "always" | "changed" | "never";
  /** Seconds to wait for convergence before failing (default 300). */
  waitSeconds?: number;
  /** SHA-256 of the compose document on stdin: the script refuses any other document. */
  documentSha256?: string;
  /** The Swarm (cluster ID) the stack belongs to: the script refuses to deploy into another one. */
  swarmId?: string;
}

/** Arguments of scripts/host/stack-deploy.sh (no secret: those go on stdin). */
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
    ...(o.documentSha256 ? ["--document-sha256", o.documentSha256] : []),
    ...(o.swarmId ? ["--swarm-id", o.swarmId] : []),
  ];
}

/**
 * Arguments of scripts/host/stack-remove.sh. Secrets are named by family (every version of
 * a secret target, whatever its content hash), so the removal's inputs never change with a
 * secret's value: the removal command is the same resource for the stack's whole life.
 */
export function removeArgs(
  prefix: string,
  stack: StackName,
  networks: readonly NetworkKey[],
  secretTargets: readonly SecretTarget[],
): string[] {
  return [
    "--stack",
    stackName(prefix, stack),
    ...networks.flatMap((n) => ["--network", networkName(prefix, n)]),
    ...secretTargets.flatMap((t) => ["--secret-family", secretFamily(prefix, t)]),
  ];
}

/**
 * The deploy script's standard input: one `NAME=base64(value)` line per Docker secret,
 * then for each rolling phase (rollingPhases) a `%%phase <service>` line and its document,
 * then a `%%compose` line and the compose document.
 */
export function deployStdin(
  secrets: readonly { name: string; value: string }[],
  yaml: string,
  phases: readonly { service: string; yaml: string }[] = [],
): string {
  const lines = secrets.map(({ name, value }) => `${name}=${Buffer.from(value, "utf8").toString("base64")}`);
  const phased = phases.map((p) => `%%phase ${p.service}\n${p.yaml.endsWith("\n") ? p.yaml : `${p.yaml}\n`}`);
  return `${lines.join("\n")}${lines.length ? "\n" : ""}${phased.join("")}%%compose\n${yaml}`;
}
