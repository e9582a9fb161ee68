// Shared by the Docker suites of test/swarm: the node image (Debian trixie with
// the Docker engine, as cloud-init installs it on a VM) and running a bootstrap
// script in a node exactly as the remote command does.
import { spawnSync } from "node:child_process";
import path from "node:path";
import { type SwarmScript, scriptCommand } from "../../components/swarm";
import { docker } from "../support/docker";
import { ROOT } from "../support/pulumi";

export const NODE_IMAGE = "flotilla-test-swarmnode:1";

/** Build (cached after the first time) the node image. */
export function buildNodeImage(): void {
  docker(["build", "-q", "--label", "flotilla.test=1", "-t", NODE_IMAGE, path.join(ROOT, "test/swarm/node")]);
}

/** Run a script in a node through a shell, with the exact command line the remote command runs. */
export function run(
  node: string,
  script: SwarmScript,
  args: string[] = [],
  stdin = "",
): { status: number; stdout: string; stderr: string } {
  const result = spawnSync("docker", ["exec", "-i", node, "sh", "-c", scriptCommand(script, args)], {
    input: stdin,
    encoding: "utf8",
    timeout: 300_000,
  });
  return { status: result.status ?? -1, stdout: (result.stdout ?? "").trim(), stderr: result.stderr ?? "" };
}
