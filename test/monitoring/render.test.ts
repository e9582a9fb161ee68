// The monitoring stack's document (pure: no Docker), its alerting config (receivers,
// grouping, secrets) and the image's alert rules file and Alertmanager config (promtool
// and amtool, from the image when it exists).
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { ConfigError, type FlotillaConfig, parseConfig } from "../../components/config";
import {
  ALERTMANAGER_SECRETS,
  alertmanagerEnvironment,
  alertmanagerReplicas,
  composeYaml,
  expectedNodes,
  overlayNetworks,
  renderStack,
  SECRET_TARGETS,
  type SecretTarget,
  STACK_SECRETS,
  stackSpec,
} from "../../components/stacks";
import { loadConfig, stackConfig } from "../support/config";
import { dockerAvailable } from "../support/docker";
import { stackImages } from "../support/images";
import { ROOT } from "../support/pulumi";

const images = stackImages();
const secretNames = Object.fromEntries(
  SECRET_TARGETS.map((t) => [t, `flotilla-${t}-0123456789abcdef`]),
) as Record<SecretTarget, string>;
const config = (stack: "dev" | "helion", overrides: Record<string, unknown> = {}): FlotillaConfig =>
  loadConfig(stack, overrides);
const render = (c: FlotillaConfig, extra: { prefix?: string; randomPorts?: boolean } = {}) =>
  renderStack("monitoring", { config: c, images, secretNames, ...extra });

