// The webapp image for real, against the flotilla/mysql image: migrations are safe when
// replicas start together; GET / counts views in a MySQL session that survives the
// replica (a new container, same cookie, views keep counting); POST /play lets a customer
// play exactly once under 20 concurrent attempts; SIGTERM drains an in-flight request;
// s6 brings each killed process back within a second; `docker stop` exits 0 in time.
// Least privilege as the stack runs it (read-only root, no capabilities): every process
// unprivileged with no_new_privs, and the replica still serves and registers in Consul;
// the session cookie's flags; Prometheus metrics on their own port; JSON access logs.
import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, expect, it } from "vitest";
import { WEBAPP_METRICS_PORT, WEBAPP_USER } from "../../components/stacks/renderWebapp";
import { describeWithDocker, docker } from "../support/docker";
import {
  buildImages,
  cleanup,
  image,
  killAndMeasureRestart,
  labels,
  ramSecrets,
  timedStop,
  waitReadyOverASecond,
} from "./s6Support";
import {
  eventually,
  http,
  network,
  published,
  startConsulServer,
  startMysql,
  startWebapp,
  waitHttp,
  webappMetrics,
  webSecrets,
} from "./webappSupport";

const SUITE = "webapp";
const NET = "flotilla-webapp-net";
const DB = "flotilla-webapp-db";
const CONSUL = "flotilla-webapp-consul";
const web = (n: number): string => `flotilla-webapp-${n}`;

