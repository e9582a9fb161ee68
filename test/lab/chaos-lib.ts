// Helpers of the lab's chaos suite: the lab's nodes as containers (kill, start, cut off
// the network, heal), where the VIP is, where tasks run, and steady load from a client
// container on the lab network. Observation goes through `docker exec` on the node
// containers (the test's own eyes); every change to the system goes through the nodes
// themselves (power off, power on, unplug), never through a shortcut into the stacks.
import path from "node:path";
import { ok, run, until } from "../e2e/lib";
import { commandLabel } from "../support/process";
import { ROOT } from "../support/pulumi";

// The same process helpers as the end-to-end suite (a bounded run without a shell, ok, until).
export { ok, run, until };

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A command inside a node container, as root (the test's observation channel). */
export function onNode(container: string, script: string, timeoutMs = 60_000) {
  return run("docker", ["exec", container, "sh", "-c", script], { timeoutMs });
}

/**
 * A refusal by a busy or electing Swarm: the request was not applied, and the next one
 * may be (scripts/host/stack-deploy.sh's swarm_busy retries the same list). A manager that
 * rejoins after an unplug makes the leader step down ("node lost leader status").
 */
export const SWARM_BUSY =
  /context deadline exceeded|code = Unavailable|code = DeadlineExceeded|does not have a leader|lost leader status|raft: failed to process the request|raft proposal dropped/;

/**
 * The Docker CLI of the Swarm, run on a manager node (`input` on its stdin, never argv).
 * A busy or electing Swarm's refusal is tried again, every 10 s for up to 2 minutes, as an
 * operator would; any other error fails at once.
 */
export async function swarm(manager: string, args: string[], input?: string): Promise<string> {
  const exec = ["exec", ...(input === undefined ? [] : ["-i"]), manager, "docker", ...args];
  for (let attempt = 1; ; attempt++) {
    const r = await run("docker", exec, { timeoutMs: 600_000, input });
    if (r.code === 0) return r.stdout;
    const error = r.stderr || r.stdout;
    if (attempt >= 12 || !SWARM_BUSY.test(error))
      throw new Error(`${commandLabel("docker", exec)} failed (exit ${r.code}, try ${attempt}): ${error}`);
    console.log(
      `lab: the Swarm refused \`docker ${args.slice(0, 2).join(" ")}\` (${error.split("\n")[0]}); again in 10 s`,
    );
    await sleep(10_000);
  }
}

/** Whether the node container is running. */
export async function running(container: string): Promise<boolean> {
  const r = await run("docker", ["inspect", "-f", "{{.State.Running}}", container]);
  return r.stdout === "true";
}

/** Power loss: SIGKILL to the node's systemd, every process of the node dies at once. */
export async function powerOff(container: string): Promise<void> {
  await ok("docker", ["kill", container]);
}

/** Power on: the node boots again (systemd, sshd, Docker, its Swarm tasks). */
export async function powerOn(container: string): Promise<void> {
  await ok("docker", ["start", container]);
}

/** Unplug the node from the lab network (its processes keep running). */
export async function unplug(container: string, network: string): Promise<void> {
  await ok("docker", ["network", "disconnect", "--force", network, container]);
}

/** Plug it back in with its own address. */
export async function plugIn(container: string, network: string, ip: string): Promise<void> {
  await ok("docker", ["network", "connect", "--ip", ip, network, container]);
}

/** The lb node container holding the VIP now, if any. */
export async function vipHolder(lbContainers: readonly string[], vip: string): Promise<string | undefined> {
  for (const c of lbContainers) {
    const r = await onNode(c, "ip -4 -o addr show", 10_000);
    if (r.code === 0 && r.stdout.split(/\s+/).some((w) => w.startsWith(`${vip}/`))) return c;
  }
  return undefined;
}

/** Running task count per node hostname of a service (as the Swarm sees it). */
export async function tasksByNode(manager: string, service: string): Promise<Record<string, number>> {
  const out = await swarm(manager, [
    "service",
    "ps",
    service,
    "--filter",
    "desired-state=running",
    "--format",
    "{{.Node}} {{.CurrentState}}",
  ]);
  const counts: Record<string, number> = {};
  for (const line of out.split("\n").filter(Boolean)) {
    const [node, state] = line.split(" ");
    if (state === "Running") counts[node] = (counts[node] ?? 0) + 1;
  }
  return counts;
}

export interface LoadSummary {
  sent: number;
  ok: number;
  failed: number;
  p50: number;
  p95: number;
  p99: number;
  started: number;
  stopped: number;
  firstOkAt: number | null;
  failures: { at: number; what: string }[];
}

/**
 * Steady load from a client container on the lab network to `url` (a lab address):
 * test/lab/load-client.mjs under Node, in any local image that has Node (the webapp's).
 */
export async function startLoad(opts: {
  name: string;
  network: string;
  image: string;
  url: string;
  rate?: number;
  maxSeconds?: number;
  /** HTTPS: the CA (or self-signed certificate) file on this machine the client verifies against. */
  ca?: string;
}): Promise<{ stop: () => Promise<LoadSummary> }> {
  await run("docker", ["rm", "-f", opts.name]);
  await ok("docker", [
    "run",
    "-d",
    "--name",
    opts.name,
    "--label",
    "flotilla.test=1",
    "--network",
    opts.network,
    "-v",
    `${path.join(ROOT, "test", "lab", "load-client.mjs")}:/load-client.mjs:ro`,
    ...(opts.ca ? ["-v", `${opts.ca}:/edge-ca.pem:ro`] : []),
    "--entrypoint",
    "node",
    opts.image,
    "/load-client.mjs",
    "--url",
    opts.url,
    "--rate",
    String(opts.rate ?? 50),
    "--seconds",
    String(opts.maxSeconds ?? 300),
    ...(opts.ca ? ["--ca", "/edge-ca.pem"] : []),
  ]);
  return {
    stop: async () => {
      await run("docker", ["kill", "--signal", "TERM", opts.name]);
      await run("docker", ["wait", opts.name], { timeoutMs: 30_000 });
      const logs = await ok("docker", ["logs", opts.name]);
      await run("docker", ["rm", "-f", opts.name]);
      const line = logs
        .split("\n")
        .reverse()
        .find((l) => l.startsWith("{"));
      if (!line) throw new Error(`load client printed no summary: ${logs.slice(-500)}`);
      return JSON.parse(line) as LoadSummary;
    },
  };
}

/** How many requests failed, by what the client saw ("HTTP 503", "timeout", "ECONNRESET"). */
export function failuresByKind(summary: LoadSummary): Record<string, number> {
  const kinds: Record<string, number> = {};
  for (const f of summary.failures) kinds[f.what] = (kinds[f.what] ?? 0) + 1;
  // The client lists at most 2000 failures, and counts the requests still in flight when
  // it stopped as failed without a kind.
  const unlisted = summary.failed - summary.failures.length;
  if (unlisted > 0) kinds["unlisted (in flight at stop, or past the 2000 listed)"] = unlisted;
  return kinds;
}

/**
 * Which step each failure happened under: `windows` are named time spans (a second up's
 * deploy steps, absolute ms), possibly overlapping, and a failure counts once for every
 * window it falls in; the rest count under `outside`. Where a release's failed requests
 * come from (the edge's roll, the database's, Consul's).
 */
export function failuresByWindow(
  failures: readonly { at: number }[],
  windows: readonly { name: string; from: number; to: number }[],
  outside = "while no step ran",
): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const f of failures) {
    const inside = windows.filter((w) => f.at >= w.from && f.at <= w.to);
    for (const w of inside) counts[w.name] = (counts[w.name] ?? 0) + 1;
    if (inside.length === 0) counts[outside] = (counts[outside] ?? 0) + 1;
  }
  return counts;
}

