// The Swarm bootstrap scripts for real: three Docker engines in containers (Debian
// trixie + docker.io, the way a VM runs it) on one network, driven by the exact
// command lines the remote commands run (`sudo -n bash -c "<script>" ...`, through a
// shell like SSH's). Init, join, label, drain and leave, each run twice; and a stack
// deploy run the way it runs on a manager, as the login user.
import { execFileSync, spawnSync } from "node:child_process";
import { afterAll, beforeAll, expect, it } from "vitest";
import { remoteCommand } from "../../components/repo";
import { DEPLOY_SCRIPT, deployStdin, REMOVE_SCRIPT } from "../../components/stacks";
import { parseJoinTokens, type SwarmScript } from "../../components/swarm";
import {
  DIND_FLAGS,
  describeWithDocker,
  docker,
  labels,
  removeSuiteContainers,
  runContainer,
} from "../support/docker";
import { buildNodeImage, NODE_IMAGE, run } from "./nodes";

const PREFIX = `flotilla-h3swarm-${process.pid}`;
const NET = `${PREFIX}-net`;
const NODES = { m0: `${PREFIX}-m0`, w1: `${PREFIX}-w1`, w2: `${PREFIX}-w2` };
const LABELS = labels(PREFIX);

function ok(node: string, script: SwarmScript, args: string[] = [], stdin = ""): string {
  const r = run(node, script, args, stdin);
  if (r.status !== 0) throw new Error(`${script} on ${node} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

const inner = (node: string, args: string[]) => docker(["exec", node, "docker", ...args]);

function waitFor(what: string, check: () => boolean, seconds = 120): void {
  for (let i = 0; i < seconds; i++) {
    if (check()) return;
    execFileSync("sleep", ["1"]);
  }
  throw new Error(`timed out after ${seconds} s waiting for ${what}`);
}

function cleanup(): void {
  removeSuiteContainers(PREFIX);
  spawnSync("docker", ["network", "rm", NET], { stdio: "ignore" });
  // The inner engines' cgroups (under the parent each node was given), once empty.
  // Retried: the killed engines' processes take a moment to leave them.
  const script = `for i in $(seq 1 20); do left=0
    for d in /sys/fs/cgroup/*/${PREFIX}-*; do
      [ -d "$d" ] && { find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || left=1; }
    done
    [ "$left" = 0 ] && exit 0; sleep 0.5; done; exit 1`;
  if (spawnSync("sh", ["-c", script]).status !== 0)
    console.warn(`cgroups /sys/fs/cgroup/*/${PREFIX}-* were left behind`);
}

describeWithDocker("Swarm bootstrap scripts on Docker-in-Docker nodes", () => {
  const addr: Record<string, string> = {};
  let tokens = { manager: "", worker: "" };
  const ids: Record<string, string> = {};

  beforeAll(() => {
    cleanup();
    buildNodeImage();
    docker(["network", "create", ...LABELS, NET]);
    for (const name of Object.values(NODES)) {
      runContainer({
        name,
        hostname: name,
        suite: PREFIX,
        network: NET,
        flags: DIND_FLAGS,
        // cgroup v1 is read-only in an unprivileged container: the inner engine gets the
        // tree read-write, under its own parent so its containers stay apart from the host's.
        volumes: ["/var/lib/docker", "/sys/fs/cgroup:/sys/fs/cgroup:rw"],
        env: ["DOCKER_ALLOW_IPV6_ON_IPV4_INTERFACE=1"],
        image: NODE_IMAGE,
        command: [
          "dockerd",
          "--host=unix:///var/run/docker.sock",
          "--storage-driver=overlay2",
          `--cgroup-parent=/${name}`,
        ],
      });
      addr[name] = docker([
        "inspect",
        "-f",
        `{{(index .NetworkSettings.Networks "${NET}").IPAddress}}`,
        name,
      ]);
    }
    // A small image on the workers for a probe service (no registry here: docker save | load).
    const image = execFileSync("docker", ["save", "debian:trixie-slim"], { maxBuffer: 512 * 1024 * 1024 });
    for (const name of [NODES.w1, NODES.w2]) {
      waitFor(`dockerd in ${name}`, () => spawnSync("docker", ["exec", name, "docker", "info"]).status === 0);
      execFileSync("docker", ["exec", "-i", name, "docker", "load", "-q"], {
        input: image,
        stdio: ["pipe", "ignore", "pipe"],
      });
    }
  });

  afterAll(() => cleanup());

  it("init makes the first manager a Swarm manager; a second run changes nothing", () => {
    const first = run(NODES.m0, "init", [addr[NODES.m0]]);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stderr).toContain("Swarm initialised");
    const second = run(NODES.m0, "init", [addr[NODES.m0]]);
    expect(second.status).toBe(0);
    expect(second.stderr).toContain("nothing to do");
    expect(second.stdout).toBe(first.stdout);
    // The node's Swarm ID, then the Swarm's cluster ID (a new Swarm redeploys the stacks).
    const [nodeId, clusterId] = first.stdout.split("\n");
    expect(nodeId).toMatch(/^[a-z0-9]{25}$/);
    expect(clusterId).toMatch(/^[a-z0-9]{25}$/);
    expect(clusterId).toBe(inner(NODES.m0, ["info", "-f", "{{.Swarm.Cluster.ID}}"]));
    ids.m0 = nodeId;
    expect(inner(NODES.m0, ["info", "-f", "{{.Swarm.ControlAvailable}}"])).toBe("true");
  });

  it("init refuses to start a second Swarm on a node while another manager already runs one", () => {
    const r = run(NODES.w1, "init", [addr[NODES.w1], addr[NODES.m0]]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(`manager ${addr[NODES.m0]} already runs a Swarm`);
    expect(inner(NODES.w1, ["info", "-f", "{{.Swarm.LocalNodeState}}"])).toBe("inactive");
  });

  it("join-tokens prints both tokens as JSON", () => {
    tokens = parseJoinTokens(ok(NODES.m0, "join-tokens"));
    expect(tokens.manager).toMatch(/^SWMTKN-1-/);
    expect(tokens.worker).toMatch(/^SWMTKN-1-/);
    expect(tokens.worker).not.toBe(tokens.manager);
  });

  it("join refuses a missing or malformed token, without joining", () => {
    const r = run(NODES.w1, "join", ["worker", addr[NODES.m0], addr[NODES.w1]], "not-a-token\n");
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("expected a Swarm join token on stdin");
    expect(inner(NODES.w1, ["info", "-f", "{{.Swarm.LocalNodeState}}"])).toBe("inactive");
  });

  it("workers join with the token on stdin; joining again is a no-op with the same node ID", () => {
    for (const key of ["w1", "w2"] as const) {
      const node = NODES[key];
      const args = ["worker", addr[NODES.m0], addr[node]];
      const first = run(node, "join", args, `${tokens.worker}\n`);
      expect(first.status, first.stderr).toBe(0);
      expect(first.stderr).toContain("joined the Swarm");
      const second = run(node, "join", args, `${tokens.worker}\n`);
      expect(second.status, second.stderr).toBe(0);
      expect(second.stderr).toContain("already in this Swarm");
      expect(second.stdout).toBe(first.stdout);
      ids[key] = first.stdout;
      // The token never reached a command line or the output.
      expect(first.stderr + first.stdout).not.toContain(tokens.worker);
    }
    const nodes = inner(NODES.m0, ["node", "ls", "--format", "{{.ID}} {{.Status}}"]).split("\n").sort();
    expect(nodes).toEqual([`${ids.m0} Ready`, `${ids.w1} Ready`, `${ids.w2} Ready`].sort());
  });

  it("the stack deploy's exact remote command works as the login user (sudo, not docker); without sudo it cannot", () => {
    // issue 10: the SSH user is in group sudo only, so a deploy run as that user cannot
    // reach the engine. The remote form runs the script as root with `sudo -n`; the
    // secret goes on stdin, which sudo passes through.
    const as = (user: string, command: string, stdin = "") =>
      spawnSync("docker", ["exec", "-i", "-u", user, NODES.m0, "sh", "-c", command], {
        input: stdin,
        encoding: "utf8",
        timeout: 300_000,
      });
    expect(as("debian", "id -nG").stdout.trim().split(" ")).toContain("sudo");
    expect(as("debian", "id -nG").stdout).not.toMatch(/\bdocker\b/);
    const stack = `${PREFIX}-probe`;
    const secret = { name: `${PREFIX}-probe_secret-0123456789abcdef`, value: `s3cr3t-${process.pid}-value` };
    const compose = [
      'version: "3.8"',
      "services:",
      "  probe:",
      "    image: debian:trixie-slim",
      '    command: ["sleep", "infinity"]',
      "    secrets: [probe_secret]",
      "    deploy:",
      '      placement: { constraints: ["node.role == worker"] }',
      "secrets:",
      `  probe_secret: { external: true, name: ${secret.name} }`,
      "",
    ].join("\n");
    const command = remoteCommand(DEPLOY_SCRIPT, [
      "--stack",
      stack,
      "--resolve-image",
      "never",
      "--wait",
      "120",
    ]);
    expect(command).toMatch(/^sudo -n bash -c /);
    expect(command).not.toContain(secret.value);
    const stdin = deployStdin([secret], compose);

    const withoutSudo = as("debian", command.replace(/^sudo -n /, ""), stdin);
    expect(withoutSudo.status).not.toBe(0);
    expect(withoutSudo.stderr).toContain("not a Swarm manager");

    const deployed = as("debian", command, stdin);
    expect(deployed.status, deployed.stderr).toBe(0);
    expect(inner(NODES.m0, ["service", "ls", "--format", "{{.Name}} {{.Replicas}}"])).toContain(
      `${stack}_probe 1/1`,
    );
    expect(inner(NODES.m0, ["secret", "ls", "--format", "{{.Name}}"]).split("\n")).toContain(secret.name);
    expect(deployed.stdout + deployed.stderr).not.toContain(secret.value);

    const removed = as("debian", remoteCommand(REMOVE_SCRIPT, ["--stack", stack, "--secret", secret.name]));
    expect(removed.status, removed.stderr).toBe(0);
    expect(inner(NODES.m0, ["service", "ls", "-q"])).toBe("");
  });

  it("label sets exactly the Flotilla labels, twice the same, and removes one no longer wanted", () => {
    expect(ok(NODES.m0, "label", [ids.w1, "lb=true", "db=true"])).toBe("db=true lb=true");
    expect(ok(NODES.m0, "label", [ids.w1, "lb=true"])).toBe("lb=true");
    expect(ok(NODES.m0, "label", [ids.w1, "lb=true"])).toBe("lb=true");
    expect(ok(NODES.m0, "label", [ids.w2, "db=true"])).toBe("db=true");
    // A Galera member's node: `db_member` (found by the lab, whose bootstrap refused it).
    expect(ok(NODES.m0, "label", [ids.w2, "db=true", "db_member=2"])).toBe("db=true db_member=2");
    expect(ok(NODES.m0, "label", [ids.w2, "db=true"])).toBe("db=true");
    expect(ok(NODES.m0, "label", [ids.m0])).toBe("");
    expect(run(NODES.m0, "label", [ids.w2, "db=true; rm -rf /"]).status).not.toBe(0);
  });

  it("drain moves the node's tasks away and removes it; the node then leaves; both are idempotent", () => {
    inner(NODES.m0, [
      "service",
      "create",
      "--quiet",
      "--detach",
      "--name",
      "probe",
      "--no-resolve-image",
      "--constraint",
      "node.role==worker",
      "debian:trixie-slim",
      "sleep",
      "infinity",
    ]);
    const runningOn = () =>
      inner(NODES.m0, [
        "service",
        "ps",
        "probe",
        "--filter",
        "desired-state=running",
        "--format",
        "{{.Node}} {{.CurrentState}}",
      ]);
    waitFor("the probe task to run", () => /Running/.test(runningOn()));
    const victim = runningOn().includes(NODES.w1) ? "w1" : "w2";
    const survivor = victim === "w1" ? "w2" : "w1";

    const drained = run(NODES.m0, "drain", [ids[victim]]);
    expect(drained.status, drained.stderr).toBe(0);
    expect(drained.stderr).toContain("removed from the Swarm");
    waitFor("the probe task to move", () => runningOn().startsWith(`${NODES[survivor]} Running`));
    expect(inner(NODES.m0, ["node", "ls", "-q"]).split("\n")).not.toContain(ids[victim]);

    const again = run(NODES.m0, "drain", [ids[victim]]);
    expect(again.status).toBe(0);
    expect(again.stderr).toContain("not in the Swarm: nothing to do");

    expect(ok(NODES[victim], "leave")).toBe("");
    expect(inner(NODES[victim], ["info", "-f", "{{.Swarm.LocalNodeState}}"])).toBe("inactive");
    expect(run(NODES[victim], "leave").stderr).toContain("not in a Swarm: nothing to do");

    // A replacement re-run: the same node joins again, cleanly, as a new member.
    const rejoined = ok(
      NODES[victim],
      "join",
      ["worker", addr[NODES.m0], addr[NODES[victim]]],
      `${tokens.worker}\n`,
    );
    expect(rejoined).not.toBe(ids[victim]);
    waitFor("the rejoined node to be ready", () =>
      inner(NODES.m0, ["node", "ls", "--format", "{{.ID}} {{.Status}}"]).includes(`${rejoined} Ready`),
    );
    expect(inner(NODES.m0, ["node", "ls", "-q"]).split("\n")).toHaveLength(3);
  });

  it("drain on the manager running it drains but keeps it (a full destroy ends there)", () => {
    const r = run(NODES.m0, "drain", [ids.m0]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain("is this manager: drained but kept");
    expect(inner(NODES.m0, ["node", "inspect", "-f", "{{.Spec.Availability}}", ids.m0])).toBe("drain");
  });

  it("join refuses a node that is in another Swarm", () => {
    const other = run(NODES.m0, "join", ["worker", "10.255.255.1", addr[NODES.m0]], `${tokens.worker}\n`);
    expect(other.status).not.toBe(0);
    expect(other.stderr).toContain("already in another Swarm");
  });
});
