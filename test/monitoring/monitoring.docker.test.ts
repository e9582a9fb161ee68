// The monitoring stack on the host engine's one-node Swarm, with the stacks it watches:
// Prometheus scrapes every job (up == 1), loads the alert rules, raises the backend alert
// when a webapp replica goes away, Alertmanager delivers it to a real webhook receiver
// (an HTTP server in this process, on the address Swarm tasks reach the host at) and then
// its resolution once the replica is back, timed from the fault; and the query page
// loads in headless Chromium behind basic auth (screenshot for the README). Figures go
// to test/artifacts/monitoring.json.

import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { chromium } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type StackName, serviceName } from "../../components/stacks";
import { type E2eEnv, until } from "../e2e/lib";
import { loadConfig } from "../support/config";
import { containers, deploy, randomSecrets, removeStacks } from "../support/deploy";
import { describeWithDocker } from "../support/docker";
import { stackImages } from "../support/images";
import { ok, run } from "../support/process";
import { ROOT } from "../support/pulumi";

const PREFIX = "flotilla-mon";
const ARTIFACTS = path.join(ROOT, "test", "artifacts");
const WATCHED: StackName[] = ["consul", "mysql", "webapp", "haproxy"];
const JOBS = ["haproxy", "consul", "webapp", "mysql", "node", "prometheus"];
const ALERTMANAGER_SERVICE = `${PREFIX}-monitoring_alertmanager`;

/** One notification as Alertmanager's webhook posts it (version 4), and when it arrived. */
interface Notification {
  at: number;
  receiver: string;
  status: "firing" | "resolved";
  groupLabels: Record<string, string>;
  alerts: {
    status: "firing" | "resolved";
    labels: Record<string, string>;
    startsAt: string;
    endsAt: string;
  }[];
}

/**
 * The webhook receiver: an HTTP server on the docker_gwbridge gateway, the host's address
 * on the bridge every Swarm task's container has for traffic leaving the overlay networks.
 */
async function startWebhookReceiver(): Promise<{ server: Server; url: string; received: Notification[] }> {
  const gateway = (
    await ok("docker", [
      "network",
      "inspect",
      "docker_gwbridge",
      "--format",
      "{{(index .IPAM.Config 0).Gateway}}",
    ])
  ).trim();
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(gateway))
    throw new Error(`no docker_gwbridge gateway address: '${gateway}'`);
  const received: Notification[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const at = Date.now();
      try {
        received.push({
          at,
          ...(JSON.parse(Buffer.concat(chunks).toString("utf8")) as Omit<Notification, "at">),
        });
        res.writeHead(200).end();
      } catch {
        res.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, gateway, resolve);
  });
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://${gateway}:${port}/alerts`, received };
}

