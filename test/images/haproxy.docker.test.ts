// HAProxy for real, in front of real webapp replicas found through a real Consul:
// haproxy -c accepts the configuration (and bad input is refused by name); HAProxy
// serves from both replicas and keeps a session sticky; a third replica is in rotation
// within 5 s of passing its Consul check; stopping a replica under 50 req/s costs no
// failed request; stats answer 401 without and 200 with the password; /metrics answers;
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
import {
  dockerAsync,
  eventually,
  http,
  loadLoop,
  network,
  published,
  startConsulServer,
  startMysql,
  startWebapp,
  waitHttp,
  webSecrets,
} from "./webappSupport";

const SUITE = "haproxy";
const NET = "flotilla-haproxy-net";
const DB = "flotilla-haproxy-db";
const CONSUL = "flotilla-haproxy-consul";
const LB = "flotilla-haproxy-lb";
const web = (n: number): string => `flotilla-haproxy-web${n}`;

describeWithDocker("haproxy image", () => {
  const values = webSecrets();
  const secrets = ramSecrets(values);
  let consulApi = "";
  const lb = (path: string): string => `http://${published(LB, 80)}${path}`;
  const stats = (path: string): string => `http://${published(LB, 8404)}${path}`;
  const startWeb = (n: number) =>
    startWebapp(SUITE, web(n), NET, secrets.dir, { mysqlHost: DB, consul: CONSUL, publish: false });
  /** Hosts that answer `count` cookie-less requests through HAProxy. */
  const hostsBehind = async (count: number): Promise<Set<string>> => {
    const hosts = new Set<string>();
    for (let i = 0; i < count; i++) {
      const r = await http(lb("/"));
      if (r.status === 200) hosts.add(JSON.parse(r.body).host);
    }
    return hosts;
  };

  /** HAProxy's recent log, without the per-request lines, and its failed requests: for diagnosis. */
  const haproxyEvents = (): string =>
    docker(["logs", "--since", "30s", LB])
      .split("\n")
      // Events, and requests that did not end cleanly (termination state other than --).
      .filter((l) => l.startsWith("[haproxy]") && (!l.includes('"GET / HTTP') || !/ 200 \d+ - - --/.test(l)))
      .slice(-80)
      .join("\n");

  beforeAll(async () => {
    cleanup(SUITE);
    buildImages(["s6-base", "consul", "mysql", "webapp", "haproxy"]);
    network(SUITE, NET);
    await startMysql(SUITE, DB, NET, secrets.dir);
    consulApi = await startConsulServer(SUITE, CONSUL, NET);
    startWeb(1);
    startWeb(2);
    docker([
      "run",
      "-d",
      "--name",
      LB,
      "--hostname",
      LB,
      "--network",
      NET,
      ...labels(SUITE),
      "-e",
      `CONSUL_RETRY_JOIN=${CONSUL}`,
      "-v",
      `${secrets.dir}:/run/secrets:ro`,
      "-p",
      "127.0.0.1::80",
      "-p",
      "127.0.0.1::8404",
      "-p",
      "127.0.0.1::8405",
      image("haproxy"),
    ]);
    await waitHttp(`http://${published(LB, 8405)}/healthz`, 200, 60_000);
  });

  afterAll(() => {
    cleanup(SUITE);
    secrets.remove();
  });

  it("haproxy -c accepts the configuration; a bad setting is refused by name", () => {
    const check = (env: string[]) =>
      spawnSync(
        "docker",
        [
          "run",
          "--rm",
          ...labels(SUITE),
          ...env,
          "-v",
          `${secrets.dir}:/run/secrets:ro`,
          "--entrypoint",
          "/usr/lib/flotilla/haproxy-start",
          image("haproxy"),
          "check",
        ],
        { encoding: "utf8", timeout: 60_000 },
      );
    const good = check([]);
    expect(good.stderr + good.stdout).not.toMatch(/ALERT|WARNING/);
    expect(good.status).toBe(0);
    const bad = check(["-e", "HAPROXY_STATS_PORT=80a"]);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain("HAPROXY_STATS_PORT must be a whole number, not '80a'");
  });

  it("serves from both replicas, and keeps a session on one with the sticky cookie", async () => {
    const started = Date.now();
    await eventually("both replicas behind HAProxy", 90_000, async () => {
      const hosts = await hostsBehind(6);
      return hosts.has(web(1)) && hosts.has(web(2)) ? hosts : undefined;
    });
    console.log(`haproxy: both replicas served ${Date.now() - started} ms after HAProxy was healthy`);
    const first = await http(lb("/"));
    const cookie = first.cookies.join("; ");
    expect(cookie).toMatch(/FLOTILLA_LB=/);
    expect(cookie).toMatch(/flotilla\.sid=/);
    const { host, sessionId } = JSON.parse(first.body);
    for (let views = 2; views <= 6; views++) {
      const next = JSON.parse((await http(lb("/"), { cookie })).body);
      expect(next).toMatchObject({ host, sessionId, views });
    }
  });

  it("puts a third replica in rotation within 5 s of passing its Consul check", async () => {
    const started = Date.now();
    startWeb(3);
    const passing = await eventually(
      `${web(3)} passing in Consul`,
      60_000,
      async () => {
        const r = await http(`${consulApi}/v1/health/service/webapp?passing=1`);
        // The replica's service id is webapp-<hostname> (its agent's node name has a role prefix).
        const nodes = JSON.parse(r.body) as { Service: { ID: string } }[];
        return nodes.some((n) => n.Service.ID === `webapp-${web(3)}`) ? Date.now() : undefined;
      },
      50,
    );
    const served = await eventually(
      `${web(3)} served through HAProxy`,
      15_000,
      async () => ((await hostsBehind(3)).has(web(3)) ? Date.now() : undefined),
      50,
    );
    console.log(
      `haproxy: ${web(3)} passing its check ${passing - started} ms after docker run, served ${served - passing} ms after that (${served - started} ms in all)`,
    );
    expect(served - passing).toBeLessThan(5000);
  });

  it("loses no request when a replica is stopped under 50 req/s for 10 s", async () => {
    const result = await loadLoop(lb("/"), 50, 10, {
      afterMs: 3000,
      action: () => dockerAsync(["stop", web(1)]),
    });
    console.log(
      `haproxy: docker stop of ${web(1)} under load: sent ${result.sent}, failed ${result.failed}; served by ${JSON.stringify(Object.fromEntries(result.hosts))}`,
    );
    if (result.failed) console.log(haproxyEvents());
    expect(result.failures).toEqual([]);
    expect(result.hosts.get(web(2))).toBeGreaterThan(0);
    expect(result.hosts.get(web(3))).toBeGreaterThan(0);
  });

  it("loses no request when a replica is killed (SIGKILL) under 50 req/s for 10 s", async () => {
    const result = await loadLoop(lb("/"), 50, 10, {
      afterMs: 3000,
      action: () => dockerAsync(["kill", web(3)]),
    });
    console.log(`haproxy: docker kill of ${web(3)} under load: sent ${result.sent}, failed ${result.failed}`);
    if (result.failed) console.log(haproxyEvents());
    expect(result.failures).toEqual([]);
  });

  it("answers the stats page 401 without the password and 200 with it; /metrics answers", async () => {
    expect((await http(stats("/stats"))).status).toBe(401);
    expect((await http(stats("/stats"), { auth: "admin:wrong" })).status).toBe(401);
    const ok = await http(stats("/stats"), { auth: `admin:${values.haproxy_stats_password}` });
    expect(ok.status).toBe(200);
    expect(ok.body).toContain("webapp");
    const metrics = await http(stats("/metrics"));
    expect(metrics.status).toBe(200);
    expect(metrics.body).toMatch(/^haproxy_process_start_time_seconds /m);
    expect(metrics.body).toMatch(/^haproxy_backend_active_servers\{proxy="webapp"\} \d+/m);
  });

  it("logs requests to stdout, prefixed by the service name", () => {
    expect(docker(["logs", LB])).toMatch(
      /^\[haproxy\] \S+ \[[^\]]+\] public webapp\/web\d+ .* 200 .*"GET \/ HTTP\/1\.1"$/m,
    );
  });

  it("restarts each supervised process within a second of kill -9", async () => {
    for (const service of ["haproxy", "consul"]) {
      await waitReadyOverASecond(LB, service);
      const ms = killAndMeasureRestart(LB, service);
      console.log(`haproxy: ${service} back ${ms} ms after kill -9`);
      expect(ms).toBeLessThan(1000);
    }
    await waitHttp(`http://${published(LB, 8405)}/healthz`, 200, 30_000);
  });

  it("stops within Docker's default grace period, exit code 0", () => {
    const stop = timedStop(LB, 10);
    console.log(`haproxy: docker stop took ${stop.ms} ms, exit ${stop.exitCode}`);
    expect(stop.exitCode).toBe(0);
    expect(stop.ms).toBeLessThan(10_000);
    expect(docker(["logs", LB])).not.toContain(values.haproxy_stats_password);
  });
});
