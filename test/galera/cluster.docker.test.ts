// A three-member MariaDB Galera cluster on the local one-node Swarm, deployed with the
// same rendered stacks and deploy script as `pulumi up` (consul, mysql with
// mysql.nodes = 3, webapp ×2, haproxy), under steady load through HAProxy: 50 req/s of
// GET / (each a new session row) plus a play-once client (POST /play, ~8/s, unique
// customers) whose every 201 must be a row on every member afterwards. Faults: kill -9
// of mariadbd in the writer, kill of the writer's whole container, `docker service
// update --force` of the writer, the writer cut off its network and healed (it must
// refuse writes while in the minority), and every member stopped and started again
// (recovers without a command, loses no committed row). Then a backup, and its restore
// into a fresh three-member cluster. Figures: printed and written to
// test/artifacts/galera.json.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { parseConfig } from "../../components/config";
import { mysqlHosts, PORTS, type StackName } from "../../components/stacks";
import { Client, type E2eEnv, startLoad, until } from "../e2e/lib";
import { webappMetrics } from "../images/webappSupport";
import { writeArtifact, writeJsonArtifact } from "../support/artifacts";
import { deploy, publishedPort, randomSecrets, removeStacks } from "../support/deploy";
import { describeWithDocker } from "../support/docker";
import { stackImages } from "../support/images";
import { ok, run } from "../support/process";
import { stackConfig } from "../support/pulumi";
import { seconds, sleep } from "../support/time";

const PREFIX = "glr";
const VERSION = "0.1.0";
const ORDER: StackName[] = ["consul", "mysql", "webapp", "haproxy"];
const MEMBERS = 3;

interface FaultRow {
  fault: string;
  sent: number;
  failed: number;
  playsCreated: number;
  playsFailed: number;
  rowsBefore: number;
  rowsAfter: number[];
  lostRows: number;
  recoverySeconds: number;
  note: string;
  /** Why the webapp answered 500, from its logs ("request failed: …" lines, counted). */
  webappErrors: Record<string, number>;
}
const figures: { faults: FaultRow[]; [k: string]: unknown } = { faults: [] };

