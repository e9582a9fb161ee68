// The exact scripts the remote commands run (lib.sh inlined) pass shellcheck, and
// the command lines quote their arguments and carry no secrets.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { shellQuote } from "../../components/repo";
import { type SwarmScript, scriptCommand, swarmScriptText as scriptText } from "../../components/swarm";

const SCRIPTS: SwarmScript[] = [
  "init",
  "join-tokens",
  "join",
  "label",
  "drain",
  "leave",
  "format-if-empty-and-mount",
  "unmount",
];

describe("remote scripts", () => {
  it.each(SCRIPTS)("%s, as the remote command runs it, passes shellcheck", (script) => {
    const text = scriptText(script);
    expect(text).toContain("wait_for_engine()");
    expect(text).not.toMatch(/^\. /m);
    const result = spawnSync("shellcheck", ["--shell=bash", "--format=gcc", "-"], {
      input: text,
      encoding: "utf8",
    });
    if (result.error) throw new Error(`shellcheck could not run: ${result.error.message}`);
    expect(result.stdout + result.stderr).toBe("");
    expect(result.status).toBe(0);
  });

  it("quotes every argument for a POSIX shell", () => {
    const tricky = `it's $(rm -rf /) "quoted"`;
    const result = spawnSync("sh", ["-c", `printf '%s' ${shellQuote(tricky)}`], { encoding: "utf8" });
    expect(result.stdout).toBe(tricky);
    expect(shellQuote("lb=true")).toBe("lb=true");
    expect(scriptCommand("label", ["abc", "lb=true", "a b"])).toMatch(
      /^sudo -n bash -c "\$\(printf %s [A-Za-z0-9+/=]+ \| base64 -d\)" flotilla-label abc lb=true 'a b'$/,
    );
  });
});

// A destroy runs every member's drain at once, and Swarm writes a node under optimistic
// locking: the lab's teardown failed on "update out of sequence". The drain script, as
// the remote command runs it, against a docker whose node writes fail that way first.
describe("drain under concurrent node changes (a docker that answers 'update out of sequence')", () => {
  function drainWith(failures: number, error: string) {
    const dir = mkdtempSync(path.join(tmpdir(), "flotilla-drain-"));
    try {
      const calls = path.join(dir, "calls");
      const count = path.join(dir, "count");
      writeFileSync(count, "0");
      const stub = (name: string, body: string) => {
        writeFileSync(path.join(dir, name), `#!/bin/bash\n${body}\n`);
        chmodSync(path.join(dir, name), 0o755);
      };
      stub("cloud-init", "exit 0");
      stub(
        "docker",
        `echo "$*" >>${calls}
case "$1 $2" in
  "info "*) echo self-node-id ;;
  "node inspect") [ "$3" = --format ] && echo worker ;;
  "node ps") ;;
  "node update"|"node rm")
    n=$(($(cat ${count}) + 1)); echo $n >${count}
    if [ $n -le ${failures} ]; then echo "Error response from daemon: ${error}" >&2; exit 1; fi ;;
esac
exit 0`,
      );
      const r = spawnSync("bash", ["-c", scriptText("drain"), "flotilla-drain", "worker-node-id"], {
        encoding: "utf8",
        env: { PATH: `${dir}:/usr/bin:/bin`, SWARM_BUSY_RETRY_SECONDS: "0" },
        timeout: 60_000,
      });
      const lines = readFileSync(calls, "utf8").trim().split("\n");
      return { status: r.status, stderr: r.stderr, writes: lines.filter((l) => /^node (update|rm)/.test(l)) };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it("retries a node write that lost the race, then drains and removes the node", () => {
    const r = drainWith(2, "rpc error: code = Unknown desc = update out of sequence");
    expect(r.status, r.stderr).toBe(0);
    expect(r.writes).toEqual([
      "node update --availability drain worker-node-id",
      "node update --availability drain worker-node-id",
      "node update --availability drain worker-node-id",
      "node rm --force worker-node-id",
    ]);
    expect(r.stderr).toMatch(
      /the node changed during 'docker node update --availability drain worker-node-id' \(attempt 2\): retrying/,
    );
    expect(r.stderr).toContain("node worker-node-id removed from the Swarm");
  });

  // A clean-clone CI (3265 s, after stop 31) failed its lab teardown on this refusal, a leader stepping down
  // while a rejoined manager caught up.
  it("waits out a Swarm electing a leader ('raft proposal dropped'), then removes the node", () => {
    const r = drainWith(2, "rpc error: code = Unknown desc = raft proposal dropped");
    expect(r.status, r.stderr).toBe(0);
    expect(r.writes).toHaveLength(4);
    expect(r.writes.at(-1)).toBe("node rm --force worker-node-id");
    expect(r.stderr).toMatch(
      /the Swarm is busy or electing a leader during 'docker node update .*' \(attempt 2\): retrying/,
    );
  });

  it("fails at once on any other error, with the daemon's message", () => {
    const r = drainWith(1, "node worker-node-id is not found");
    expect(r.status).not.toBe(0);
    expect(r.writes).toEqual(["node update --availability drain worker-node-id"]);
    expect(r.stderr).toContain("Error response from daemon: node worker-node-id is not found");
  });
});
