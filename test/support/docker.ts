// Shared helpers for suites that run real software under a Docker engine.
import { execFileSync, spawnSync } from "node:child_process";
import { describe } from "vitest";

/** True when a Docker engine answers. */
export function dockerAvailable(): boolean {
  return spawnSync("docker", ["info"], { stdio: "ignore", timeout: 20_000 }).status === 0;
}

/**
 * `describe` for suites that need a Docker engine. Without one they are skipped
 * locally, but CI sets FLOTILLA_REQUIRE_DOCKER=1 so a missing engine fails loudly
 * instead of passing silently.
 */
export const describeWithDocker: typeof describe =
  process.env.FLOTILLA_REQUIRE_DOCKER === "1" || dockerAvailable()
    ? describe
    : (describe.skip as typeof describe);

/** Run docker with arguments (never a shell string); returns trimmed stdout, throws with stderr on failure. */
export function docker(args: string[], input?: string): string {
  return execFileSync("docker", args, {
    input,
    encoding: "utf8",
    stdio: ["pipe", "pipe", "pipe"],
    maxBuffer: 64 * 1024 * 1024,
  }).trim();
}

/** Labels that mark a suite's resources: `flotilla.test=1` plus the suite's own name. */
export function labels(suite: string): string[] {
  return ["--label", "flotilla.test=1", "--label", `flotilla.suite=${suite}`];
}

/**
 * What an inner dockerd (or systemd) needs of its container short of --privileged: every
 * capability but SYS_RESOURCE, no seccomp or AppArmor profile.
 */
export const DIND_FLAGS: readonly string[] = [
  "--cap-add",
  "ALL",
  "--cap-drop",
  "SYS_RESOURCE",
  "--security-opt",
  "seccomp=unconfined",
  "--security-opt",
  "apparmor=unconfined",
];

export interface ContainerSpec {
  image: string;
  /** What follows the image: the command or its arguments. */
  command?: readonly string[];
  name?: string;
  hostname?: string;
  /** The suite's labels (`labels`). */
  suite?: string;
  network?: string;
  networkAlias?: string;
  /** `KEY=value` entries, in order (a later one wins). */
  env?: readonly string[];
  /** `-v` values. */
  volumes?: readonly string[];
  /** `-p` values. */
  publish?: readonly string[];
  entrypoint?: string;
  /** Any other flags, before the image. */
  flags?: readonly string[];
}

function runArgs(mode: "-d" | "--rm", c: ContainerSpec): string[] {
  const opt = (flag: string, value?: string) => (value === undefined ? [] : [flag, value]);
  const each = (flag: string, values: readonly string[] = []) => values.flatMap((v) => [flag, v]);
  return [
    "run",
    mode,
    ...opt("--name", c.name),
    ...opt("--hostname", c.hostname),
    ...(c.suite ? labels(c.suite) : []),
    ...opt("--network", c.network),
    ...opt("--network-alias", c.networkAlias),
    ...each("-e", c.env),
    ...each("-v", c.volumes),
    ...each("-p", c.publish),
    ...opt("--entrypoint", c.entrypoint),
    ...(c.flags ?? []),
    c.image,
    ...(c.command ?? []),
  ];
}

/** `docker run -d`: start a container in the background; returns its ID. */
export function runContainer(c: ContainerSpec): string {
  return docker(runArgs("-d", c));
}

/** `docker run --rm`: run a container to its end; returns its output (throws if it fails). */
export function runOnce(c: ContainerSpec): string {
  return docker(runArgs("--rm", c));
}

/** Remove the containers labelled `flotilla.suite=<suite>` (with their anonymous volumes). */
export function removeSuiteContainers(suite: string): void {
  const ids = docker(["ps", "-aq", "--filter", `label=flotilla.suite=${suite}`])
    .split("\n")
    .filter(Boolean);
  if (ids.length > 0) docker(["rm", "-f", "-v", ...ids]);
}
