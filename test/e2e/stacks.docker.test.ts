// End to end, on a real one-node Swarm (this machine's engine): the same rendered
// stacks and the same deploy script as `pulumi up`, under steady load through HAProxy,
// through a cold deploy, scaling, a killed replica, a rolling update, a MySQL restart
// and a killed Consul server; then a screenshot of the stats page in headless Chromium.
// Figures: printed, and written to test/artifacts/e2e-results.{json,md}.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { parseConfig } from "../../components/config";
import { PORTS, type StackName, serviceName } from "../../components/stacks";
import type { BenchResult } from "../../tools/bench/report";
import { writeArtifact, writeJsonArtifact } from "../support/artifacts";
import { containers, deploy, publishedPort, randomSecrets, removeStacks } from "../support/deploy";
import { describeWithDocker } from "../support/docker";
import { basicAuth, certificateOf, request } from "../support/https";
import { stackImages } from "../support/images";
import { ok, run } from "../support/process";
import { stackConfig } from "../support/pulumi";
import { Client, type E2eEnv, type LoadStats, removeVolumesNamed, startLoad, until } from "./lib";

const PREFIX = "flotilla-e2e";
const VERSION = "0.1.0";
const NEXT_TAG = "0.1.1-e2e";
const ORDER: StackName[] = ["consul", "mysql", "webapp", "haproxy"];

interface Row {
  scenario: string;
  load: LoadStats;
  figure: string;
}
const rows: Row[] = [];

function report(scenario: string, raw: LoadStats, figure: string) {
  const load = { ...raw, p50: ms1(raw.p50), p95: ms1(raw.p95), p99: ms1(raw.p99), seconds: ms1(raw.seconds) };
  rows.push({ scenario, load, figure });
  console.log(
    `\n${scenario}\n  sent ${load.sent}  failed ${load.failed}  p50 ${load.p50} ms  p95 ${load.p95} ms  p99 ${load.p99} ms  (${load.seconds.toFixed(1)} s)\n  ${figure}`,
  );
}

