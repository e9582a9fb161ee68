// Helpers for the image suites (s6, consul, mysql): build through images/build.sh, run
// labelled containers, secrets in RAM, bounded waits, and cleanup of only our own things.
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { docker } from "../support/docker";
import { ROOT } from "../support/pulumi";

export const VERSION = "0.1.0";
export const image = (name: string): string => `flotilla/${name}:${VERSION}`;

/** Build the given images (and their base) with images/build.sh; returns its output (sizes included). */
export function buildImages(names: string[]): string {
  const args = [path.join(ROOT, "images", "build.sh"), "--version", VERSION];
  for (const n of names) args.push("--only", n);
  const out = execFileSync("bash", args, {
    encoding: "utf8",
    timeout: 900_000,
    stdio: ["ignore", "pipe", "pipe"],
  });
  console.log(out.trim());
  return out;
}

// The suites' labels live with the other Docker helpers.
export { labels } from "../support/docker";

/** Remove this suite's containers, volumes and networks (and nothing else). */
export function cleanup(suite: string): void {
  const filter = ["--filter", `label=flotilla.suite=${suite}`];
  const containers = docker(["ps", "-aq", ...filter])
    .split("\n")
    .filter(Boolean);
  if (containers.length) spawnSync("docker", ["rm", "-fv", ...containers], { stdio: "ignore" });
  const volumes = docker(["volume", "ls", "-q", ...filter])
    .split("\n")
    .filter(Boolean);
  if (volumes.length) spawnSync("docker", ["volume", "rm", "-f", ...volumes], { stdio: "ignore" });
  const networks = docker(["network", "ls", "-q", ...filter])
    .split("\n")
    .filter(Boolean);
  if (networks.length) spawnSync("docker", ["network", "rm", ...networks], { stdio: "ignore" });
}

/**
 * Secret files in RAM (/dev/shm, never on disk), one per name, to bind-mount at
 * /run/secrets like Docker secrets. Returns the directory and a remover.
 */
export function ramSecrets(values: Record<string, string>): { dir: string; remove: () => void } {
  const dir = mkdtempSync("/dev/shm/flotilla-test-");
  for (const [name, value] of Object.entries(values)) {
    const file = path.join(dir, name);
    writeFileSync(file, value, { mode: 0o600 });
    chmodSync(file, 0o600);
  }
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Poll `probe` until it returns a value (not undefined) or `timeoutMs` passes; throws with `what`. */
export async function waitFor<T>(what: string, timeoutMs: number, probe: () => T | undefined): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ""}`);
}

/** docker exec without throwing: exit status and output. */
export function tryExec(container: string, args: string[], input?: string): { status: number; out: string } {
  const r = spawnSync("docker", ["exec", ...(input === undefined ? [] : ["-i"]), container, ...args], {
    input,
    encoding: "utf8",
    timeout: 60_000,
  });
  return { status: r.status ?? -1, out: `${r.stdout ?? ""}${r.stderr ?? ""}` };
}

/**
 * Inside the container: SIGKILL the process s6 supervises in /run/service/<service>,
 * then poll (every 10 ms, at most 5 s) until s6 reports a new pid up. Returns the
 * restart time in ms measured inside the container, or throws.
 */
export function killAndMeasureRestart(container: string, service: string): number {
  const script = `
    dir=/run/service/${service}
    old=$(s6-svstat -o pid "$dir")
    [ "$old" -gt 0 ] || { echo "no pid for $dir"; exit 1; }
    start=$(date +%s%N)
    kill -9 "$old"
    i=0
    while [ $i -lt 500 ]; do
      new=$(s6-svstat -o pid "$dir")
      if [ "$new" -gt 0 ] && [ "$new" != "$old" ] && kill -0 "$new" 2>/dev/null; then
        echo $(( ($(date +%s%N) - start) / 1000000 ))
        exit 0
      fi
      i=$((i + 1))
      sleep 0.01
    done
    echo "not restarted"; exit 1`;
  const r = tryExec(container, ["sh", "-c", script]);
  if (r.status !== 0) throw new Error(`${service} in ${container}: ${r.out}`);
  return Number(r.out.trim());
}

/** `docker stop` with a grace period; returns elapsed ms and the container's exit code. */
export function timedStop(container: string, graceSeconds: number): { ms: number; exitCode: number } {
  const start = Date.now();
  docker(["stop", "-t", String(graceSeconds), container]);
  const ms = Date.now() - start;
  return { ms, exitCode: Number(docker(["inspect", "-f", "{{.State.ExitCode}}", container])) };
}

/** Wait until the service has been ready for over a second (s6-supervise restarts it at once only then). */
export async function waitReadyOverASecond(container: string, service: string): Promise<void> {
  await waitFor(`${service} ready in ${container}`, 60_000, () => {
    const r = tryExec(container, ["s6-svstat", "-o", "ready,readyfor", `/run/service/${service}`]);
    const [ready, seconds] = r.out.trim().split(/\s+/);
    return r.status === 0 && ready === "true" && Number(seconds) >= 2 ? true : undefined;
  });
}
