// The webapp image for real, against the flotilla/mysql image: migrations are safe when
// replicas start together; GET / counts views in a MySQL session that survives the
// replica (a new container, same cookie, views keep counting); POST /play lets a customer
// play exactly once under 20 concurrent attempts; SIGTERM drains an in-flight request;
// s6 brings each killed process back within a second; `docker stop` exits 0 in time.
import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, expect, it } from "vitest";
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
import { http, network, published, startMysql, startWebapp, waitHttp, webSecrets } from "./webappSupport";

const SUITE = "webapp";
const NET = "flotilla-webapp-net";
const DB = "flotilla-webapp-db";
const web = (n: number): string => `flotilla-webapp-${n}`;

describeWithDocker("webapp image", () => {
  const values = webSecrets();
  const secrets = ramSecrets(values);
  const url = (container: string, path: string): string => `http://${published(container, 8080)}${path}`;
  const start = (n: number, env: Record<string, string> = {}) =>
    startWebapp(SUITE, web(n), NET, secrets.dir, {
      mysqlHost: DB,
      env: { WEBAPP_DEBUG_ENDPOINTS: "1", WEBAPP_DRAIN_SECONDS: "15", ...env },
    });

  beforeAll(async () => {
    cleanup(SUITE);
    buildImages(["s6-base", "consul", "mysql", "webapp"]);
    network(SUITE, NET);
    await startMysql(SUITE, DB, NET, secrets.dir);
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

  it("restarts each supervised process within a second of kill -9", async () => {
    for (const service of ["webapp", "consul"]) {
      await waitReadyOverASecond(web(4), service);
      const ms = killAndMeasureRestart(web(4), service);
      console.log(`webapp: ${service} back ${ms} ms after kill -9`);
      expect(ms).toBeLessThan(1000);
    }
    await waitHttp(url(web(4), "/readyz"), 200, 30_000);
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
});