function writeResults() {
  writeJsonArtifact("e2e-results.json", rows);
  const md = [
    "| scenario | sent | failed | p50 ms | p95 ms | p99 ms | figure |",
    "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ...rows.map(
      (r) =>
        `| ${r.scenario} | ${r.load.sent} | ${r.load.failed} | ${r.load.p50} | ${r.load.p95} | ${r.load.p99} | ${r.figure} |`,
    ),
  ].join("\n");
  writeArtifact("e2e-results.md", md);
  console.log(`\n${md}\n`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ms1 = (v: number) => Math.round(v * 10) / 10;

/** "running/desired" of a stack's service, as `docker service ls` shows it. */
async function serviceReplicas(stack: StackName): Promise<string> {
  return ok("docker", [
    "service",
    "ls",
    "--filter",
    `name=${serviceName(PREFIX, stack)}`,
    "--format",
    "{{.Replicas}}",
  ]);
}

/** The Consul servers' data volumes (one per task slot; Swarm never removes named volumes). */
async function removeConsulVolumes() {
  await removeVolumesNamed(`${PREFIX}-consul-data-`, 60_000).catch(() => 0);
}

describeWithDocker("five stacks on a one-node Swarm, under load", () => {
  const dataDir = mkdtempSync("/tmp/flotilla-e2e-mysql-");
  const secrets = randomSecrets();
  const devConfig = (overrides: Record<string, unknown>) =>
    parseConfig(
      stackConfig("dev", {
        "flotilla:mysql": { dataPath: dataDir },
        // Scenario 7 needs a quorum to lose a member from: three servers from the start.
        "flotilla:consul": { servers: 3 },
        // The load and the session client speak plain HTTP here; HTTPS, the redirect and
        // the certificate are the edge suite's (test/images/haproxy.docker.test.ts), the
        // demo's and the lab's, which go through TLS.
        "flotilla:haproxy": { redirectHttp: false },
        ...overrides,
      }),
    ).config;
  const env: E2eEnv = {
    prefix: PREFIX,
    config: devConfig({}),
    images: stackImages(),
    secrets,
  };
  let base = "";
  let statsUrl = "";

  beforeAll(async () => {
    // Images (Docker's cache makes this quick when they exist), and the one-node Swarm.
    await ok("bash", ["images/build.sh", "--version", VERSION], { timeoutMs: 900_000 });
    await ok("bash", ["scripts/host/local-swarm.sh"]);
    // A stale run's stacks would skew the cold-deploy figure.
    await removeStacks(env, ORDER);
    await removeConsulVolumes();
    // The "new version" for the rolling update: the same image with another version label.
    await ok(
      "docker",
      ["build", "-q", "--label", "flotilla.test=1", "-t", `flotilla/webapp:${NEXT_TAG}`, "-"],
      {
        input: `FROM flotilla/webapp:${VERSION}\nENV FLOTILLA_VERSION=${NEXT_TAG}\n`,
      },
    );
  }, 900_000);

  afterAll(async () => {
    writeResults();
    await removeStacks(env, ORDER);
    await removeConsulVolumes();
    await run("docker", ["image", "rm", `flotilla/webapp:${NEXT_TAG}`]);
    rmSync(dataDir, { recursive: true, force: true });
  }, 300_000);

  it("1. cold deploy of the stacks: first 200 through HAProxy", async () => {
    const start = Date.now();
    for (const stack of ORDER) await deploy(env, stack);
    const deployed = Date.now() - start;
    base = `http://127.0.0.1:${await publishedPort(env, PORTS.haproxyHttp)}`;
    // The stats page is served over TLS (the stack's certificate, for localhost).
    statsUrl = `https://localhost:${await publishedPort(env, PORTS.haproxyStats)}/stats`;
    await until("a 200 through HAProxy", async () => (await fetch(`${base}/`)).status === 200, 120_000);
    const first = Date.now() - start;
    const load = startLoad(`${base}/`);
    await sleep(8000);
    const stats = await load.stop();
    report(
      "1. cold deploy (consul ×3, mysql, webapp ×2, haproxy)",
      stats,
      `stacks converged in ${(deployed / 1000).toFixed(1)} s; first 200 at ${(first / 1000).toFixed(1)} s`,
    );
    expect(stats.failed).toBe(0);
  }, 600_000);

  it("2. stats page over TLS: 200 with the password, 401 without", async () => {
    const load = startLoad(`${base}/`);
    // Verified against the stack's own certificate (the tlsPem secret's first block).
    const ca = certificateOf(secrets.tlsPem);
    const withPw = await request(statsUrl, {
      ca,
      headers: basicAuth(`${env.config.haproxy.statsUser}:${secrets.statsPassword}`),
    });
    const without = await request(statsUrl, { ca });
    const wrong = await request(statsUrl, { ca, headers: basicAuth("admin:wrong-password") });
    const page = withPw.body;
    await sleep(3000);
    const stats = await load.stop();
    report(
      "2. stats page",
      stats,
      `with password ${withPw.status}, without ${without.status}, wrong ${wrong.status}`,
    );
    expect(withPw.status).toBe(200);
    expect(page).toContain("webapp");
    expect(without.status).toBe(401);
    expect(wrong.status).toBe(401);
  });

  it("3. scale the webapp 2 → 4: the new replicas serve traffic", async () => {
    const before = new Set(await containers(env, "webapp"));
    expect(before.size).toBe(2);
    const load = startLoad(`${base}/`);
    const start = Date.now();
    env.config = devConfig({ "flotilla:webapp": { replicas: 4 } });
    const deploying = deploy(env, "webapp");
    const hosts = new Set<string>();
    const ms = await until(
      "four distinct webapp hosts answering through HAProxy",
      async () => {
        const r = await fetch(`${base}/`, { signal: AbortSignal.timeout(3000) });
        if (r.ok) hosts.add(String(((await r.json()) as { host: string }).host));
        return hosts.size >= 4;
      },
      180_000,
      100,
    );
    await deploying;
    const converged = Date.now() - start;
    const stats = await load.stop();
    report(
      "3. scale webapp 2 → 4",
      stats,
      `4 replicas serving ${(ms / 1000).toFixed(1)} s after the deploy started (deploy converged in ${(converged / 1000).toFixed(1)} s)`,
    );
    expect(hosts.size).toBe(4);
    await until("4/4 webapp replicas", async () => (await serviceReplicas("webapp")) === "4/4", 60_000);
    expect(stats.failed).toBe(0);
  }, 300_000);

  it("4. kill a webapp task: zero failed requests", async () => {
    const load = startLoad(`${base}/`);
    await sleep(3000);
    const [victim] = await containers(env, "webapp");
    await ok("docker", ["kill", victim]);
    const replaced = await until(
      "Swarm to replace the killed task",
      async () => (await containers(env, "webapp")).filter((c) => !victim.startsWith(c)).length === 4,
      60_000,
    );
    await sleep(5000);
    const stats = await load.stop();
    report(
      "4. kill a webapp task (SIGKILL)",
      stats,
      `replacement running after ${(replaced / 1000).toFixed(1)} s`,
    );
    expect(stats.failed).toBe(0);
  }, 120_000);

  it("5. rolling update to a new image tag: zero failed requests, sessions kept", async () => {
    const user = new Client(base);
    const first = await user.request("/");
    expect(first.status).toBe(200);
    const load = startLoad(`${base}/`);
    const start = Date.now();
    env.images = { ...env.images, webapp: `flotilla/webapp:${NEXT_TAG}` };
    await deploy(env, "webapp");
    const rolled = Date.now() - start;
    await sleep(3000);
    const stats = await load.stop();
    const after = await user.request("/");
    report(
      `5. rolling update ${VERSION} → ${NEXT_TAG}`,
      stats,
      `4 replicas replaced in ${(rolled / 1000).toFixed(1)} s; session ${after.body.sessionId === first.body.sessionId ? "kept" : "LOST"} (views ${first.body.views} → ${after.body.views})`,
    );
    expect(after.body.version).toBe(NEXT_TAG);
    expect(after.body.sessionId).toBe(first.body.sessionId);
    expect(after.body.views).toBe(Number(first.body.views) + 1);
    expect(stats.failed).toBe(0);
  }, 400_000);

  it("6. restart MySQL: rows written before are still there; the app recovers by itself", async () => {
    const customer = `e2e-${Date.now()}`;
    const play = () =>
      new Client(base).request("/play", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ customer }),
      });
    expect((await play()).status).toBe(201);
    const load = startLoad(`${base}/`);
    const [oldDb] = await containers(env, "mysql");
    const start = Date.now();
    await ok("docker", ["service", "update", "--force", "--detach", serviceName(PREFIX, "mysql")]);
    await until(
      "a new, healthy MySQL container",
      async () => {
        const now = await containers(env, "mysql");
        return now.length === 1 && now[0] !== oldDb && (await serviceReplicas("mysql")) === "1/1";
      },
      180_000,
      500,
    );
    const dbBack = Date.now() - start;
    // Nothing is restarted by hand: the app reconnects by itself. The same customer again
    // must be refused (409: the row is there), never accepted (201: the row was lost).
    let second = 0;
    await until(
      "the app to answer /play again",
      async () => {
        second = (await play()).status;
        return second === 409 || second === 201;
      },
      120_000,
      250,
    );
    const total = Date.now() - start;
    await until(
      "4 healthy webapp replicas",
      async () => (await serviceReplicas("webapp")) === "4/4",
      120_000,
    );
    const stats = await load.stop();
    report(
      // One server here (dev's mysql.nodes: 1): its restart is an outage the app rides out
      // by itself. The three-member Galera cluster's faults (no lost row, at most 1 % of
      // requests failed) are test/galera/cluster.docker.test.ts (docs/galera.md).
      "6. restart MySQL, a single server (service update --force; Galera: test/galera)",
      stats,
      `new MySQL healthy after ${(dbBack / 1000).toFixed(1)} s; app serving again after ${(total / 1000).toFixed(1)} s, no restart by hand; row written before still there (409 on a second play)`,
    );
    expect(second, "201 would mean the row written before the restart is gone").toBe(409);
  }, 400_000);

  it("7. three Consul servers, one killed: a leader remains and discovery keeps working", async () => {
    const servers = await containers(env, "consul");
    expect(servers.length).toBe(3);
    const [victim, ...rest] = servers;
    // Healthy webapp instances, as a surviving server reports them. ACLs deny by default:
    // the management token goes in a header file in RAM (never argv), as in test/discovery.
    const health = async (filter: string) =>
      JSON.parse(
        await ok("docker", [
          "exec",
          rest[0],
          "sh",
          "-c",
          'umask 077; h=$(mktemp /dev/shm/h.XXXXXX); printf "X-Consul-Token: %s\\n" "$(cat /run/secrets/consul_master_token)" >"$h"; ' +
            `curl -fsS -H "@$h" "http://127.0.0.1:8500/v1/health/service/webapp${filter}"; rc=$?; rm -f "$h"; exit $rc`,
        ]),
      ) as { Node: { Node: string }; Checks: { CheckID: string; Status: string; Output: string }[] }[];
    const catalog = async () => (await health("?passing")).length;
    /** `docker exec` arguments for `consul members` on a server, with the management token file. */
    const members = (from: string, flags = "") => [
      "exec",
      from,
      "sh",
      "-c",
      `CONSUL_HTTP_TOKEN_FILE=/run/secrets/consul_master_token consul members ${flags}`,
    ];
    /** Every instance Consul knows, with its checks' states (printed when the count never settles). */
    const instances = async () =>
      (await health("")).map(
        (i) =>
          `${i.Node.Node}: ${i.Checks.map((c) => `${c.CheckID}=${c.Status} ${c.Output.slice(0, 80)}`).join("; ")}`,
      );
    // Start from a settled system: every replica healthy and registered.
    await until(
      "4 healthy webapp replicas",
      async () => (await serviceReplicas("webapp")) === "4/4",
      120_000,
    );
    // Known open defect (closing note of issues 13-15): after the earlier scenarios' kills
    // and rolling update, one replica's agent can stay out of the catalog ("serfHealth
    // critical") although the replica serves. HAProxy routes around it, so no request is
    // lost; the figure says how many instances Consul had, and this scenario asserts that
    // killing a server loses none of them.
    const before = await until(
      "4 healthy webapp instances in Consul",
      async () => (await catalog()) === 4,
      90_000,
    )
      .then(() => 4)
      .catch(async () => {
        console.log(`7. Consul's webapp instances before the kill:\n${(await instances()).join("\n")}`);
        // What to look at next: the servers' member list (name, address, status) against the
        // running replicas' hostnames and addresses.
        const all = await run("docker", members(rest[0]));
        console.log(`7. consul members (from a server):\n${all.stdout}${all.stderr}`);
        for (const id of await containers(env, "webapp")) {
          const who = await run("docker", ["exec", id, "sh", "-c", "hostname; hostname -i"]);
          console.log(`7. running replica ${id.slice(0, 12)}: ${who.stdout.replace(/\n/g, " ")}`);
        }
        return catalog();
      });
    expect(before, "at least 3 of the 4 replicas in Consul before the kill").toBeGreaterThanOrEqual(3);
    const load = startLoad(`${base}/`);
    await sleep(2000);
    const killedAt = Date.now();
    await ok("docker", ["kill", victim]);
    const aliveServers = async (from: string) =>
      (await ok("docker", members(from, "-status=alive")))
        .split("\n")
        .filter((l) => / server /.test(l) && !l.startsWith(victim));
    const leaderMs = await until(
      "a leader seen by a surviving server",
      // The server's own health check: it knows a leader (asked with its local token).
      async () => (await run("docker", ["exec", rest[1], "/usr/lib/flotilla/consul-healthcheck"])).code === 0,
      30_000,
    );
    // The catalog as a surviving server answers it: right after an election the server
    // asked may not know the new leader yet (HTTP 500 "No cluster leader") for a moment;
    // agents retry the same way (their blocking queries), so the test does too, for 15 s.
    let webapps = 0;
    const catalogMs = await until(
      "the catalog answered by a surviving server",
      async () => {
        webapps = await catalog();
        return true;
      },
      15_000,
      250,
    );
    // Swarm starts a new server (new container, new node name) that joins the two others.
    const back = await until(
      "three alive servers again, the killed one replaced",
      async () => (await aliveServers(rest[0])).length === 3,
      120_000,
      500,
    );
    await sleep(2000);
    const stats = await load.stop();
    report(
      "7. kill one of three Consul servers",
      stats,
      `leader present ${(leaderMs / 1000).toFixed(1)} s after the kill, the catalog answering ${(catalogMs / 1000).toFixed(1)} s later; ${webapps}/4 healthy webapp instances still discovered (${before} before); 3 servers alive again ${((back + leaderMs) / 1000).toFixed(1)} s after the kill`,
    );
    void killedAt;
    expect(webapps).toBeGreaterThanOrEqual(before);
    expect(stats.failed).toBe(0);
  }, 400_000);
  it("8. the edge benchmark's smoke run on this deployment (npm run bench -- --smoke --reuse)", async () => {
    // Shares this suite's stacks instead of deploying its own (CI time). Checks that the
    // benchmark works and reports: responses on every target, ratios, plots. Not a timed
    // assertion: a smoke run's figures on a shared box mean nothing (docs/bench.md).
    const out = mkdtempSync(path.join(os.tmpdir(), "flotilla-bench-smoke-"));
    try {
      const r = await run(
        "npx",
        ["tsx", "tools/bench/bench.ts", "--smoke", "--reuse", PREFIX, "--out", out, "--plots", out],
        {
          timeoutMs: 600_000,
        },
      );
      const log = `${r.stdout}\n${r.stderr}`;
      if (r.code !== 0) throw new Error(`bench --smoke failed (${r.code}):\n${log}`);
      const result = JSON.parse(readFileSync(path.join(out, "bench.json"), "utf8")) as BenchResult;
      expect(result.settings.smoke).toBe(true);
      for (const key of ["healthz", "root"] as const) {
        const p = result.paths[key];
        for (const t of ["direct", "flotilla", "bare"] as const) {
          expect(p.targets[t].saturation.rps, `${key} ${t}`).toBeGreaterThan(0);
          expect(p.targets[t].rates).toHaveLength(1);
          expect(p.targets[t].rates[0].rps, `${key} ${t} at 50 %`).toBeGreaterThan(0);
          expect(p.targets[t].rates[0].latency.p50).toBeGreaterThan(0);
        }
        for (const v of Object.values(p.ratios)) expect(Number.isFinite(v)).toBe(true);
        expect(p.goals).toHaveLength(3);
      }
      expect(result.points.filter((p) => p.mode === "saturation")).toHaveLength(6);
      expect(result.machine.haproxy).toMatch(/^HAProxy version 3\./);
      expect(Object.values(result.machine.images).every((id) => id.startsWith("sha256:"))).toBe(true);
      const md = readFileSync(path.join(out, "bench.md"), "utf8");
      expect(md).toContain("## Ratios and goals");
      expect(md).toContain("](bench-throughput.svg)");
      for (const name of ["bench-throughput", "bench-latency-healthz", "bench-latency-root"]) {
        expect(readFileSync(path.join(out, `${name}.svg`), "utf8")).toMatch(/^<svg/);
        expect(existsSync(path.join(out, `${name}.png`))).toBe(true);
      }
      // Its bare reference HAProxy and load containers are gone; this suite's stacks stay.
      const left = await run("docker", ["ps", "-aq", "--filter", `name=${PREFIX}-bare`]);
      expect(left.stdout).toBe("");
      expect((await containers(env, "haproxy")).length).toBe(1);
      console.log(
        `\n8. bench smoke: ${JSON.stringify(Object.fromEntries(Object.entries(result.paths).map(([k, v]) => [k, v.ratios])))}`,
      );
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 700_000);

  it("9. malformed requests through the edge under load: each gets its 4xx (JSON where the app answers), the site keeps serving with nothing lost", async () => {
    const load = startLoad(`${base}/`);
    const json = { "content-type": "application/json" };
    // What a scanner or a broken client sends, each 5 times (a fresh connection each).
    // `edge`: HAProxy answers itself with its own error page, not the app's JSON.
    const corpus: {
      name: string;
      path: string;
      opts: Parameters<typeof request>[1];
      status: number[];
      edge?: true;
    }[] = [
      {
        name: "malformed JSON body",
        path: "/play",
        opts: { method: "POST", headers: json, body: '{"customer": "bob",' },
        status: [400],
      },
      {
        name: "20 kB body",
        path: "/play",
        opts: { method: "POST", headers: json, body: JSON.stringify({ customer: "x".repeat(20_000) }) },
        status: [413],
      },
      {
        name: "unsupported charset",
        path: "/play",
        opts: {
          method: "POST",
          headers: { "content-type": "application/json; charset=klingon" },
          body: "{}",
        },
        status: [415],
      },
      { name: "unknown method", path: "/", opts: { method: "BREW" }, status: [405] },
      { name: "DELETE /", path: "/", opts: { method: "DELETE" }, status: [405] },
      { name: "unknown path", path: "/wp-login.php", opts: {}, status: [404] },
      // Past HAProxy's 16 kB buffer: HAProxy answers itself (431 or 400), the app never sees it.
      {
        name: "64 kB header",
        path: "/",
        opts: { headers: { "x-junk": "a".repeat(64 * 1024) } },
        status: [400, 431],
        edge: true,
      },
    ];
    const answers: Record<string, string[]> = {};
    for (let round = 0; round < 5; round++)
      for (const c of corpus) {
        const a = await request(`${base}${c.path}`, { ...c.opts, timeoutMs: 5_000 }).catch((e: Error) => ({
          status: 0,
          headers: {} as Record<string, string>,
          body: e.message,
        }));
        const kind = String(a.headers["content-type"] ?? "").split(";")[0];
        answers[c.name] = [...(answers[c.name] ?? []), `${a.status} ${kind}`];
        expect(c.status, `${c.name}: ${a.status} ${a.body.slice(0, 200)}`).toContain(a.status);
        if (!c.edge) expect(JSON.parse(a.body).error, c.name).toEqual(expect.any(String));
      }
    await sleep(2000);
    const stats = await load.stop();
    report("9. malformed requests (7 kinds × 5) under load", stats, JSON.stringify(answers));
    expect(stats.failed).toBe(0);
  }, 120_000);
});