describeWithDocker("monitoring stack: Prometheus scraping the other stacks on a one-node Swarm", () => {
  const dataDir = mkdtempSync("/tmp/flotilla-mon-mysql-");
  const secrets = randomSecrets();
  const env: E2eEnv = {
    prefix: PREFIX,
    config: loadConfig("dev", { "flotilla:mysql": { dataPath: dataDir } }),
    images: stackImages(),
    secrets,
  };
  const figures: Record<string, unknown> = {};
  let base = "";
  let webhook: Awaited<ReturnType<typeof startWebhookReceiver>> | undefined;
  const auth = () =>
    `Basic ${Buffer.from(`${env.config.monitoring.user}:${secrets.monitoringPassword}`).toString("base64")}`;
  const api = async (pathAndQuery: string) => {
    const res = await fetch(`${base}${pathAndQuery}`, { headers: { authorization: auth() } });
    if (!res.ok) throw new Error(`${pathAndQuery}: HTTP ${res.status}`);
    return (await res.json()) as { data: Record<string, unknown> & { result?: unknown } };
  };
  const query = async (expr: string) =>
    (await api(`/api/v1/query?query=${encodeURIComponent(expr)}`)).data.result as {
      metric: Record<string, string>;
      value: [number, string];
    }[];

  /**
   * The monitoring stack as the catalog renders it, with a short alert `for:` and scrape
   * interval, and Alertmanager as a multi-node target runs it: 2 replicas clustered
   * through tasks.<service> (here both on the one node, sharing its volume: each writes
   * its snapshots whole, and the cluster gossips them anyway).
   */
  async function deployMonitoring() {
    await deploy({ ...env, suite: "monitoring" }, "monitoring", {
      edit: (document) => {
        const prometheus = document.services.monitoring;
        prometheus.environment.PROMETHEUS_ALERT_FOR = "5s";
        prometheus.environment.PROMETHEUS_SCRAPE_INTERVAL = "5s";
        const alertmanager = document.services.alertmanager;
        alertmanager.deploy.replicas = 2;
        alertmanager.environment.ALERTMANAGER_PEERS = `tasks.${ALERTMANAGER_SERVICE}`;
      },
      waitSeconds: 180,
      timeoutMs: 240_000,
    });
  }

  beforeAll(async () => {
    await ok("bash", ["images/build.sh", "--only", "consul", "--only", "mysql", "--only", "prometheus"], {
      timeoutMs: 900_000,
    });
    await ok("bash", ["scripts/host/local-swarm.sh"]);
    // Alertmanager posts to the receiver; short grouping so a test waits seconds, not minutes.
    webhook = await startWebhookReceiver();
    env.config = loadConfig("dev", {
      "flotilla:mysql": { dataPath: dataDir },
      "flotilla:monitoring": {
        alerting: { webhooks: [webhook.url], groupWait: "1s", groupInterval: "5s", repeatInterval: "1h" },
      },
    });
    const started = Date.now();
    for (const stack of WATCHED) await deploy(env, stack);
    await deployMonitoring();
    figures.deploySeconds = Math.round((Date.now() - started) / 1000);
    const [id] = await containers(env, "monitoring" as StackName);
    const out = await ok("docker", ["port", id, "9090/tcp"]);
    base = `http://127.0.0.1:${/:(\d+)$/m.exec(out.split("\n")[0])![1]}`;
  }, 600_000);

  afterAll(async () => {
    await removeStacks(env, [...WATCHED, "monitoring"]);
    await new Promise((resolve) => (webhook ? webhook.server.close(resolve) : resolve(undefined)));
    await until(
      "the test's volumes removed",
      async () => {
        const vols = (await ok("docker", ["volume", "ls", "-q", "--filter", `name=${PREFIX}-`]))
          .split("\n")
          .filter(Boolean);
        if (vols.length) await run("docker", ["volume", "rm", ...vols]);
        return vols.length === 0;
      },
      60_000,
      2000,
    ).catch((e) => console.log(String(e)));
    await run("docker", [
      "run",
      "--rm",
      "-v",
      `${dataDir}:/d`,
      "--entrypoint",
      "sh",
      env.images.mysql,
      "-c",
      "rm -rf /d/*",
    ]);
    rmSync(dataDir, { recursive: true, force: true });
    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(path.join(ARTIFACTS, "monitoring.json"), `${JSON.stringify(figures, null, 2)}\n`);
    console.log(`monitoring figures: ${JSON.stringify(figures)}`);
  }, 300_000);

  it("refuses the UI and API without the password", async () => {
    expect((await fetch(`${base}/api/v1/query?query=up`)).status).toBe(401);
    const wrong = Buffer.from(`${env.config.monitoring.user}:not-the-password`).toString("base64");
    expect((await fetch(`${base}/graph`, { headers: { authorization: `Basic ${wrong}` } })).status).toBe(401);
  });

  it("scrapes every job: haproxy, consul, webapp, mysql, node (up == 1)", async () => {
    const ms = await until(
      "every job up",
      async () => {
        const up = await query("min by (job) (up)");
        const byJob = Object.fromEntries(up.map((r) => [r.metric.job, r.value[1]]));
        figures.up = byJob;
        return JOBS.every((j) => byJob[j] === "1");
      },
      120_000,
      2000,
    ).catch((e) => {
      throw new Error(`${e}: last up by job ${JSON.stringify(figures.up)}`);
    });
    figures.allJobsUpAfterMs = ms;
    const durations = await query("max by (job) (scrape_duration_seconds)");
    figures.scrapeDurationMs = Object.fromEntries(
      durations.map((r) => [r.metric.job, Math.round(Number(r.value[1]) * 10000) / 10]),
    );
    // Series from each source, not just a target that answers.
    for (const expr of [
      'haproxy_backend_active_servers{proxy="webapp"}',
      "consul_autopilot_healthy",
      "mysql_global_status_uptime",
      "node_load1",
    ]) {
      expect((await query(expr)).length, expr).toBeGreaterThan(0);
    }
    const memory = await query('process_resident_memory_bytes{job="prometheus"}');
    figures.prometheusRssMiB = Math.round(Number(memory[0].value[1]) / 1048576);
    const series = await query("prometheus_tsdb_head_series");
    figures.headSeries = Number(series[0].value[1]);
    console.log(
      `scrape durations (ms): ${JSON.stringify(figures.scrapeDurationMs)}; RSS ${figures.prometheusRssMiB} MiB`,
    );
  }, 150_000);

  it("loads the alert rules", async () => {
    const groups = (await api("/api/v1/rules")).data.groups as { rules: { name: string }[] }[];
    const names = groups.flatMap((g) => g.rules.map((r) => r.name));
    for (const alert of [
      "FlotillaBackendServerDown",
      "FlotillaBackendDegraded",
      "FlotillaBackendDown",
      "FlotillaDatabaseMemberNotSynced",
      "FlotillaDatabaseClusterShrunk",
      "FlotillaConsulServerMissing",
      "FlotillaNodeDown",
    ]) {
      expect(names).toContain(alert);
    }
    expect(names).toContain("flotilla:expected_webapp_replicas");
  });

  it("settles with no alert for a healthy database, Consul or node (one server: no Galera alert)", async () => {
    const quiet = [
      "FlotillaDatabaseDown",
      "FlotillaDatabaseMemberNotSynced",
      "FlotillaDatabaseClusterShrunk",
      "FlotillaDatabaseMembersMissing",
      "FlotillaConsulServerMissing",
      "FlotillaConsulUnhealthy",
      "FlotillaNodeDown",
    ];
    // Pending alerts from before the first scrapes (no target yet) resolve within a few evaluations.
    let names: string[] = [];
    await until(
      "no database, Consul or node alert",
      async () => {
        const alerts = (await api("/api/v1/alerts")).data.alerts as { labels: { alertname: string } }[];
        names = alerts.map((a) => a.labels.alertname);
        return !names.some((n) => quiet.includes(n));
      },
      60_000,
      2000,
    ).catch((e) => {
      throw new Error(`${e}: alerts ${JSON.stringify(names)}`);
    });
    figures.alertsWhenHealthy = names;
  });

  it("sends every alert to both Alertmanagers, which form one cluster over the stack's network", async () => {
    const replicas = await ok("docker", [
      "service",
      "ls",
      "--filter",
      `name=${ALERTMANAGER_SERVICE}`,
      "--format",
      "{{.Replicas}}",
    ]);
    expect(replicas.trim()).toBe("2/2");
    // Prometheus finds both by DNS (tasks.<service>) and posts to each.
    let urls: string[] = [];
    await until(
      "Prometheus posting to 2 Alertmanagers",
      async () => {
        const ams = (await api("/api/v1/alertmanagers")).data.activeAlertmanagers as { url: string }[];
        urls = ams.map((a) => a.url);
        return urls.length === 2;
      },
      30_000,
      1000,
    );
    const addresses = urls.map((u) => /^http:\/\/(\d+\.\d+\.\d+\.\d+):9093\/api\/v2\/alerts$/.exec(u)?.[1]);
    expect(addresses.every(Boolean), urls.join(" ")).toBe(true);
    const ids = (
      await ok("docker", [
        "ps",
        "-q",
        "--filter",
        `label=com.docker.swarm.service.name=${ALERTMANAGER_SERVICE}`,
      ])
    )
      .split("\n")
      .filter(Boolean);
    expect(ids).toHaveLength(2);
    for (const id of ids) {
      // Healthy: its health check asks /-/healthy with the API's password.
      expect((await ok("docker", ["inspect", id, "--format", "{{.State.Health.Status}}"])).trim()).toBe(
        "healthy",
      );
      // Each sees both peers, at their addresses on the stack's network (not docker_gwbridge's).
      let cluster: { status?: string; peers?: { address: string }[] } = {};
      await until(
        "the Alertmanager cluster ready with 2 peers",
        async () => {
          const out = await ok("docker", [
            "exec",
            id,
            "amtool",
            "cluster",
            "show",
            "-o",
            "json",
            "--alertmanager.url=http://127.0.0.1:9093",
            "--http.config.file=/dev/shm/prometheus/client.yml",
          ]);
          cluster = JSON.parse(out) as typeof cluster;
          return cluster.status === "ready" && cluster.peers?.length === 2;
        },
        60_000,
        1000,
      ).catch((e) => {
        throw new Error(`${e}: ${JSON.stringify(cluster)}`);
      });
      expect(cluster.peers?.map((p) => p.address.replace(/:9094$/, "")).sort()).toEqual(
        [...addresses].sort(),
      );
    }
  }, 120_000);

  it("raises the backend alert when a webapp replica goes away, delivers it to the webhook, then its resolution", async () => {
    const webapp = serviceName(PREFIX, "webapp");
    const replicas = env.config.webapp.replicas;
    const received = webhook?.received ?? [];
    // First every replica is in HAProxy's backend, and the alert is quiet.
    await until(
      `HAProxy reporting ${replicas} webapp servers up`,
      async () => {
        const active = await query('min(haproxy_backend_active_servers{proxy="webapp"})');
        return Number(active[0]?.value[1]) === replicas;
      },
      90_000,
      2000,
    );
    const before = (await api("/api/v1/alerts")).data.alerts as { labels: { alertname: string } }[];
    expect(before.map((a) => a.labels.alertname)).not.toContain("FlotillaBackendDegraded");
    const degraded = (n: Notification, status: "firing" | "resolved") =>
      n.alerts.find((a) => a.labels.alertname === "FlotillaBackendDegraded" && a.status === status);

    // The fault: one replica lost.
    const started = Date.now();
    await ok("docker", ["service", "scale", "--detach", `${webapp}=${replicas - 1}`]);
    let state = "";
    await until(
      "FlotillaBackendDegraded firing in Prometheus",
      async () => {
        const alerts = (await api("/api/v1/alerts")).data.alerts as {
          labels: { alertname: string };
          state: string;
        }[];
        state = alerts.find((a) => a.labels.alertname === "FlotillaBackendDegraded")?.state ?? "";
        return state === "firing";
      },
      90_000,
      1000,
    );
    figures.backendAlertFiringAfterMs = Date.now() - started;
    expect(state).toBe("firing");
    let firing: Notification | undefined;
    await until(
      "the webhook receiving FlotillaBackendDegraded firing",
      async () => {
        firing = received.find((n) => n.at >= started && n.status === "firing" && degraded(n, "firing"));
        return firing !== undefined;
      },
      60_000,
      250,
    ).catch((e) => {
      throw new Error(`${e}: received ${JSON.stringify(received.map((n) => [n.status, n.groupLabels]))}`);
    });
    if (!firing) throw new Error("unreachable");
    figures.webhookFiringAfterMs = firing.at - started;
    expect(firing.receiver).toBe("flotilla");
    // Grouped by alertname and service; the rule's labels, from the HAProxy that saw it.
    expect(firing.groupLabels).toEqual({ alertname: "FlotillaBackendDegraded", service: "webapp" });
    expect(degraded(firing, "firing")?.labels).toMatchObject({
      alertname: "FlotillaBackendDegraded",
      severity: "warning",
      service: "webapp",
      job: "haproxy",
      proxy: "webapp",
    });

    // The fault undone: the replica back.
    const restored = Date.now();
    await ok("docker", ["service", "scale", "--detach", `${webapp}=${replicas}`]);
    let resolved: Notification | undefined;
    await until(
      "the webhook receiving FlotillaBackendDegraded resolved",
      async () => {
        resolved = received.find((n) => n.at > (firing?.at ?? 0) && degraded(n, "resolved"));
        return resolved !== undefined;
      },
      120_000,
      250,
    ).catch((e) => {
      throw new Error(`${e}: received ${JSON.stringify(received.map((n) => [n.status, n.groupLabels]))}`);
    });
    if (!resolved) throw new Error("unreachable");
    figures.webhookResolvedAfterRestoreMs = resolved.at - restored;
    figures.webhookResolvedAfterFaultMs = resolved.at - started;
    expect(resolved.status).toBe("resolved");
    expect(resolved.groupLabels).toEqual(firing.groupLabels);
    const alert = degraded(resolved, "resolved");
    // The same alert (same start), now with an end.
    expect(alert?.startsAt).toBe(degraded(firing, "firing")?.startsAt);
    expect(Date.parse(alert?.endsAt ?? "")).toBeGreaterThan(Date.parse(alert?.startsAt ?? ""));
    // Two Alertmanagers got the alert, one notification went out: the cluster's shared
    // notification log (the second replica waits its turn, sees the first one's entry).
    const firings = received.filter((n) => n.at >= started && n.status === "firing" && degraded(n, "firing"));
    figures.webhookFiringNotifications = firings.length;
    expect(firings).toHaveLength(1);
    console.log(
      `alert delivery: fault -> firing in Prometheus ${figures.backendAlertFiringAfterMs} ms, ` +
        `-> webhook firing ${figures.webhookFiringAfterMs} ms; replica back -> webhook resolved ` +
        `${figures.webhookResolvedAfterRestoreMs} ms (${figures.webhookResolvedAfterFaultMs} ms after the fault)`,
    );
  }, 300_000);

  it("shows the series on the query page in headless Chromium (screenshot)", async () => {
    const browser = await chromium.launch({
      executablePath: "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-sync",
      ],
    });
    try {
      // The password goes to the browser over its control pipe: never in argv or a URL.
      const context = await browser.newContext({
        httpCredentials: { username: env.config.monitoring.user, password: secrets.monitoringPassword },
        viewport: { width: 1400, height: 900 },
      });
      const page = await context.newPage();
      const expr = encodeURIComponent("up");
      // Debian packages the classic UI only (/graph says so and links here).
      const res = await page.goto(`${base}/classic/graph?g0.expr=${expr}&g0.tab=1`);
      expect(res?.status()).toBe(200);
      for (const job of ["haproxy", "consul", "webapp", "mysql"]) {
        await page.getByText(`job="${job}"`).first().waitFor({ timeout: 30_000 });
      }
      mkdirSync(ARTIFACTS, { recursive: true });
      const file = path.join(ARTIFACTS, "prometheus.png");
      await page.screenshot({ path: file, fullPage: true });
      // The committed picture changes only when asked (a run never dirties the work tree).
      if (process.env.FLOTILLA_UPDATE_SCREENSHOTS === "1")
        copyFileSync(file, path.join(ROOT, "docs", "img", "prometheus.png"));
    } finally {
      await browser.close();
    }
  }, 120_000);
});
