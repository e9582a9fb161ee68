// The monitoring stack's document (pure: no Docker) and the image's alert rules file
// (promtool, from the image when it exists).
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { FlotillaConfig } from "../../components/config";
import {
  expectedNodes,
  overlayNetworks,
  renderStack,
  SECRET_TARGETS,
  type SecretTarget,
  STACK_SECRETS,
  stackSpec,
} from "../../components/stacks";
import { loadConfig } from "../support/config";
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
    // Secrets: read-only, owned by the image's user, and nothing else of the system's.
    expect(p.secrets?.map((s) => [s.target, s.uid, s.gid, s.mode])).toEqual(
      STACK_SECRETS.monitoring.map((t) => [t, "990", "990", 0o400]),
    );
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

  it("node exporters: global, on the stack's own network only, no secrets, no port", () => {
    const doc = render(config("helion"));
    const n = doc.services["node-exporter"];
    expect(n.deploy.mode).toBe("global");
    expect(n.networks).toEqual(["monitoring"]);
    expect(n.secrets).toBeUndefined();
    expect(n.ports).toBeUndefined();
    expect(n.environment.FLOTILLA_ROLE).toBe("node-exporter");
    expect(n.read_only).toBe(true);
    expect(n.cap_drop).toEqual(["ALL"]);
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