describe("monitoring stack document", () => {
  it("is the catalog's sixth stack, on by monitoring.enabled", () => {
    const spec = stackSpec("monitoring");
    expect(spec.type).toBe("flotilla:stacks:MonitoringStack");
    expect(spec.enabled(config("dev"))).toBe(true);
    expect(spec.enabled(config("dev", { "flotilla:monitoring": { enabled: false } }))).toBe(false);
  });

  it("Prometheus on a manager: UI on monitoring.port (host mode), data volume, least privilege", () => {
    const doc = render(config("helion", { "flotilla:monitoring": { port: 9999, retentionDays: 30 } }));
    const p = doc.services.monitoring;
    expect(p.image).toBe("flotilla/prometheus:0.1.0");
    expect(p.deploy.placement.constraints).toEqual(["node.role == manager"]);
    expect(p.deploy.replicas).toBe(1);
    expect(p.ports).toEqual([{ target: 9090, published: 9999, protocol: "tcp", mode: "host" }]);
    expect(p.user).toBe("990:990");
    expect(p.read_only).toBe(true);
    expect(p.cap_drop).toEqual(["ALL"]);
    expect(p.cap_add).toBeUndefined();
    expect(p.volumes).toEqual([{ type: "volume", source: "prometheus-data", target: "/var/lib/prometheus" }]);
    expect(p.environment.PROMETHEUS_RETENTION_DAYS).toBe("30");
    expect(p.environment.PROMETHEUS_USER).toBe("admin");
    // Secrets: read-only, owned by the image's user, and nothing else of the system's
    // (the alert receivers' secrets are Alertmanager's alone).
    expect(p.secrets?.map((s) => [s.target, s.uid, s.gid, s.mode])).toEqual(
      STACK_SECRETS.monitoring
        .filter((t) => !ALERTMANAGER_SECRETS.includes(t))
        .map((t) => [t, "990", "990", 0o400]),
    );
    expect(p.secrets?.map((s) => s.target)).not.toContain("alertmanager_smtp_password");
    expect(p.secrets?.map((s) => s.target)).not.toContain("alertmanager_chat_url");
    expect(STACK_SECRETS.monitoring).not.toContain("mysql_root_password");
    expect(STACK_SECRETS.monitoring).not.toContain("consul_master_token");
    // Engine-picked port in tests.
    expect(
      render(config("dev"), { randomPorts: true }).services.monitoring.ports?.[0].published,
    ).toBeUndefined();
  });

  it("scrapes every other stack by its tasks.<service> name, and expects what the config makes", () => {
    const dev = render(config("dev"), { prefix: "e2e" }).services.monitoring.environment;
    expect(dev).toMatchObject({
      SCRAPE_HAPROXY: "tasks.e2e-haproxy_haproxy",
      SCRAPE_CONSUL: "tasks.e2e-consul_consul",
      SCRAPE_WEBAPP: "tasks.e2e-webapp_webapp",
      SCRAPE_MYSQL: "tasks.e2e-mysql_mysql",
      SCRAPE_NODE: "tasks.e2e-monitoring_node-exporter",
      HAPROXY_METRICS_PORT: "8404",
      HAPROXY_METRICS_USER: "metrics",
      WEBAPP_METRICS_PORT: "9100",
      EXPECTED_NODES: "1",
      EXPECTED_CONSUL_SERVERS: "1",
      EXPECTED_MYSQL_MEMBERS: "1",
      EXPECTED_WEBAPP_REPLICAS: "2",
      // Prometheus posts every alert to each Alertmanager task.
      ALERTMANAGERS: "tasks.e2e-monitoring_alertmanager",
    });
    const helion = config("helion");
    const env = render(helion).services.monitoring.environment;
    // Galera: every member is probed.
    expect(env.SCRAPE_MYSQL.split(",")).toHaveLength(helion.mysql.nodes);
    expect(env.EXPECTED_NODES).toBe(String(helion.swarm.managers + helion.swarm.workers));
    expect(expectedNodes({ config: helion, images, secretNames })).toBe(
      helion.swarm.managers + helion.swarm.workers,
    );
  });

  it("node exporters: global, on the stack's own network only, no secrets, no port, no health check", () => {
    const doc = render(config("helion"));
    const n = doc.services["node-exporter"];
    expect(n.deploy.mode).toBe("global");
    expect(n.networks).toEqual(["monitoring"]);
    expect(n.secrets).toBeUndefined();
    expect(n.ports).toBeUndefined();
    expect(n.environment.FLOTILLA_ROLE).toBe("node-exporter");
    expect(n.read_only).toBe(true);
    expect(n.cap_drop).toEqual(["ALL"]);
    // s6 and Prometheus watch it: no docker exec every 5 s on every node.
    expect(n.healthcheck).toEqual({ disable: true });
    expect(doc.networks?.monitoring).toEqual({
      driver: "overlay",
      labels: { "flotilla.stack": "monitoring" },
    });
    // The deploy script creates the shared networks only; the stack makes its own.
    expect(overlayNetworks(doc)).toEqual(["flotilla-consul", "flotilla-data", "flotilla-edge"]);
    expect(doc.services.monitoring.networks.sort()).toEqual(["consul", "data", "edge", "monitoring"]);
  });

  it("the image's alert rules pass promtool check rules", () => {
    const rules = readFileSync(
      path.join(ROOT, "images/prometheus/rootfs/usr/share/flotilla/prometheus/rules.yml"),
      "utf8",
    );
    for (const alert of [
      "FlotillaBackendServerDown",
      "FlotillaBackendDegraded",
      "FlotillaDatabaseMemberNotSynced",
      "FlotillaDatabaseClusterShrunk",
      "FlotillaConsulServerMissing",
      "FlotillaNodeDown",
    ])
      expect(rules).toContain(`alert: ${alert}`);
    // promtool is in the image (the image build runs the same check).
    if (
      !dockerAvailable() ||
      spawnSync("docker", ["image", "inspect", "flotilla/prometheus:0.1.0"]).status !== 0
    )
      return;
    const out = execFileSync(
      "docker",
      [
        "run",
        "--rm",
        "-i",
        "--entrypoint",
        "promtool",
        "flotilla/prometheus:0.1.0",
        "check",
        "rules",
        "/dev/stdin",
      ],
      { input: rules, encoding: "utf8" },
    );
    expect(out).toMatch(/SUCCESS: 11 rules found/);
  });
});

