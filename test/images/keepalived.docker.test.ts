// keepalived for real: two "load-balancer nodes" on a private Docker network, each a
// keepalived container (NET_ADMIN, NET_BROADCAST, NET_RAW) owning the network namespace
// and a flotilla/haproxy container inside it (as on a host-network node). A probe
// container on the same network calls the VIP every 100 ms. The VIP moves to the backup
// within 5 s of the master's HAProxy dying and back when it returns; stopping keepalived
// releases it. `keepalived -t` accepts the rendered configuration; bad input is refused.

import { spawnSync } from "node:child_process";
import { randomInt } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { edgePasswords, edgeSecretsDir, makeCert } from "../edge/tlsSupport";
import { describeWithDocker, docker } from "../support/docker";
import { buildImages, cleanup, image, labels, ramSecrets, timedStop, tryExec } from "./s6Support";
import { eventually, webSecrets } from "./webappSupport";

const SUITE = "keepalived";
const NET = "flotilla-keepalived-net";
const ka = (n: number): string => `flotilla-keepalived-ka${n}`;
const lb = (n: number): string => `flotilla-keepalived-lb${n}`;
const PROBE = "flotilla-keepalived-probe";
const CAPS = ["--cap-add", "NET_ADMIN", "--cap-add", "NET_BROADCAST", "--cap-add", "NET_RAW"];