describeWithDocker("webapp image", () => {
  const values = webSecrets();
  const secrets = ramSecrets(values);
  const url = (container: string, path: string): string => `http://${published(container, 8080)}${path}`;
  const metricsUrl = (container: string): string =>
    `http://${published(container, WEBAPP_METRICS_PORT)}/metrics`;
  const start = (n: number, env: Record<string, string> = {}) =>
    startWebapp(SUITE, web(n), NET, secrets.dir, {
      mysqlHost: DB,
      consul: CONSUL,
      env: { WEBAPP_DEBUG_ENDPOINTS: "1", WEBAPP_DRAIN_SECONDS: "15", ...env },
    });
  let consulApi = "";

  beforeAll(async () => {
    cleanup(SUITE);
    buildImages(["s6-base", "consul", "mysql", "webapp"]);
    network(SUITE, NET);
    [consulApi] = await Promise.all([
      startConsulServer(SUITE, CONSUL, NET),
      startMysql(SUITE, DB, NET, secrets.dir),
    ]);
  });

  afterAll(() => {
    cleanup(SUITE);
    secrets.remove();
  });

  it("refuses a bad configuration with an error naming the key", () => {
    const r = spawnSync(
      "docker",
      ["run", "--rm", ...labels(SUITE), "--entrypoint", "node", image("webapp"), "/app/dist/main.js"],
      { encoding: "utf8", timeout: 60_000 },
    );
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("/run/secrets/mysql_password (mysql_password) is missing or empty");
  });

  it("applies the migrations exactly once when three replicas start together", async () => {
    for (const n of [1, 2, 3]) start(n);
    for (const n of [1, 2, 3]) await waitHttp(url(web(n), "/readyz"), 200, 90_000);
    const applied = [1, 2, 3].flatMap((n) =>
      docker(["logs", web(n)])
        .split("\n")
        .filter((l) => /^\[webapp\] migration \d+ applied$/.test(l)),
    );
    console.log(`webapp: migrations applied across 3 replicas: ${JSON.stringify(applied)}`);
    // One line per migration (MIGRATIONS in images/webapp/src/db.ts), across all replicas.
    expect(applied.sort()).toEqual([1, 2, 3].map((v) => `[webapp] migration ${v} applied`));
    docker(["rm", "-f", web(2), web(3)]);
  });

  it("GET / shows host, version, session id and views; /healthz and /readyz answer", async () => {
    const first = await http(url(web(1), "/"));
    expect(first.status).toBe(200);
    const body = JSON.parse(first.body);
    expect(body).toMatchObject({ host: web(1), version: "0.1.0", views: 1 });
    expect(body.sessionId).toMatch(/^[\w-]{20,}$/);
    const cookie = first.cookies.find((c) => c.startsWith("flotilla.sid="));
    expect(cookie).toBeDefined();
    const second = JSON.parse((await http(url(web(1), "/"), { cookie })).body);
    expect(second).toMatchObject({ sessionId: body.sessionId, views: 2 });
    expect((await http(url(web(1), "/healthz"))).status).toBe(200);
    expect(JSON.parse((await http(url(web(1), "/readyz"))).body)).toMatchObject({ status: "ready" });
  });

  it("runs every process unprivileged: uid != 0, no capabilities, no_new_privs, read-only root", async () => {
    // Every /proc/<pid>/status of the container's own process tree (descendants of PID 1;
    // `docker exec` processes are not), read in one exec.
    const dump = docker([
      "exec",
      web(1),
      "sh",
      "-c",
      'for f in /proc/[0-9]*/status; do echo "== $f"; cat "$f" 2>/dev/null; done',
    ]);
    const procs = dump
      .split(/^== /m)
      .filter(Boolean)
      .map((block) => {
        const field = (name: string) => block.match(new RegExp(`^${name}:\\s*(.*)$`, "m"))?.[1]?.trim() ?? "";
        return {
          pid: field("Pid"),
          ppid: field("PPid"),
          name: field("Name"),
          uids: field("Uid").split(/\s+/),
          gids: field("Gid").split(/\s+/),
          capEff: field("CapEff"),
          capBnd: field("CapBnd"),
          noNewPrivs: field("NoNewPrivs"),
        };
      })
      .filter((p) => p.pid);
    const parent = new Map(procs.map((p) => [p.pid, p.ppid]));
    const inTree = (pid: string): boolean => {
      for (let at = pid, hops = 0; at && hops < 64; at = parent.get(at) ?? "", hops++)
        if (at === "1") return true;
      return false;
    };
    const tree = procs.filter((p) => inTree(p.pid));
    const names = new Set(tree.map((p) => p.name));
    console.log(
      `webapp: ${tree.length} processes: ${[...names].sort().join(", ")}; uids ${[...new Set(tree.flatMap((p) => p.uids))].join(",")}, CapEff ${[...new Set(tree.map((p) => p.capEff))].join(",")}, NoNewPrivs ${[...new Set(tree.map((p) => p.noNewPrivs))].join(",")}`,
    );
    for (const name of ["s6-svscan", "s6-supervise", "node", "consul"]) expect(names).toContain(name);
    for (const p of tree) {
      expect(p.uids, `${p.name} (${p.pid}) uids`).toEqual(Array(4).fill(String(WEBAPP_USER.uid)));
      expect(p.gids, `${p.name} (${p.pid}) gids`).toEqual(Array(4).fill(String(WEBAPP_USER.gid)));
      expect(p.capEff, `${p.name} CapEff`).toBe("0000000000000000");
      expect(p.capBnd, `${p.name} CapBnd`).toBe("0000000000000000");
      expect(p.noNewPrivs, `${p.name} NoNewPrivs`).toBe("1");
    }
    // Nothing on the image can be written, nor exec'd into privilege (no setuid programs).
    for (const target of ["/probe", "/app/probe", "/run/service/probe", "/etc/probe"]) {
      const r = spawnSync("docker", ["exec", web(1), "touch", target], { encoding: "utf8" });
      expect(r.status, target).not.toBe(0);
      expect(r.stderr).toMatch(/Read-only file system/);
    }
    const setuid = docker([
      ...["run", "--rm", ...labels(SUITE), "--user", "0", "--entrypoint", "find", image("webapp")],
      ...["/", "-xdev", "-type", "f", "-perm", "/6000"],
    ]);
    expect(setuid).toBe("");
    expect(docker(["inspect", "-f", "{{.Config.User}}", image("webapp")])).toBe(
      `${WEBAPP_USER.uid}:${WEBAPP_USER.gid}`,
    );
    // The secrets it reads are its own (0400), as the rendered stack gives them.
    expect(docker(["exec", web(1), "stat", "-c", "%u:%g %a", "/run/secrets/mysql_password"])).toBe(
      `${WEBAPP_USER.uid}:${WEBAPP_USER.gid} 400`,
    );
  });

  it("still registers in Consul, with its metrics port in the service meta", async () => {
    const instance = await eventually("web-1 passing in Consul", 60_000, async () => {
      const r = await http(`${consulApi}/v1/health/service/webapp?passing=1`);
      const list = JSON.parse(r.body) as {
        Service: { ID: string; Port: number; Meta: Record<string, string> };
      }[];
      return list.find((e) => e.Service.ID === `webapp-${web(1)}`);
    });
    expect(instance.Service).toMatchObject({
      Port: 8080,
      Meta: { metrics_port: String(WEBAPP_METRICS_PORT), metrics_path: "/metrics" },
    });
  });

  it("HEALTHCHECK: healthy once Consul's catalog lists the replica passing; with no Consul server, only after WEBAPP_ROUTABLE_WITHIN, then liveness", async () => {
    type Health = { Status: string; Log: { Output: string }[] | null };
    const health = (container: string) =>
      JSON.parse(docker(["inspect", "-f", "{{json .State.Health}}", container])) as Health;
    // web-1 joined the suite's Consul server: its check found itself in the catalog.
    const registered = await eventually("web-1 healthy", 90_000, async () =>
      health(web(1)).Status === "healthy" ? health(web(1)) : undefined,
    );
    expect(registered.Log?.map((l) => l.Output).join("")).toMatch(
      /listed as passing in Consul's catalog after \d+ s/,
    );
    // A replica whose agent has no server to join: alive at once, healthy only after the wait.
    const LONELY = web(9);
    const WITHIN = 12;
    startWebapp(SUITE, LONELY, NET, secrets.dir, {
      mysqlHost: DB,
      consul: "flotilla-webapp-no-such-consul",
      env: { WEBAPP_ROUTABLE_WITHIN: String(WITHIN) },
      flags: ["--health-interval", "1s", "--health-start-period", "60s"],
    });
    try {
      const started = Date.now();
      await waitHttp(url(LONELY, "/healthz"), 200, 60_000);
      const alive = Date.now() - started;
      expect(health(LONELY).Status).toBe("starting");
      const healthy = await eventually(
        "the lonely replica healthy",
        60_000,
        async () => (health(LONELY).Status === "healthy" ? Date.now() - started : undefined),
        500,
      );
      const outputs = (health(LONELY).Log ?? []).map((l) => l.Output).join("");
      console.log(
        `webapp: with no Consul server, /healthz answered ${alive} ms after the start, healthy after ${healthy} ms (WEBAPP_ROUTABLE_WITHIN=${WITHIN} s)`,
      );
      expect(outputs).toContain("not yet listed as passing in Consul's catalog");
      expect(outputs).toMatch(/still not listed in Consul's catalog after \d+ s: liveness only from now on/);
      // The wait counts from the first check (about a second after the start).
      expect(healthy).toBeGreaterThanOrEqual((WITHIN - 1) * 1000);
    } finally {
      docker(["rm", "-f", LONELY]);
    }
  });

  it("session cookie: HttpOnly and SameSite=Lax always, Secure when HAProxy says the request came over HTTPS", async () => {
    const plain = (await http(url(web(1), "/"))).setCookies.find((c) => c.startsWith("flotilla.sid="));
    const https = (
      await http(url(web(1), "/"), { headers: { "x-forwarded-proto": "https" } })
    ).setCookies.find((c) => c.startsWith("flotilla.sid="));
    console.log(`webapp: Set-Cookie over http: ${plain?.replace(/=[^;]+/, "=…")}`);
    console.log(`webapp: Set-Cookie over https: ${https?.replace(/=[^;]+/, "=…")}`);
    for (const cookie of [plain, https]) {
      expect(cookie).toMatch(/; HttpOnly(;|$)/);
      expect(cookie).toMatch(/; SameSite=Lax(;|$)/);
    }
    expect(plain).not.toMatch(/; Secure(;|$)/);
    expect(https).toMatch(/; Secure(;|$)/);
  });

  it("serves Prometheus metrics on their own port only: request counts by route and status, latency, database members", async () => {
    const count = (text: string, series: string): number => {
      const line = text.split("\n").find((l) => l.startsWith(`${series} `));
      return line ? Number(line.split(" ")[1]) : 0;
    };
    const ok = 'http_requests_total{method="GET",route="/",status="200"}';
    const missing = 'http_requests_total{method="GET",route="unmatched",status="404"}';
    const before = (await http(metricsUrl(web(1)))).body;
    for (let i = 0; i < 3; i++) expect((await http(url(web(1), "/"))).status).toBe(200);
    expect((await http(url(web(1), "/no-such-page"))).status).toBe(404);
    // Not on the app port, which is the one HAProxy routes to.
    expect((await http(url(web(1), "/metrics"))).status).toBe(404);
    const scrape = await http(metricsUrl(web(1)));
    expect(scrape.status).toBe(200);
    const after = scrape.body;
    console.log(
      `webapp: ${ok} ${count(before, ok)} -> ${count(after, ok)}; metrics text ${after.length} bytes, ${after.split("\n").filter((l) => l && !l.startsWith("#")).length} samples`,
    );
    expect(count(after, ok) - count(before, ok)).toBe(3);
    expect(count(after, missing) - count(before, missing)).toBe(2);
    expect(after).toMatch(
      /^http_request_duration_seconds_bucket\{le="0\.005",method="GET",route="\/",status="200"\} \d+$/m,
    );
    expect(
      count(after, 'http_request_duration_seconds_count{method="GET",route="/",status="200"}'),
    ).toBeGreaterThanOrEqual(3);
    expect(after).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(after).toMatch(/^nodejs_heap_size_used_bytes \d/m);
    expect(after).toMatch(new RegExp(`^flotilla_db_member_writer\\{member="${DB}",[^}]*\\} 1$`, "m"));
    expect(count(after, "flotilla_db_members_usable")).toBe(1);
    expect(after).toMatch(/^flotilla_webapp_info\{version="0\.1\.0",host="flotilla-webapp-1"\} 1$/m);
    // The same text from inside the container (how a suite on Swarm reads it).
    expect(await webappMetrics(web(1))).toMatch(/^http_requests_total\{/m);
    expect((await http(metricsUrl(web(1)).replace("/metrics", "/other"))).status).toBe(404);
  });

  it("writes one JSON access log line per request (passing probes left out)", async () => {
    const marker = `/probe-${Date.now()}`;
    await http(url(web(1), marker), {
      // HAProxy appends the client's address; what a client wrote before it is not trusted.
      headers: { "x-forwarded-for": "198.51.100.1, 10.9.8.7", "user-agent": "vitest" },
    });
    const line = await eventually("the access log line", 5000, async () =>
      docker(["logs", web(1)])
        .split("\n")
        .find((l) => l.startsWith("[webapp] {") && l.includes(marker)),
    );
    const entry = JSON.parse(line.slice("[webapp] ".length));
    console.log(`webapp: access log line: ${JSON.stringify(entry)}`);
    expect(entry).toMatchObject({
      type: "access",
      method: "GET",
      path: marker,
      route: "unmatched",
      status: 404,
      remote: "10.9.8.7",
      proto: "http",
      ua: "vitest",
    });
    expect(entry.ms).toBeGreaterThanOrEqual(0);
    expect(Date.parse(entry.time)).not.toBeNaN();
    const logs = docker(["logs", web(1)]).split("\n");
    expect(logs.filter((l) => l.startsWith("[webapp] {") && l.includes('"path":"/"')).length).toBeGreaterThan(
      0,
    );
    // Consul checks /readyz every second: passing probes are not logged.
    expect(
      logs.filter(
        (l) => l.startsWith("[webapp] {") && l.includes('"path":"/readyz","route":"/readyz","status":200'),
      ),
    ).toEqual([]);
  });

  it("keeps a session across replicas: a new container, the same cookie, views keep counting", async () => {
    const first = await http(url(web(1), "/"));
    const cookie = first.cookies.find((c) => c.startsWith("flotilla.sid="));
    const { sessionId } = JSON.parse(first.body);
    await http(url(web(1), "/"), { cookie });
    docker(["rm", "-f", web(1)]);
    start(4);
    await waitHttp(url(web(4), "/readyz"), 200, 60_000);
    const after = JSON.parse((await http(url(web(4), "/"), { cookie })).body);
    console.log(
      `webapp: session ${sessionId} served by ${web(4)} after ${web(1)} was removed: views ${after.views}`,
    );
    expect(after).toMatchObject({ host: web(4), sessionId, views: 3 });
  });

  it("lets a customer play exactly once under 20 concurrent attempts", async () => {
    const customer = `alice-${Date.now()}@example.com`;
    const results = await Promise.all(
      Array.from({ length: 20 }, () => http(url(web(4), "/play"), { method: "POST", json: { customer } })),
    );
    const statuses = results.map((r) => r.status);
    console.log(
      `webapp: 20 concurrent plays by one customer: ${statuses.filter((s) => s === 201).length} x 201, ${statuses.filter((s) => s === 409).length} x 409`,
    );
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(19);
    const outcomes = new Set(results.map((r) => JSON.parse(r.body).result));
    expect(outcomes.size).toBe(1);
    const bad = await http(url(web(4), "/play"), { method: "POST", json: { customer: "no spaces allowed" } });
    expect(bad.status).toBe(400);
  });

  it("answers bad requests with their 4xx as JSON: malformed body 400, oversized body 413, wrong method 405, unknown path 404", async () => {
    const raw = async (path: string, init: RequestInit) => {
      const r = await fetch(url(web(4), path), { ...init, signal: AbortSignal.timeout(5000) });
      return {
        status: r.status,
        allow: r.headers.get("allow"),
        type: r.headers.get("content-type"),
        body: await r.text(),
      };
    };
    const json = { "content-type": "application/json" };
    const cases = {
      malformed: await raw("/play", { method: "POST", headers: json, body: '{"customer": "bob",' }),
      oversized: await raw("/play", {
        method: "POST",
        headers: json,
        body: JSON.stringify({ customer: "x".repeat(20_000) }),
      }),
      getPlay: await raw("/play", { method: "GET" }),
      deleteRoot: await raw("/", { method: "DELETE" }),
      unknown: await raw("/wp-login.php", { method: "GET" }),
    };
    console.log(
      `webapp: bad requests: ${Object.entries(cases)
        .map(([k, v]) => `${k} ${v.status}`)
        .join(", ")}`,
    );
    expect(cases.malformed.status).toBe(400);
    expect(JSON.parse(cases.malformed.body)).toEqual({ error: "malformed JSON body" });
    expect(cases.oversized.status).toBe(413);
    expect(JSON.parse(cases.oversized.body)).toEqual({ error: "body larger than 16kb" });
    expect(cases.getPlay.status).toBe(405);
    expect(cases.getPlay.allow).toBe("POST");
    expect(cases.deleteRoot.status).toBe(405);
    expect(cases.deleteRoot.allow).toBe("GET, HEAD");
    expect(cases.unknown.status).toBe(404);
    for (const c of Object.values(cases)) expect(c.type).toMatch(/^application\/json/);
    // Client mistakes are not server failures: nothing in the error log.
    expect(docker(["logs", web(4)])).not.toMatch(/request failed: .*(JSON|too large|Unexpected)/);
    expect((await http(url(web(4), "/"))).status).toBe(200);
  });

  it("restarts each supervised process within a second of kill -9", async () => {
    const back: Record<string, number> = {};
    for (const service of ["webapp", "consul"]) {
      await waitReadyOverASecond(web(4), service);
      back[service] = killAndMeasureRestart(web(4), service);
      console.log(`webapp: ${service} back ${back[service]} ms after kill -9`);
    }
    // Ready again before asserting, so a slow restart does not fail the next test too.
    await waitHttp(url(web(4), "/readyz"), 200, 30_000);
    for (const ms of Object.values(back)) expect(ms).toBeLessThan(1000);
  });

  it("drains an in-flight request on SIGTERM, then exits 0", async () => {
    const slow = http(url(web(4), "/slow?ms=3000"), { timeoutMs: 15_000 });
    await new Promise((r) => setTimeout(r, 300));
    const stop = timedStop(web(4), 20);
    const answer = await slow;
    console.log(
      `webapp: docker stop with a 3 s request in flight took ${stop.ms} ms, exit ${stop.exitCode}; request answered ${answer.status}`,
    );
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ host: web(4), sleptMs: 3000 });
    expect(stop.exitCode).toBe(0);
    expect(stop.ms).toBeGreaterThanOrEqual(2500);
    expect(stop.ms).toBeLessThan(10_000);
    const logs = docker(["logs", web(4)]);
    expect(logs).toMatch(/^\[webapp\] SIGTERM: draining/m);
    expect(logs).toMatch(/^\[webapp\] consul: deregistered webapp-flotilla-webapp-4 \(HTTP 200\)$/m);
    expect(logs).toMatch(/^\[webapp\] drained in \d+ ms; exiting$/m);
  });

  it("stops within Docker's default grace period when idle, exit code 0", async () => {
    start(5);
    await waitHttp(url(web(5), "/readyz"), 200, 60_000);
    const stop = timedStop(web(5), 10);
    console.log(`webapp: idle docker stop took ${stop.ms} ms, exit ${stop.exitCode}`);
    expect(stop.exitCode).toBe(0);
    expect(stop.ms).toBeLessThan(10_000);
    expect(docker(["logs", web(5)])).not.toContain(values.mysql_password);
  });

  // Last: it stops the suite's database. A writer change leaves no member usable for a
  // second or two; readiness failing at once took every replica out of HAProxy together.
  it("/readyz rides out a database gap shorter than 5 s, then answers 503 until the database is back", async () => {
    start(6);
    await waitHttp(url(web(6), "/readyz"), 200, 60_000);
    const ready = async () => (await http(url(web(6), "/readyz"), { timeoutMs: 2000 })).status;
    expect(await ready()).toBe(200);
    docker(["stop", "-t", "1", DB]);
    const stopped = Date.now();
    const seen: number[] = [];
    let down = 0;
    while (Date.now() - stopped < 20_000) {
      const status = await ready();
      if (status !== 200) {
        down = Date.now() - stopped;
        break;
      }
      seen.push(status);
      await new Promise((r) => setTimeout(r, 250));
    }
    console.log(
      `webapp: /readyz 200 for ${down} ms after the database stopped (${seen.length} checks), then 503`,
    );
    expect(down).toBeGreaterThanOrEqual(4500);
    expect(down).toBeLessThan(15_000);
    expect(JSON.parse((await http(url(web(6), "/readyz"))).body)).toMatchObject({
      status: "database unreachable",
    });
    docker(["start", DB]);
    await waitHttp(url(web(6), "/readyz"), 200, 90_000);
  }, 150_000);
});