/** The problems a config (with secret keys) is refused with. */
function problemsOf(overrides: Record<string, unknown>): string[] {
  try {
    parseConfig(stackConfig("dev", overrides));
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error("expected the config to be refused");
}

const CHAT_URL = "https://chat.example.org/hooks/T000/B000/s3cr3t-token-in-the-url";
const SMTP_PASSWORD = "smtp-s3cr3t-password";
const receivers = {
  webhooks: ["http://hooks.example.org:8080/flotilla", "https://oncall.example.org/in?team=web"],
  email: {
    smarthost: "smtp.example.org:587",
    from: "flotilla@example.org",
    to: ["ops@example.org", "db@example.org"],
    username: "flotilla",
  },
  chat: { enabled: true, channel: "#ops" },
};
const withReceivers = {
  "flotilla:monitoring": { alerting: receivers },
  "flotilla:alertChatWebhookUrl": CHAT_URL,
  "flotilla:alertSmtpPassword": SMTP_PASSWORD,
};

describe("Alertmanager in the monitoring stack", () => {
  it("on multi-node targets: 2 replicas on two managers, clustered through tasks.<service>", () => {
    const doc = render(config("helion"));
    const a = doc.services.alertmanager;
    expect(a.environment.FLOTILLA_ROLE).toBe("alertmanager");
    expect(a.deploy.mode).toBe("replicated");
    expect(a.deploy.replicas).toBe(2);
    expect(a.deploy.placement).toEqual({ constraints: ["node.role == manager"], max_replicas_per_node: 1 });
    expect(a.deploy.endpoint_mode).toBe("dnsrr");
    expect(a.environment.ALERTMANAGER_PEERS).toBe("tasks.flotilla-monitoring_alertmanager");
    // Prometheus finds every replica by the same name.
    expect(doc.services.monitoring.environment.ALERTMANAGERS).toBe(`tasks.flotilla-monitoring_alertmanager`);
    // One manager: one replica, no cluster (two could never be placed one per node).
    const oneManager = config("helion", {
      "flotilla:swarm": { managers: 1 },
      "flotilla:consul": { servers: 1 },
    });
    expect(alertmanagerReplicas({ config: oneManager, images, secretNames })).toBe(1);
    expect(render(oneManager).services.alertmanager.environment.ALERTMANAGER_PEERS).toBe("");
  });

  it("on local: 1 replica, clustering off", () => {
    const a = render(config("dev")).services.alertmanager;
    expect(a.deploy.replicas).toBe(1);
    expect(a.deploy.placement).toEqual({ constraints: ["node.role == manager"] });
    expect(a.environment.ALERTMANAGER_PEERS).toBe("");
  });

  it("least privilege: the stack's own network only, not published, read-only, its secrets as files (0400)", () => {
    const doc = render(config("helion"));
    const a = doc.services.alertmanager;
    expect(a.networks).toEqual(["monitoring"]);
    expect(a.ports).toBeUndefined();
    expect(a.user).toBe("990:990");
    expect(a.read_only).toBe(true);
    expect(a.cap_drop).toEqual(["ALL"]);
    expect(a.volumes).toEqual([
      { type: "volume", source: "alertmanager-data", target: "/var/lib/prometheus" },
    ]);
    expect(a.secrets?.map((s) => [s.source, s.target, s.uid, s.gid, s.mode])).toEqual(
      ["prometheus_password", "alertmanager_smtp_password", "alertmanager_chat_url"].map((t) => [
        t,
        t,
        "990",
        "990",
        0o400,
      ]),
    );
    // Each is a Docker secret the deploy script creates under its keyed name.
    expect(doc.secrets?.alertmanager_smtp_password).toEqual({
      external: true,
      name: secretNames.alertmanager_smtp_password,
    });
    expect(doc.secrets?.alertmanager_chat_url).toEqual({
      external: true,
      name: secretNames.alertmanager_chat_url,
    });
    expect(doc.volumes?.["alertmanager-data"]).toEqual({ labels: { "flotilla.stack": "monitoring" } });
  });

  it("defaults: no receiver, grouped by alertname and service, 30s / 5m / 4h", () => {
    const env = render(config("dev")).services.alertmanager.environment;
    expect(env).toMatchObject({
      ALERTMANAGER_WEBHOOKS: "",
      ALERTMANAGER_SMTP_SMARTHOST: "",
      ALERTMANAGER_CHAT: "false",
      ALERTMANAGER_GROUP_BY: "alertname,service",
      ALERTMANAGER_GROUP_WAIT: "30s",
      ALERTMANAGER_GROUP_INTERVAL: "5m",
      ALERTMANAGER_REPEAT_INTERVAL: "4h",
    });
  });

  it("receivers from typed config: webhooks, e-mail over SMTP, a chat webhook; the secrets stay out of the document", () => {
    const parsed = parseConfig(stackConfig("dev", withReceivers), { isSecret: () => true });
    const doc = render(parsed.config);
    const env = doc.services.alertmanager.environment;
    expect(env).toMatchObject({
      ALERTMANAGER_WEBHOOKS: "http://hooks.example.org:8080/flotilla,https://oncall.example.org/in?team=web",
      ALERTMANAGER_SMTP_SMARTHOST: "smtp.example.org:587",
      ALERTMANAGER_SMTP_FROM: "flotilla@example.org",
      ALERTMANAGER_SMTP_TO: "ops@example.org,db@example.org",
      ALERTMANAGER_SMTP_USER: "flotilla",
      ALERTMANAGER_SMTP_REQUIRE_TLS: "true",
      ALERTMANAGER_CHAT: "true",
      ALERTMANAGER_CHAT_CHANNEL: "#ops",
    });
    expect(parsed.secrets).toMatchObject({ alertChatWebhookUrl: CHAT_URL, alertSmtpPassword: SMTP_PASSWORD });
    // Neither secret in any environment or anywhere in the YAML the deploy hands over.
    const yaml = composeYaml(doc);
    expect(yaml).not.toContain("s3cr3t");
    expect(yaml).not.toContain("chat.example.org");
    expect(
      alertmanagerEnvironment({ config: parsed.config, images, secretNames }, stackSpec("monitoring")),
    ).toEqual(env);
  });

  it("refuses bad alerting input, naming the key", () => {
    const alerting = (a: Record<string, unknown>) => ({ "flotilla:monitoring": { alerting: a } });
    const cases: [Record<string, unknown>, RegExp][] = [
      [
        alerting({ webhooks: ["ftp://hooks.example.org/x"] }),
        /^flotilla:monitoring\.alerting\.webhooks\.0: expected an http/,
      ],
      [
        alerting({ webhooks: ["http://a.example.org/x,y"] }),
        /^flotilla:monitoring\.alerting\.webhooks\.0: .*commas/,
      ],
      [
        alerting({ email: { smarthost: "smtp.example.org", from: "a@example.org", to: ["b@example.org"] } }),
        /^flotilla:monitoring\.alerting\.email\.smarthost: expected the SMTP server as host:port/,
      ],
      [
        alerting({
          email: { smarthost: "smtp.example.org:25", from: "a@example.org", to: ["not-an-address"] },
        }),
        /^flotilla:monitoring\.alerting\.email\.to\.0: expected an e-mail address/,
      ],
      [
        alerting({ email: { smarthost: "smtp.example.org:25", from: "a@example.org", to: [] } }),
        /^flotilla:monitoring\.alerting\.email\.to: expected at least one recipient/,
      ],
      [alerting({ groupWait: "soon" }), /^flotilla:monitoring\.alerting\.groupWait: expected a duration/],
      [
        alerting({ groupBy: ["alert-name"] }),
        /^flotilla:monitoring\.alerting\.groupBy\.0: expected a label name/,
      ],
      [
        alerting({ groupInterval: "10m", repeatInterval: "5m" }),
        /^flotilla:monitoring\.alerting\.repeatInterval: expected at least groupInterval \(10m\)/,
      ],
      [
        alerting({ chat: { enabled: true, channel: "ops room" } }),
        /^flotilla:monitoring\.alerting\.chat\.channel: /,
      ],
      [alerting({ pager: "yes" }), /^flotilla:monitoring\.alerting\.pager: unknown key/],
    ];
    for (const [overrides, expected] of cases) {
      const problems = problemsOf(overrides);
      expect(
        problems.some((p) => expected.test(p)),
        `${JSON.stringify(overrides)}: ${problems.join("; ")}`,
      ).toBe(true);
    }
  });

  it("ties each receiver's secret to the config that uses it, never showing a value", () => {
    expect(problemsOf({ "flotilla:monitoring": { alerting: { chat: { enabled: true } } } })).toEqual([
      expect.stringMatching(
        /^flotilla:alertChatWebhookUrl: required when flotilla:monitoring\.alerting\.chat\.enabled is true/,
      ),
    ]);
    expect(problemsOf({ "flotilla:alertChatWebhookUrl": CHAT_URL })).toEqual([
      expect.stringMatching(
        /^flotilla:monitoring\.alerting\.chat\.enabled: expected true when flotilla:alertChatWebhookUrl is set/,
      ),
    ]);
    expect(
      problemsOf({
        "flotilla:monitoring": { alerting: { email: { ...receivers.email } } },
      }),
    ).toEqual([
      expect.stringMatching(
        /^flotilla:alertSmtpPassword: required when flotilla:monitoring\.alerting\.email\.username is set/,
      ),
    ]);
    expect(problemsOf({ "flotilla:alertSmtpPassword": SMTP_PASSWORD })).toEqual([
      expect.stringMatching(
        /^flotilla:monitoring\.alerting\.email\.username: required when flotilla:alertSmtpPassword is set/,
      ),
    ]);
    // A chat URL that is no URL: refused, its content not shown.
    const bad = problemsOf({ ...withReceivers, "flotilla:alertChatWebhookUrl": "s3cr3t token, not a url" });
    expect(bad).toEqual([
      expect.stringMatching(/^flotilla:alertChatWebhookUrl: expected an http:\/\/ or https:\/\/ URL/),
    ]);
    expect(bad.join("\n")).not.toContain("s3cr3t");
    // Short SMTP passwords are the provider's to choose (the 12-character floor is for generated ones).
    expect(() =>
      parseConfig(stackConfig("dev", { ...withReceivers, "flotilla:alertSmtpPassword": "short" })),
    ).not.toThrow();
  });

  it("every alert rule carries severity and service (what Alertmanager groups and inhibits by)", () => {
    const rules = parseYaml(
      readFileSync(
        path.join(ROOT, "images/prometheus/rootfs/usr/share/flotilla/prometheus/rules.yml"),
        "utf8",
      ),
    ) as { groups: { rules: { alert?: string; labels?: Record<string, string> }[] }[] };
    const alerts = rules.groups.flatMap((g) => g.rules).filter((r) => r.alert);
    expect(alerts.length).toBe(11);
    for (const r of alerts) {
      expect(["warning", "critical"], `${r.alert} severity`).toContain(r.labels?.severity);
      expect(r.labels?.service, `${r.alert} service`).toMatch(
        /^(webapp|mysql|consul|node|\{\{ \$labels\.job \}\})$/,
      );
    }
    // The alerts the inhibition rules name exist (alertmanager-setup).
    const setup = readFileSync(
      path.join(ROOT, "images/prometheus/rootfs/usr/lib/flotilla/alertmanager-setup"),
      "utf8",
    );
    const named = [...setup.matchAll(/alertname="(\w+)"/g)].map((m) => m[1]);
    expect(named.length).toBeGreaterThanOrEqual(4);
    for (const name of named) expect(alerts.map((a) => a.alert)).toContain(name);
  });

  it("the image's alertmanager-setup writes, from this environment, a config amtool accepts", () => {
    if (
      !dockerAvailable() ||
      spawnSync("docker", ["image", "inspect", "flotilla/prometheus:0.1.0"]).status !== 0 ||
      spawnSync("docker", [
        "run",
        "--rm",
        "--entrypoint",
        "test",
        "flotilla/prometheus:0.1.0",
        "-x",
        "/usr/lib/flotilla/alertmanager-setup",
      ]).status !== 0
    )
      return;
    const parsed = parseConfig(stackConfig("helion", withReceivers));
    const env = render(parsed.config).services.alertmanager.environment;
    // Without peers (no Swarm DNS here); the secrets as files, as Swarm mounts them.
    const envArgs = Object.entries({
      ...env,
      ALERTMANAGER_PEERS: "",
      PROMETHEUS_SECRETS_DIR: "/dev/shm/s",
    }).flatMap(([k, v]) => ["-e", `${k}=${v}`]);
    const script = [
      "set -eu",
      "mkdir -p /dev/shm/s",
      "printf %s monitoring-password >/dev/shm/s/prometheus_password",
      // On stdin, never in argv: one line each (read takes one line off a pipe, head more).
      'IFS= read -r smtp && printf %s "$smtp" >/dev/shm/s/alertmanager_smtp_password',
      'IFS= read -r url && printf %s "$url" >/dev/shm/s/alertmanager_chat_url',
      "chmod 0400 /dev/shm/s/*",
      "/usr/lib/flotilla/alertmanager-setup >&2",
      "amtool check-config /dev/shm/prometheus/alertmanager.yml >&2",
      "cat /dev/shm/prometheus/alertmanager.yml",
    ].join("\n");
    const out = execFileSync(
      "docker",
      ["run", "--rm", "-i", ...envArgs, "--entrypoint", "sh", "flotilla/prometheus:0.1.0", "-c", script],
      { input: `${SMTP_PASSWORD}\n${CHAT_URL}\n`, encoding: "utf8" },
    );
    expect(out).not.toContain("s3cr3t");
    const am = parseYaml(out) as {
      route: Record<string, unknown>;
      receivers: Record<string, { [k: string]: unknown }[]>[];
      inhibit_rules: { source_matchers: string[]; target_matchers: string[]; equal?: string[] }[];
    };
    expect(am.route).toEqual({
      receiver: "flotilla",
      group_by: ["alertname", "service"],
      group_wait: "30s",
      group_interval: "5m",
      repeat_interval: "4h",
    });
    const [flotilla] = am.receivers;
    expect(flotilla.webhook_configs.map((w) => [w.url, w.send_resolved])).toEqual([
      ["http://hooks.example.org:8080/flotilla", true],
      ["https://oncall.example.org/in?team=web", true],
    ]);
    expect(flotilla.email_configs).toEqual([
      {
        to: "ops@example.org, db@example.org",
        from: "flotilla@example.org",
        smarthost: "smtp.example.org:587",
        require_tls: true,
        send_resolved: true,
        auth_username: "flotilla",
        auth_password_file: "/dev/shm/s/alertmanager_smtp_password",
      },
    ]);
    expect(flotilla.slack_configs).toEqual([
      { api_url_file: "/dev/shm/s/alertmanager_chat_url", send_resolved: true, channel: "#ops" },
    ]);
    expect(am.inhibit_rules).toContainEqual({
      source_matchers: ['alertname="FlotillaNodeDown"'],
      target_matchers: ['severity="warning"'],
    });
    expect(am.inhibit_rules).toContainEqual({
      source_matchers: ['severity="critical"'],
      target_matchers: ['severity="warning"'],
      equal: ["service"],
    });
  }, 60_000);
});