describeWithDocker("keepalived image", () => {
  const secrets = ramSecrets(webSecrets());
  // HAProxy runs as its own user (uid 980) and serves TLS: its secrets are handed over as Swarm does.
  const edge = edgeSecretsDir({ ...edgePasswords(), haproxy_tls_pem: makeCert("keepalived").pem });
  let prefix = "";
  const addr = (host: number): string => `${prefix}.${host}`;
  const vip = (): string => addr(100);
  const env = (priority: number): string[] => [
    "-e",
    `KEEPALIVED_VIP=${vip()}/24`,
    "-e",
    `KEEPALIVED_PEERS=${addr(11)},${addr(12)}`,
    "-e",
    `KEEPALIVED_PRIORITY=${priority}`,
  ];
  const holdsVip = (container: string): boolean =>
    tryExec(container, ["ip", "-4", "-o", "addr", "show", "dev", "eth0"]).out.includes(` ${vip()}/24 `);
  /** Polls every 50 ms until only `container` holds the VIP; returns the ms it took. */
  const vipMovesTo = async (container: string, other: string, timeoutMs: number): Promise<number> => {
    const start = Date.now();
    await eventually(
      `the VIP on ${container} only`,
      timeoutMs,
      async () => (holdsVip(container) && !holdsVip(other) ? true : undefined),
      50,
    );
    return Date.now() - start;
  };
  /** Failed probe calls (lines "fail <epoch ms>") between two instants. */
  const probeFailures = (from: number, to: number): { calls: number; failed: number } => {
    const lines = docker(["logs", PROBE]).split("\n");
    let calls = 0;
    let failed = 0;
    for (const line of lines) {
      const [what, at] = line.split(" ");
      const t = Number(at);
      if (!(t >= from && t <= to)) continue;
      calls++;
      if (what === "fail") failed++;
    }
    return { calls, failed };
  };

  beforeAll(async () => {
    cleanup(SUITE);
    buildImages(["s6-base", "consul", "haproxy", "keepalived"]);
    // A private subnet nobody else uses on this engine (retry another on a clash).
    for (let attempt = 0; ; attempt++) {
      prefix = `10.${randomInt(100, 250)}.${randomInt(0, 255)}`;
      const r = spawnSync("docker", [
        "network",
        "create",
        ...labels(SUITE),
        "--subnet",
        `${prefix}.0/24`,
        NET,
      ]);
      if (r.status === 0) break;
      if (attempt === 5) throw new Error(`could not create ${NET}: ${r.stderr}`);
    }
    for (const [n, priority] of [
      [1, 150],
      [2, 100],
    ]) {
      docker([
        "run",
        "-d",
        "--name",
        ka(n),
        "--hostname",
        ka(n),
        "--network",
        NET,
        "--ip",
        addr(10 + n),
        ...labels(SUITE),
        ...CAPS,
        ...env(priority),
        "-v",
        `${secrets.dir}:/run/secrets:ro`,
        image("keepalived"),
      ]);
      docker([
        "run",
        "-d",
        "--name",
        lb(n),
        "--network",
        `container:${ka(n)}`,
        ...labels(SUITE),
        "-v",
        `${edge.dir}:/run/secrets:ro`,
        image("haproxy"),
      ]);
    }
    docker([
      "run",
      "-d",
      "--name",
      PROBE,
      "--network",
      NET,
      ...labels(SUITE),
      "--entrypoint",
      "sh",
      image("haproxy"),
      "-c",
      `while :; do
         if curl -fsS -o /dev/null --max-time 0.5 http://${vip()}:8405/healthz; then r=ok; else r=fail; fi
         echo "$r $(date +%s%3N)"
         sleep 0.1
       done`,
    ]);
  });

  afterAll(() => {
    cleanup(SUITE);
    secrets.remove();
    edge.remove();
  });

  it("keepalived -t accepts the rendered configuration; bad input is refused by name", () => {
    const render = (extra: string[]) =>
      spawnSync(
        "docker",
        [
          "run",
          "--rm",
          "--network",
          NET,
          ...labels(SUITE),
          ...CAPS,
          ...env(100),
          ...extra,
          "-v",
          `${secrets.dir}:/run/secrets:ro`,
          "--entrypoint",
          "sh",
          image("keepalived"),
          "-c",
          'conf=$(/usr/lib/flotilla/keepalived-render) && keepalived -t -f "$conf" && stat -c "%a" "$conf" && grep -A3 unicast_peer "$conf"',
        ],
        { encoding: "utf8", timeout: 60_000 },
      );
    const good = render([]);
    expect(good.stderr).toBe("");
    expect(good.status).toBe(0);
    const [mode, ...rest] = good.stdout.trim().split("\n");
    expect(mode).toBe("600");
    // A container of its own on the network: both configured peers are "others".
    expect(rest.join("\n")).toContain(addr(11));
    const bad = render(["-e", "KEEPALIVED_VIP=10.0.0.300/24"]);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain("KEEPALIVED_VIP must be a.b.c.d/len, not '10.0.0.300/24'");
    const noPeers = render(["-e", `KEEPALIVED_PEERS=${addr(50)}`, "--ip", addr(50)]);
    expect(noPeers.status).not.toBe(0);
    expect(noPeers.stderr).toContain("KEEPALIVED_PEERS names no other node");
  });

  it("puts the VIP on the higher-priority node, and the probe reaches it", async () => {
    const ms = await vipMovesTo(ka(1), ka(2), 30_000);
    console.log(`keepalived: VIP on ${ka(1)} ${ms} ms after the test started waiting`);
    const t = Date.now();
    await eventually("the probe reaching the VIP", 10_000, async () =>
      probeFailures(t, Date.now()).calls > 3 && probeFailures(t, Date.now()).failed === 0 ? true : undefined,
    );
    expect(docker(["logs", ka(1)])).toMatch(
      /^\[keepalived-notify\] INSTANCE flotilla is now MASTER \(priority 150\)$/m,
    );
  });

  it("moves the VIP to the backup within 5 s when the master's HAProxy dies, and back when it returns", async () => {
    const killed = Date.now();
    docker(["kill", lb(1)]);
    const away = await vipMovesTo(ka(2), ka(1), 10_000);
    await new Promise((r) => setTimeout(r, 3000));
    const down = probeFailures(killed, Date.now());
    console.log(
      `keepalived: HAProxy killed on ${ka(1)}: VIP on ${ka(2)} after ${away} ms; probe ${down.failed} failed of ${down.calls}`,
    );
    expect(away).toBeLessThan(5000);
    expect(docker(["logs", ka(2)])).toMatch(
      /^\[keepalived-notify\] INSTANCE flotilla is now MASTER \(priority 100\)$/m,
    );
    expect(docker(["logs", ka(1)])).toMatch(/^\[keepalived-notify\] INSTANCE flotilla is now FAULT/m);

    const restarted = Date.now();
    docker(["start", lb(1)]);
    const back = await vipMovesTo(ka(1), ka(2), 20_000);
    await new Promise((r) => setTimeout(r, 3000));
    const up = probeFailures(restarted, Date.now());
    console.log(
      `keepalived: HAProxy back on ${ka(1)}: VIP back after ${back} ms; probe ${up.failed} failed of ${up.calls}`,
    );
    expect(back).toBeLessThan(10_000);
  });

  it("releases the VIP when keepalived stops (docker stop exits 0), and the backup takes it", async () => {
    const stop = timedStop(ka(1), 10);
    const start = Date.now();
    await eventually(`the VIP on ${ka(2)}`, 10_000, async () => (holdsVip(ka(2)) ? true : undefined), 50);
    console.log(
      `keepalived: docker stop of the master took ${stop.ms} ms (exit ${stop.exitCode}); VIP on ${ka(2)} ${Date.now() - start} ms later`,
    );
    expect(stop.exitCode).toBe(0);
    expect(docker(["logs", ka(1)])).toMatch(/removing VIPs/);
  });
});