describeWithDocker("Galera: three members under load on a one-node Swarm", () => {
  const dataDir = mkdtempSync("/tmp/glr-mysql-");
  const env: E2eEnv = {
    prefix: PREFIX,
    config: parseConfig(
      stackConfig("dev", {
        "flotilla:mysql": { dataPath: dataDir, nodes: MEMBERS, backupIntervalMinutes: 0 },
        "flotilla:consul": { servers: 1 },
        // Plain HTTP load (TLS is the edge suite's): no redirect.
        "flotilla:haproxy": { redirectHttp: false },
        "flotilla:webapp": { replicas: 2 },
      }),
    ).config,
    images: stackImages(),
    secrets: randomSecrets(),
  };
  const services = mysqlHosts(PREFIX, env.config);
  const backupVolume = `${PREFIX}-mysql_mysql-backups`;
  const restoreNet = `${PREFIX}-restore`;
  let base = "";

  const container = async (i: number): Promise<string> => {
    const out = await ok("docker", [
      "ps",
      "-q",
      "--filter",
      `label=com.docker.swarm.service.name=${services[i - 1]}`,
    ]);
    const id = out.split("\n").find(Boolean);
    if (!id) throw new Error(`no running container of member ${i}`);
    return id;
  };
  /** SQL as root over the member's socket (no password: unix_socket). */
  const sql = async (target: string, query: string) =>
    run("docker", ["exec", target, "mariadb", "-N", "-B", "-e", query], { timeoutMs: 15_000 });
  const report = async (target: string) =>
    (await run("docker", ["exec", target, "/usr/lib/flotilla/galera-report"], { timeoutMs: 10_000 })).stdout;
  const synced = async (i: number) => (await report(await container(i))) === "running Primary 4 ON 1";
  const allSynced = async () => {
    for (let i = 1; i <= MEMBERS; i++) if (!(await synced(i))) return false;
    return true;
  };
  /**
   * Each member's report and last log lines: what a stuck recovery leaves to read. They go
   * into the error itself, so CI's failure summary (all a reader of a remote run may get)
   * carries them; the whole logs go to test/artifacts/galera-members.log.
   */
  const describeMembers = async () => {
    const parts: string[] = [];
    const full: string[] = [];
    for (let i = 1; i <= MEMBERS; i++) {
      const c = await container(i).catch(() => "");
      if (!c) {
        parts.push(`member ${i}: no running container`);
        continue;
      }
      const logs = await run("docker", ["logs", c], { timeoutMs: 20_000 });
      const lines = `${logs.stdout}\n${logs.stderr}`.split("\n").filter((l) => l.trim());
      full.push(`==== member ${i} (${c})`, ...lines);
      const galera = lines.filter((l) =>
        /galera|WSREP: (Shifting|New cluster view|Quorum results|Restored state|Member)/.test(l),
      );
      parts.push(
        `member ${i} (${c}) reports "${await report(c)}"; its last galera lines:\n    ${galera.slice(-12).join("\n    ")}`,
      );
    }
    writeArtifact("galera-members.log", full.join("\n"));
    return parts.join("\n");
  };
  const playCount = async (target: string) => {
    const r = await sql(target, "SELECT COUNT(*) FROM flotilla.plays");
    if (r.code !== 0) throw new Error(`count on ${target}: ${r.stderr}`);
    return Number(r.stdout);
  };

  /**
   * A single member's fault: the design's goal is no failed request (the writer moves
   * within a second and the webapp retries); what must hold on any machine is that no
   * committed row is lost. On a loaded two-core runner a request caught on the dying
   * writer can outlast the retries: at most 1 % may fail, and the figure is printed.
   */
  const expectSingleFaultInvisible = (row: FaultRow) => {
    expect(row.lostRows).toBe(0);
    expect(row.failed).toBeLessThanOrEqual(Math.ceil(row.sent * 0.01));
  };

  /** Sequential plays with unique customers until stopped: every 201 is a committed row. */
  const startPlays = (tag: string) => {
    const client = new Client(base);
    const created: string[] = [];
    let failed = 0;
    let stop = false;
    const done = (async () => {
      for (let n = 0; !stop; n++) {
        const customer = `${tag}-${n}`;
        const t = Date.now();
        try {
          const r = await client.request("/play", {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ customer }),
          });
          if (r.status === 201) created.push(customer);
          else failed++;
        } catch {
          failed++;
        }
        await sleep(Math.max(0, 120 - (Date.now() - t)));
      }
    })();
    return {
      stop: async () => {
        stop = true;
        await done;
        return { created, failed };
      },
    };
  };

  /**
   * One fault under load: 3 s of steady load, the fault, load until every member is
   * Synced again (recovery), 3 s more; then every member must hold every 201'd play.
   */
  const underLoad = async (fault: string, action: () => Promise<string | undefined>) => {
    const any = await container(2);
    const rowsBefore = await playCount(any);
    const since = new Date().toISOString();
    const load = startLoad(base, 50);
    // Unique per row: a repeated row (FLOTILLA_GALERA_REPEAT) must not replay its customers.
    const plays = startPlays(`${fault.replace(/[^a-z0-9]+/gi, "-").slice(0, 32)}-${figures.faults.length}`);
    await sleep(3000);
    const start = Date.now();
    const note = (await action()) ?? "";
    await until("every member Synced again", allSynced, 240_000, 500).catch(async (e) => {
      throw new Error(`${(e as Error).message}\n${await describeMembers()}`);
    });
    const recovery = Date.now() - start;
    await sleep(3000);
    const stats = await load.stop();
    const p = await plays.stop();
    const rowsAfter: number[] = [];
    let lost = 0;
    for (let i = 1; i <= MEMBERS; i++) {
      const c = await container(i);
      rowsAfter.push(await playCount(c));
      if (p.created.length) {
        const list = p.created.map((c) => `'${c}'`).join(",");
        const r = await sql(c, `SELECT COUNT(*) FROM flotilla.plays WHERE customer IN (${list})`);
        lost = Math.max(lost, p.created.length - Number(r.stdout));
      }
    }
    const webappErrors: Record<string, number> = {};
    const webapps = await ok("docker", [
      "ps",
      "-q",
      "--filter",
      `label=com.docker.swarm.service.name=${PREFIX}-webapp_webapp`,
    ]);
    for (const w of webapps.split("\n").filter(Boolean)) {
      const logs = await run("docker", ["logs", "--since", since, w], { timeoutMs: 20_000 });
      for (const m of `${logs.stdout}\n${logs.stderr}`.matchAll(/request failed: (.*)$/gm))
        webappErrors[m[1]] = (webappErrors[m[1]] ?? 0) + 1;
    }
    const row: FaultRow = {
      fault,
      sent: stats.sent + p.created.length + p.failed,
      failed: stats.failed + p.failed,
      playsCreated: p.created.length,
      playsFailed: p.failed,
      rowsBefore,
      rowsAfter,
      lostRows: lost,
      recoverySeconds: seconds(recovery),
      note,
      webappErrors,
    };
    figures.faults.push(row);
    console.log(
      `\n${fault}\n  sent ${row.sent} (GET / ${stats.sent}, plays ${p.created.length + p.failed})  failed ${row.failed} (plays ${p.failed})  p99 ${stats.p99} ms\n  plays rows ${rowsBefore} -> ${rowsAfter.join("/")} (members 1/2/3), lost ${lost}; all Synced ${row.recoverySeconds} s after the fault ${note}\n  webapp errors: ${JSON.stringify(webappErrors)}`,
    );
    // Every acknowledged play is on every member (once: the customer is the primary
    // key), and every member holds the same rows. A play whose answer failed may have
    // committed all the same (its outcome is unknown to that client, as with any
    // database): at most the failed ones come on top.
    expect(lost).toBe(0);
    expect(new Set(rowsAfter).size).toBe(1);
    expect(rowsAfter[0]).toBeGreaterThanOrEqual(rowsBefore + p.created.length);
    expect(rowsAfter[0]).toBeLessThanOrEqual(rowsBefore + p.created.length + p.failed);
    return row;
  };

  beforeAll(async () => {
    await ok(
      "bash",
      [
        "images/build.sh",
        "--version",
        VERSION,
        ...["s6-base", "consul", "mysql", "webapp", "haproxy"].flatMap((n) => ["--only", n]),
      ],
      { timeoutMs: 900_000 },
    );
    await ok("bash", ["scripts/host/local-swarm.sh"]);
    await removeStacks(env, ORDER);
    await run("docker", ["volume", "rm", backupVolume]);
    for (let i = 1; i <= MEMBERS; i++) mkdirSync(path.join(dataDir, String(i)), { recursive: true });
    const start = Date.now();
    for (const stack of ORDER) await deploy(env, stack);
    base = `http://127.0.0.1:${await publishedPort(env, PORTS.haproxyHttp)}`;
    // Deadlines for a machine shared with the lab's bring-up (load average near 100 on two
    // cores once: the members took over 240 s to sync); the figure printed is the measure.
    await until("first 200 through HAProxy", async () => (await fetch(`${base}/`)).ok, 300_000);
    await until("every member Synced", allSynced, 600_000, 1000);
    figures.coldDeploySeconds = seconds(Date.now() - start);
    console.log(`cold deploy (consul, 3 Galera members, webapp ×2, haproxy): ${figures.coldDeploySeconds} s`);
  }, 1_200_000);

  afterAll(async () => {
    writeJsonArtifact("galera.json", figures);
    const md = [
      "| fault | sent | failed | plays rows before → after (each member) | lost | all Synced after |",
      "| --- | ---: | ---: | --- | ---: | ---: |",
      ...figures.faults.map(
        (r) =>
          `| ${r.fault} | ${r.sent} | ${r.failed} | ${r.rowsBefore} → ${r.rowsAfter.join("/")} | ${r.lostRows} | ${r.recoverySeconds} s |`,
      ),
    ].join("\n");
    console.log(`\n${md}\n${JSON.stringify({ ...figures, faults: undefined })}`);
    for (let i = 1; i <= MEMBERS; i++) await run("docker", ["rm", "-f", `${PREFIX}-restore-${i}`]);
    await run("docker", ["network", "rm", restoreNet]);
    await removeStacks(env, ORDER);
    // The backup volume and the Consul server's data volume are this suite's (its prefix).
    const volumes = await run("docker", ["volume", "ls", "-q", "--filter", `name=^${PREFIX}-`]);
    for (const v of volumes.stdout.split("\n").filter((v) => v.startsWith(`${PREFIX}-`)))
      await run("docker", ["volume", "rm", v]);
    // Data directories hold files owned by the container's mysql user.
    rmSync(dataDir, { recursive: true, force: true });
  }, 300_000);

  it("the webapp's metrics show every member and one writer, the first Synced member", async () => {
    // The metrics port (9100) is on the replicas only: HAProxy never routes it.
    const [replica] = (
      await ok("docker", [
        "ps",
        "-q",
        "--filter",
        `label=com.docker.swarm.service.name=${PREFIX}-webapp_webapp`,
      ])
    )
      .split("\n")
      .filter(Boolean);
    // The metrics are live probes: a member Synced a moment ago shows usable within a second.
    const usableLine = (s: string) =>
      `flotilla_db_member_usable{member="${s}",cluster="Primary",state="Synced"} 1`;
    let text = "";
    await until(
      "every member usable in the webapp's metrics",
      async () => {
        text = await webappMetrics(replica);
        return services.every((s) => text.includes(usableLine(s)));
      },
      10_000,
      500,
    );
    for (const s of services) expect(text).toContain(usableLine(s));
    expect(text).toContain(
      `flotilla_db_member_writer{member="${services[0]}",cluster="Primary",state="Synced"} 1`,
    );
    expect(text.match(/flotilla_db_member_writer\{[^}]*\} 1/g)).toHaveLength(1);
  });

  it("kill -9 of mariadbd in the writer (s6 restarts it; IST): no lost row, at most 1 % of requests failed (goal: none)", async () => {
    const row = await underLoad("kill -9 mariadbd in member 1 (the writer)", async () => {
      await ok("docker", ["exec", await container(1), "sh", "-c", "kill -9 $(pidof mariadbd)"]);
      return undefined;
    });
    expectSingleFaultInvisible(row);
  }, 300_000);

  it("kill of the writer's whole container (Swarm starts a new one; IST): no lost row, at most 1 % of requests failed (goal: none)", async () => {
    const row = await underLoad("docker kill member 1's container", async () => {
      const old = await container(1);
      await ok("docker", ["kill", old]);
      await until(
        "a new member-1 container",
        async () => (await container(1).catch(() => old)) !== old,
        60_000,
      );
      return undefined;
    });
    expectSingleFaultInvisible(row);
  }, 300_000);

  it("a release rolls the members one at a time (the deploy's rolling phases, each member's leave), some member always serving; no lost row, at most 1 % of requests failed (goal: none)", async () => {
    let mostOut = 0;
    let mostRolling = 0;
    const leaves: string[] = [];
    let phases: string[] = [];
    const row = await underLoad("a release: every member's spec changed, deployed", async () => {
      const old = await Promise.all([1, 2, 3].map((i) => container(i)));
      // How many members do not serve (no Synced report: stopping, stopped, starting,
      // joining or desynced), sampled every 2 s while the members roll (each member is out
      // for 10 s or more).
      let sampling = true;
      const t = Date.now();
      const timeline: string[] = [];
      const sampler = (async () => {
        let last = "";
        while (sampling) {
          const out: string[] = [];
          for (let i = 1; i <= MEMBERS; i++) {
            const c = await container(i).catch(() => "");
            const r = c ? (await report(c).catch(() => "")).trim() : "no container";
            if (!r.startsWith("running Primary 4 ON 1")) out.push(`${i}: ${r || "no answer"}`);
          }
          mostOut = Math.max(mostOut, out.length);
          // Rolling: stopping, stopped, starting or joining; a state-transfer donor (Donor/
          // Desynced, state 2, while a rejoining member catches up) is not.
          mostRolling = Math.max(
            mostRolling,
            out.filter((o) => !/^\d: running Primary 2 ON 1$/.test(o)).length,
          );
          const now = out.join(", ") || "none";
          if (now !== last) timeline.push(`${seconds(Date.now() - t)} s out: ${now}`);
          last = now;
          // Every 2 s: three docker execs a round are a load of their own on a busy runner.
          await sleep(2000);
        }
      })();
      let output = "";
      try {
        // What a release changes for every member (an image, an option): the task spec.
        output = await deploy(env, "mysql", {
          edit: (doc) => {
            for (const s of Object.values(doc.services))
              s.environment = { ...s.environment, FLOTILLA_TEST_RELEASE: String(t) };
          },
        });
        await until("every member Synced", allSynced, 120_000, 1000);
      } finally {
        sampling = false;
        await sampler;
      }
      phases = [...output.matchAll(/^stack-deploy: rolling (\S+) \(phase/gm)].map((m) => m[1]);
      for (const [i, c] of old.entries()) {
        const logs = await run("docker", ["logs", c], { timeoutMs: 20_000 });
        for (const m of `${logs.stdout}\n${logs.stderr}`.matchAll(
          /^\[pre-stop\] galera: (leaving after .*)$/gm,
        ))
          leaves.push(`member ${i + 1}: ${m[1]}`);
      }
      console.log(
        `  deploy: ${seconds(Date.now() - t)} s, phases ${phases.join(", ")}\n  out of service:\n    ${timeline.join("\n    ")}\n  leaves:\n    ${leaves.join("\n    ")}\n  most members out of service at once: ${mostOut}`,
      );
      return `(deploy ${seconds(Date.now() - t)} s; members rolling at once: at most ${mostRolling}; out of service with the state-transfer donor: at most ${mostOut})`;
    });
    expectSingleFaultInvisible(row);
    expect(phases).toEqual(["mysql-1", "mysql-2"]);
    // One member rolls at a time; some member always served.
    expect(mostRolling).toBe(1);
    expect(mostOut).toBeLessThan(MEMBERS);
    expect(leaves).toHaveLength(MEMBERS);
  }, 900_000);

  it("the writer cut off its network refuses writes in the minority, then rejoins by itself", async () => {
    let refused = "";
    const row = await underLoad("member 1 cut off the network, healed after 20 s", async () => {
      const c = await container(1);
      const pid = await ok("docker", ["inspect", "-f", "{{.State.Pid}}", c]);
      const ipt = (args: string[]) => ok("nsenter", ["-t", pid, "-n", "iptables", ...args]);
      await ipt(["-I", "INPUT", "!", "-i", "lo", "-j", "DROP"]);
      await ipt(["-I", "OUTPUT", "!", "-o", "lo", "-j", "DROP"]);
      const cut = Date.now();
      await until(
        "member 1 non-Primary",
        async () => (await report(c)).startsWith("running non-Primary"),
        60_000,
        500,
      );
      const minority = Date.now() - cut;
      const w = await sql(
        c,
        "INSERT INTO flotilla.plays (customer, result, served_by) VALUES ('minority-write', 'win', 'test')",
      );
      refused = w.code === 0 ? "ACCEPTED" : w.stderr;
      await sleep(Math.max(0, 20_000 - (Date.now() - cut)));
      await ipt(["-D", "INPUT", "!", "-i", "lo", "-j", "DROP"]);
      await ipt(["-D", "OUTPUT", "!", "-o", "lo", "-j", "DROP"]);
      return `(non-Primary ${seconds(minority)} s after the cut; a write there: ${refused.match(/ERROR.*/)?.[0] ?? refused})`;
    });
    expect(refused).toMatch(/WSREP has not yet prepared node for application use|1047/);
    expectSingleFaultInvisible(row);
    const count = await sql(
      await container(2),
      "SELECT COUNT(*) FROM flotilla.plays WHERE customer = 'minority-write'",
    );
    expect(count.stdout).toBe("0");
  }, 300_000);

  it("every member stopped and started again: back by itself from the most advanced, no committed row lost", async () => {
    const row = await underLoad("all members stopped (scale 0), started again", async () => {
      const stopped = Date.now();
      await ok("docker", ["service", "scale", "--detach", ...services.map((s) => `${s}=0`)]);
      await until(
        "no member running",
        async () => {
          for (let i = 1; i <= MEMBERS; i++) if (await container(i).catch(() => "")) return false;
          return true;
        },
        120_000,
        500,
      );
      const down = Date.now() - stopped;
      await ok("docker", ["service", "scale", "--detach", ...services.map((s) => `${s}=1`)]);
      return `(all down after ${seconds(down)} s, then started; no command)`;
    });
    // The cluster is down for a while: requests then fail, and that is counted, not hidden.
    expect(row.lostRows).toBe(0);
    const logs = await run("docker", ["logs", await container(1)], { timeoutMs: 20_000 });
    console.log(
      [
        ...`${logs.stdout}\n${logs.stderr}`.matchAll(
          /^\[mysql\] galera: (all .*bootstrapping|.*joining it)$/gm,
        ),
      ]
        .map((m) => `  member 1: ${m[1]}`)
        .slice(-2)
        .join("\n"),
    );
  }, 400_000);

  /** Kill members 1 and 2 at once (after `before`), and wait for Swarm's new containers. */
  const killTwo = async (before: (old: string[]) => Promise<void> = async () => {}) => {
    const old = [await container(1), await container(2)];
    await before(old);
    await ok("docker", ["kill", ...old]);
    await until(
      "new member-1 and member-2 containers",
      async () =>
        (await container(1).catch(() => old[0])) !== old[0] &&
        (await container(2).catch(() => old[1])) !== old[1],
      120_000,
    );
  };
  /** The survivor's galera-heal decision, or the step that ended an orphaned join, since `since`. */
  const healLines = async (since: string) => {
    const lines: string[] = [];
    for (let i = 1; i <= MEMBERS; i++) {
      const logs = await run("docker", ["logs", "--since", since, await container(i)], { timeoutMs: 20_000 });
      for (const m of `${logs.stdout}\n${logs.stderr}`.matchAll(
        /galera: (non-Primary, (every other member stopped.*making its component primary|member \d \(stopped\) is more advanced.*)|joining, but no member has run a primary component.*|the server (ignored SIGTERM|stopped \d+ s after SIGTERM).*)$/gm,
      ))
        lines.push(`member ${i}: ${m[1]}`);
    }
    return lines;
  };

  // FLOTILLA_GALERA_REPEAT=N runs this row N times on the same cluster (a soak: which
  // healing path is taken is a race, and a rare one failed in CI).
  const repeat = Number(process.env.FLOTILLA_GALERA_REPEAT ?? 1);
  for (let k = 1; k <= repeat; k++)
    it(`two members killed at once${repeat > 1 ? ` (${k} of ${repeat})` : ""}: back by itself once they return, no committed row lost`, async () => {
      const since = new Date().toISOString();
      const row = await underLoad(
        "docker kill members 1 and 2 at once (the writer and one more)",
        async () => {
          await killTwo();
          return "(Swarm starts both again; no command)";
        },
      );
      expect(row.lostRows).toBe(0);
      // Three paths heal it, and which one is taken is a race: Galera's own pc.recovery (the
      // two come back before the survivor noticed and re-form the last primary view),
      // galera-heal on the survivor (they come back waiting for a survivor already
      // non-Primary), or a returning member that started joining the survivor just before it
      // dropped to non-Primary: its join stops after 30 s with no primary anywhere, then the
      // survivor decides. The CI of stop 31 took that third path before the rule existed and
      // never healed (240 s). The goal is the row's: no operator, every member Synced, no row lost.
      const lines = await healLines(since);
      console.log(
        `  ${lines.join("\n  ") || "no galera-heal decision needed: the component re-formed by pc.recovery"}`,
      );
    }, 400_000);

  it("two members frozen until the survivor is non-Primary, then killed: the survivor decides, no committed row lost", async () => {
    const survivor = await container(3);
    const since = new Date().toISOString();
    const row = await underLoad(
      "docker pause, then kill, members 1 and 2 (the survivor non-Primary first)",
      async () => {
        // On an idle machine Swarm restarts a killed member before the survivor notices it
        // gone; frozen first, the case of a running non-Primary member is always the one tried.
        await killTwo(async (old) => {
          await ok("docker", ["pause", ...old]);
          await until(
            "the survivor non-Primary",
            async () => (await report(survivor)).startsWith("running non-Primary"),
            60_000,
            500,
          );
        });
        return "(frozen until the survivor was non-Primary, then killed; Swarm starts both again; no command)";
      },
    );
    expect(row.lostRows).toBe(0);
    // The two come back "waiting" for a survivor that runs non-Primary: only galera-heal
    // on the survivor (its rule: galera.test.ts) decides, with no operator.
    const lines = await healLines(since);
    expect(lines.join("\n")).toMatch(/^member 3: non-Primary, /m);
    console.log(`  ${lines.join("\n  ")}`);
  }, 400_000);

  it("every member frozen, two killed without their saved view, the survivor thawed: back by itself whichever member acts, no committed row lost", async () => {
    const survivor = await container(3);
    const since = new Date().toISOString();
    const row = await underLoad(
      "freeze all three, kill members 1 and 2 (saved view gone), thaw member 3",
      async () => {
        // Thawed, the survivor still answers "running Primary" for the moment Galera takes
        // to evict the two, and a returning member that asks then starts joining; without
        // its saved view (gvwstate.dat) it joins as a new node, so the component it reaches
        // is non-Primary: the join the CI of stop 31 never left (galera-heal's orphaned
        // join rule ends it). If the survivor drops first, the two wait and it decides.
        await killTwo(async (old) => {
          await ok("docker", ["pause", survivor, ...old]);
          for (const i of [1, 2]) rmSync(path.join(dataDir, String(i), "gvwstate.dat"), { force: true });
        });
        await ok("docker", ["unpause", survivor]);
        return "(all frozen, two killed and restarted, the survivor thawed; no command)";
      },
    );
    expect(row.lostRows).toBe(0);
    const lines = await healLines(since);
    console.log(
      `  ${lines.join("\n  ") || "no galera-heal decision needed: the component re-formed by pc.recovery"}`,
    );
  }, 400_000);

  it("a backup now, restored into a fresh three-member cluster, holds every row; two volumes lost need one command", async () => {
    const writer = await container(3);
    // A database of a stated size: the session and play rows, plus 16 MiB of filler.
    await ok("docker", [
      "exec",
      writer,
      "mariadb",
      "-e",
      "USE flotilla; CREATE TABLE IF NOT EXISTS flotilla.filler (id INT AUTO_INCREMENT PRIMARY KEY, pad VARCHAR(1000)) ENGINE=InnoDB; INSERT INTO flotilla.filler (pad) SELECT REPEAT('x', 1000) FROM seq_1_to_16384;",
    ]);
    // Fresh InnoDB statistics, or information_schema reports a stale size.
    await sql(writer, "ANALYZE TABLE flotilla.filler, flotilla.sessions, flotilla.plays");
    const size = await sql(
      writer,
      "SELECT ROUND(SUM(data_length + index_length) / 1048576, 1) FROM information_schema.TABLES WHERE table_schema = 'flotilla'",
    );
    const rows = await playCount(writer);
    const t0 = Date.now();
    const backup = await ok("docker", ["exec", writer, "/usr/lib/flotilla/mysql-backup-now"], {
      timeoutMs: 300_000,
    });
    const backupMs = Date.now() - t0;
    console.log(`${backup} (database ${size.stdout} MiB, ${rows} plays)`);

    // A fresh cluster: three empty data directories; the backup restored into member 1's.
    const fresh = mkdtempSync("/tmp/glr-restore-");
    await run("docker", ["network", "create", "--label", "flotilla.test=1", restoreNet]);
    const secretsDir = path.join(fresh, "secrets");
    mkdirSync(secretsDir);
    writeFileSync(path.join(secretsDir, "mysql_root_password"), env.secrets.mysqlRootPassword, {
      mode: 0o600,
    });
    writeFileSync(path.join(secretsDir, "mysql_password"), env.secrets.mysqlPassword, { mode: 0o600 });
    for (let i = 1; i <= MEMBERS; i++) mkdirSync(path.join(fresh, String(i)));
    const t1 = Date.now();
    const restore = await ok(
      "docker",
      [
        "run",
        "--rm",
        "--label",
        "flotilla.test=1",
        "-v",
        `${path.join(fresh, "1")}:/var/lib/mysql`,
        "-v",
        `${backupVolume}:/var/backups/mysql:ro`,
        // The tool alone, not the image's s6 init (which would start a server).
        "--entrypoint",
        "/usr/lib/flotilla/mysql-restore",
        env.images.mysql,
        "latest",
      ],
      { timeoutMs: 300_000 },
    );
    const restoreMs = Date.now() - t1;
    const names = [1, 2, 3].map((i) => `${PREFIX}-restore-${i}`);
    for (let i = 1; i <= MEMBERS; i++) {
      await ok("docker", [
        "run",
        "-d",
        "--name",
        names[i - 1],
        "--label",
        "flotilla.test=1",
        "--network",
        restoreNet,
        "-e",
        "MYSQL_DATABASE=flotilla",
        "-e",
        "MYSQL_USER=flotilla",
        "-e",
        `GALERA_MEMBERS=${names.join(",")}`,
        "-e",
        `GALERA_INDEX=${i}`,
        "-v",
        `${secretsDir}:/run/secrets:ro`,
        "-v",
        `${path.join(fresh, String(i))}:/var/lib/mysql`,
        env.images.mysql,
      ]);
    }
    await until(
      "the restored cluster Synced",
      async () => {
        for (const n of names) if ((await report(n)) !== "running Primary 4 ON 1") return false;
        return true;
      },
      300_000,
      1000,
    );
    const clusterMs = Date.now() - t1;
    const fillerCount = async (target: string) =>
      Number((await sql(target, "SELECT COUNT(*) FROM flotilla.filler")).stdout);
    const filler = await fillerCount(writer);
    for (const n of names) {
      expect(await playCount(n)).toBe(rows);
      expect(await fillerCount(n)).toBe(filler);
    }
    figures.backup = {
      databaseMiB: Number(size.stdout),
      plays: rows,
      backupSeconds: seconds(backupMs),
      backupLine: backup,
      restoreSeconds: seconds(restoreMs),
      restoredClusterSyncedSeconds: seconds(clusterMs),
    };
    console.log(
      `${restore}\nrestore of a ${size.stdout} MiB database: backup ${seconds(backupMs)} s, copy-back ${seconds(restoreMs)} s, fresh 3-member cluster Synced with every row ${seconds(clusterMs)} s after the restore began`,
    );

    // What needs a person (docs/galera.md): two of three members' volumes lost for good.
    // The survivor waits (a majority is missing, it may not be the most advanced) until
    // an operator runs galera-force-bootstrap; new empty members then join it by SST.
    await ok("docker", ["stop", ...names], { timeoutMs: 180_000 });
    for (const i of [2, 3]) {
      rmSync(path.join(fresh, String(i)), { recursive: true, force: true });
      mkdirSync(path.join(fresh, String(i)));
    }
    await ok("docker", ["start", names[0]]);
    await until(
      "the survivor waiting",
      async () => (await report(names[0])).startsWith("waiting "),
      120_000,
      500,
    );
    await sleep(5000);
    const stillWaiting = await report(names[0]);
    expect(stillWaiting, "a lone member must not bootstrap by itself").toMatch(/^waiting /);
    const t2 = Date.now();
    const forced = await ok("docker", ["exec", names[0], "/usr/lib/flotilla/galera-force-bootstrap"]);
    await until(
      "the survivor primary",
      async () => (await report(names[0])) === "running Primary 4 ON 1",
      120_000,
      500,
    );
    const forcedMs = Date.now() - t2;
    await ok("docker", ["start", names[1], names[2]]);
    await until(
      "new members joined the forced primary",
      async () => {
        for (const n of names) if ((await report(n)) !== "running Primary 4 ON 1") return false;
        return true;
      },
      300_000,
      1000,
    );
    const rejoinedMs = Date.now() - t2;
    for (const n of names) {
      expect(await playCount(n)).toBe(rows);
      expect(await fillerCount(n)).toBe(filler);
    }
    figures.forceBootstrap = { primarySeconds: seconds(forcedMs), allSyncedSeconds: seconds(rejoinedMs) };
    console.log(
      `two volumes lost: the survivor waited (${stillWaiting}); galera-force-bootstrap ("${forced}") -> primary in ${seconds(forcedMs)} s, two new empty members Synced with every row ${seconds(rejoinedMs)} s after the command`,
    );
    for (const n of names) await run("docker", ["rm", "-f", n]);
    await run("docker", ["network", "rm", restoreNet]);
    rmSync(fresh, { recursive: true, force: true });
  }, 900_000);
});