/** The longest run of consecutive failures, in seconds (how long the outage looked to clients). */
export function outageSeconds(summary: LoadSummary, rate: number): number {
  if (summary.failures.length === 0) return 0;
  const times = summary.failures.map((f) => f.at).sort((a, b) => a - b);
  const gap = (2 * 1000) / rate;
  let longest = 0;
  let start = times[0];
  for (let i = 1; i <= times.length; i++) {
    if (i === times.length || times[i] - times[i - 1] > gap) {
      longest = Math.max(longest, times[i - 1] - start);
      start = times[i];
    }
  }
  return Math.round((longest + 1000 / rate) / 10) / 100;
}

/**
 * Remove what a lab left behind without a journal (a run killed before it could write
 * one, on a machine that keeps state): only containers, networks and volumes carrying
 * the lab's own label.
 */
export async function removeLabelled(label: string): Promise<void> {
  const list = async (args: string[]) =>
    (await run("docker", [...args, "--filter", `label=${label}`])).stdout.split("\n").filter(Boolean);
  const containers = await list(["ps", "-aq"]);
  if (containers.length) await run("docker", ["rm", "-f", "-v", ...containers], { timeoutMs: 300_000 });
  for (const n of await list(["network", "ls", "-q"])) await run("docker", ["network", "rm", n]);
  const volumes = await list(["volume", "ls", "-q"]);
  if (volumes.length) await run("docker", ["volume", "rm", "-f", ...volumes]);
}
