// The monitoring stack on the host engine's one-node Swarm, with the stacks it watches:
// Prometheus scrapes every job (up == 1), loads the alert rules, raises the backend alert
// when a webapp replica goes away, and its query page loads in headless Chromium behind
// basic auth (screenshot for the README). Figures go to test/artifacts/monitoring.json.

import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
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

  /** The monitoring stack as the catalog renders it, with a short alert `for:` and scrape interval. */
  async function deployMonitoring() {
    await deploy({ ...env, suite: "monitoring" }, "monitoring", {
      edit: (document) => {
        const prometheus = document.services.monitoring;
        prometheus.environment.PROMETHEUS_ALERT_FOR = "5s";
        prometheus.environment.PROMETHEUS_SCRAPE_INTERVAL = "5s";
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

  it("raises the backend alert when a webapp replica goes away", async () => {
    const webapp = serviceName(PREFIX, "webapp");
    const replicas = env.config.webapp.replicas;
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
    const started = Date.now();
    await ok("docker", ["service", "scale", "--detach", `${webapp}=${replicas - 1}`]);
    let state = "";
    await until(
      "FlotillaBackendDegraded pending or firing",
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
  }, 120_000);

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
