// The stack renderers: what each compose document promises (networks, ports, secrets,
// placement, updates), checked as plain data, by snapshot, and by the real Docker CLI.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { type FlotillaConfig, parseConfig } from "../../components/config";
import type { ComposeFile } from "../../components/stacks";
import {
  composeHash,
  composeYaml,
  documentSecrets,
  enabledStacks,
  overlayNetworks,
  type RenderInput,
  renderStack,
  renderStacks,
  SECRET_TARGETS,
  STACKS,
  secretName,
  swarmLiteral,
} from "../../components/stacks";
import { haproxyRateLimit } from "../../components/stacks/renderHaproxy";
import { stackConfig } from "../support/pulumi";
import { TEST_NAME_KEY, testSecretNames } from "../support/render";

const images = {
  consul: "flotilla/consul:0.1.0",
  mysql: "flotilla/mysql:0.1.0",
  webapp: "flotilla/webapp:0.1.0",
  haproxy: "flotilla/haproxy:0.1.0",
  keepalived: "flotilla/keepalived:0.1.0",
  prometheus: "flotilla/prometheus:0.1.0",
};
const secretNames = testSecretNames();

/** A stack's config; helion with one database server (test/galera renders the 3 members). */
function config(stack: "dev" | "helion", overrides: Record<string, unknown> = {}): FlotillaConfig {
  const oneDb =
    stack === "helion"
      ? {
          "flotilla:swarm": { managers: 3, workers: 3, loadBalancerNodes: 2 },
          "flotilla:mysql": { nodes: 1, volumeSizeGb: 50 },
        }
      : {};
  return parseConfig(stackConfig(stack, { ...oneDb, ...overrides })).config;
}
function input(c: FlotillaConfig, extra: Partial<RenderInput> = {}): RenderInput {
  return {
    config: c,
    images,
    secretNames,
    keepalived: c.keepalived.enabled
      ? { vip: "10.42.0.200/24", peers: ["10.42.0.11", "10.42.0.12"] }
      : undefined,
    ...extra,
  };
}
const dev = () => renderStacks(input(config("dev")));
const helion = () => renderStacks(input(config("helion")));
const service = (doc: ComposeFile) => Object.values(doc.services)[0];
const byStack = (docs: { stack: string; document: ComposeFile }[], stack: string) =>
  docs.find((d) => d.stack === stack)!.document;

describe("stack documents", () => {
  it("dev deploys five stacks (keepalived is off on one node), helion all six, in order", () => {
    expect(dev().map((d) => d.stack)).toEqual(["consul", "mysql", "webapp", "haproxy", "monitoring"]);
    expect(helion().map((d) => d.stack)).toEqual([...STACKS]);
    // keepalived follows flotilla:keepalived.enabled (the schema allows it only where a VIP exists).
    expect(enabledStacks(config("helion", { "flotilla:keepalived": { enabled: false } }))).not.toContain(
      "keepalived",
    );
  });

  it("mysql is on the data network only and publishes no port", () => {
    for (const docs of [dev(), helion()]) {
      const mysql = service(byStack(docs, "mysql"));
      expect(mysql.networks).toEqual(["data"]);
      expect(mysql.ports).toBeUndefined();
      expect(overlayNetworks(byStack(docs, "mysql"))).toEqual(["flotilla-data"]);
    }
  });

  it("HAProxy is never on the data network; only HAProxy and Prometheus publish ports; Consul is on its own network", () => {
    const docs = helion();
    expect(service(byStack(docs, "haproxy")).networks).toEqual(["edge", "consul"]);
    expect(service(byStack(docs, "consul")).networks).toEqual(["consul"]);
    expect(service(byStack(docs, "webapp")).networks.sort()).toEqual(["consul", "data", "edge"]);
    for (const { stack, document } of docs) {
      if (stack !== "haproxy" && stack !== "monitoring")
        expect(service(document).ports, stack).toBeUndefined();
    }
  });

  it("HAProxy publishes the configured ports on the lb nodes themselves (host mode), or engine-picked ones in tests", () => {
    const ports = service(byStack(dev(), "haproxy")).ports!;
    expect(ports.map((p) => [p.target, p.published, p.mode])).toEqual([
      [8080, 8080, "host"],
      [8443, 8443, "host"],
      [8404, 8404, "host"],
      [8405, 8405, "host"],
    ]);
    const random = service(renderStack("haproxy", input(config("dev"), { randomPorts: true }))).ports!;
    expect(random.every((p) => p.published === undefined)).toBe(true);
  });

  it("every service has a health check (the node exporters none, on purpose) and uses DNS round robin (no IPVS virtual IP)", () => {
    for (const { stack, document } of helion()) {
      for (const [name, svc] of Object.entries(document.services)) {
        const check = svc.healthcheck;
        if (name === "node-exporter") expect(check, `${stack}/${name}`).toEqual({ disable: true });
        else expect("test" in check ? check.test.length : 0, `${stack}/${name}`).toBeGreaterThan(1);
      }
      const s = service(document);
      expect(s.deploy.endpoint_mode, stack).toBe("dnsrr");
      expect(s.deploy.restart_policy.condition).toBe("any");
    }
  });

  it("placement: mysql on the db node, HAProxy and keepalived on every lb node, Consul on managers", () => {
    const docs = helion();
    expect(service(byStack(docs, "mysql")).deploy.placement.constraints).toEqual(["node.labels.db == true"]);
    for (const s of ["haproxy", "keepalived"]) {
      const d = service(byStack(docs, s)).deploy;
      expect(d.mode).toBe("global");
      expect(d.placement.constraints).toEqual(["node.labels.lb == true"]);
    }
    const consul = service(byStack(docs, "consul")).deploy;
    expect(consul.placement.constraints).toEqual(["node.role == manager"]);
    expect(consul.replicas).toBe(3);
    expect(consul.placement.max_replicas_per_node).toBe(1);
    expect(consul.placement.preferences).toEqual([{ spread: "node.id" }]);
  });

  it("the lab spreads Consul servers one per manager like helion: a lost manager's server waits for it", () => {
    // Found by the lab's chaos run: without the limit, a powered-off manager's server was
    // rescheduled onto another manager with a slot volume (a new Raft member), and losing
    // that manager next took two of three servers, and the leader with them.
    const lab = parseConfig(stackConfig("lab")).config;
    const doc = renderStack("consul", input(lab));
    const consul = service(doc);
    expect(consul.deploy.placement.max_replicas_per_node).toBe(1);
    expect(consul.deploy.placement.preferences).toEqual([{ spread: "node.id" }]);
    expect(doc.volumes?.["consul-data"]?.name).toBeUndefined();
    expect(service(renderStack("webapp", input(lab))).deploy.placement.preferences).toEqual([
      { spread: "node.id" },
    ]);
  });

  it("a one-node Swarm can run three Consul servers: no one-per-node limit, one data volume per task slot", () => {
    const c = config("dev", { "flotilla:consul": { servers: 3 } });
    const doc = renderStack("consul", input(c));
    const consul = service(doc);
    expect(consul.deploy.replicas).toBe(3);
    expect(consul.deploy.placement.max_replicas_per_node).toBeUndefined();
    expect(consul.volumes).toEqual([{ type: "volume", source: "consul-data", target: "/consul/data" }]);
    expect(doc.volumes?.["consul-data"]?.name).toBe("flotilla-consul-data-{{.Task.Slot}}");
    // Unique node names (the container's): no stable hostname at a changing address.
    expect(consul.hostname).toBeUndefined();
    expect(consul.environment.CONSUL_BOOTSTRAP_EXPECT).toBe("3");
  });

  it("the webapp updates start-first, one at a time, rolls back on failure, and outlives its drain", () => {
    const c = config("helion", { "flotilla:webapp": { replicas: 4, drainSeconds: 25 } });
    const webapp = service(renderStack("webapp", input(c)));
    expect(webapp.deploy.replicas).toBe(4);
    expect(webapp.deploy.update_config).toMatchObject({
      order: "start-first",
      parallelism: 1,
      failure_action: "rollback",
    });
    expect(Number.parseInt(webapp.stop_grace_period, 10)).toBeGreaterThan(25);
    expect(webapp.environment.WEBAPP_DRAIN_SECONDS).toBe("25");
  });

  it("HAProxy's per-source limits: where it sees clients' own addresses, off on local and through the routing mesh", () => {
    const limits = (c: FlotillaConfig) => {
      const env = service(renderStack("haproxy", input(c))).environment;
      return [env.HAPROXY_RATE_LIMIT_REQUESTS, env.HAPROXY_RATE_LIMIT_CONNECTIONS];
    };
    expect(limits(config("helion"))).toEqual(["1000", "200"]);
    expect(limits(parseConfig(stackConfig("lab")).config)).toEqual(["20000", "2000"]);
    // local: the committed file says off, and unset is off too (one address for every local client).
    expect(limits(config("dev"))).toEqual(["0", "0"]);
    expect(limits(config("dev", { "flotilla:haproxy": { rateLimit: undefined } }))).toEqual(["0", "0"]);
    const tuned = { "flotilla:haproxy": { rateLimit: { requestsPer10s: 50, connections: 0 } } };
    expect(limits(config("helion", tuned))).toEqual(["50", "0"]);
    expect(limits(config("helion", { "flotilla:haproxy": { rateLimit: { enabled: false } } }))).toEqual([
      "0",
      "0",
    ]);
    // Ports through the ingress mesh would show every client as the gateway: no limit then.
    expect(haproxyRateLimit(config("helion"), "ingress")).toEqual({ requestsPer10s: 0, connections: 0 });
    expect(haproxyRateLimit(config("helion"), "host")).toEqual({ requestsPer10s: 1000, connections: 200 });
  });

  it("HAProxy's backend slots follow the replicas (twice over, at least 10): a replica past the image's 10 would get no traffic", () => {
    const slots = (replicas: number) =>
      service(renderStack("haproxy", input(config("helion", { "flotilla:webapp": { replicas } }))))
        .environment.HAPROXY_BACKEND_SLOTS;
    expect(slots(2)).toBe("10");
    expect(slots(5)).toBe("10");
    expect(slots(6)).toBe("12");
    expect(slots(40)).toBe("80");
  });

  it("services find each other by full Swarm service name", () => {
    const webapp = service(renderStack("webapp", input(config("dev"), { prefix: "e2e" })));
    expect(webapp.environment.MYSQL_HOST).toBe("e2e-mysql_mysql");
    expect(webapp.environment.CONSUL_RETRY_JOIN).toBe("tasks.e2e-consul_consul");
  });

  it("secrets are external, content-hashed, and each service gets only its own", () => {
    const docs = helion();
    expect(documentSecrets(byStack(docs, "mysql"))).toEqual(
      [
        secretNames.mysql_exporter_password,
        secretNames.mysql_password,
        secretNames.mysql_root_password,
      ].sort(),
    );
    expect(Object.keys(byStack(docs, "haproxy").secrets!).sort()).toEqual([
      "consul_gossip_key",
      "consul_haproxy_token",
      "haproxy_metrics_password",
      "haproxy_stats_password",
      "haproxy_tls_pem",
    ]);
    // Each role's Consul token only where that role runs (the servers create them all).
    expect(Object.keys(byStack(docs, "webapp").secrets!)).toContain("consul_webapp_token");
    expect(Object.keys(byStack(docs, "webapp").secrets!)).not.toContain("consul_haproxy_token");
    expect(Object.keys(byStack(docs, "webapp").secrets!)).not.toContain("consul_master_token");
    expect(Object.keys(byStack(docs, "haproxy").secrets!)).not.toContain("consul_master_token");
    expect(Object.keys(byStack(docs, "consul").secrets!).sort()).toEqual([
      "consul_agent_token",
      "consul_gossip_key",
      "consul_haproxy_token",
      "consul_master_token",
      "consul_prometheus_token",
      "consul_webapp_token",
    ]);
    expect(Object.keys(byStack(docs, "webapp").secrets!)).not.toContain("mysql_root_password");
    for (const { document } of docs) {
      for (const s of Object.values(document.secrets ?? {})) expect(s.external).toBe(true);
      for (const ref of service(document).secrets ?? []) expect(ref.mode).toBe(0o400);
    }
    expect(secretName("flotilla", "mysql_password", "a", TEST_NAME_KEY)).not.toBe(
      secretName("flotilla", "mysql_password", "b", TEST_NAME_KEY),
    );
    expect(secretName("flotilla", "mysql_password", "a", TEST_NAME_KEY)).toMatch(
      /^flotilla-mysql_password-[0-9a-f]{16}$/,
    );
  });

  it("no secret value appears in any rendered document", () => {
    for (const { document } of helion()) {
      const text = composeYaml(document);
      for (const t of SECRET_TARGETS) expect(text).not.toContain(`value-of-${t}`);
    }
  });

  it("keepalived: host network, the capabilities VRRP needs, the VIP and peers; refused without a VIP", () => {
    const k = service(byStack(helion(), "keepalived"));
    expect(k.networks).toEqual(["host"]);
    expect(k.cap_add).toEqual(["NET_ADMIN", "NET_BROADCAST", "NET_RAW"]);
    expect(k.environment).toMatchObject({
      KEEPALIVED_VIP: "10.42.0.200/24",
      KEEPALIVED_PEERS: "10.42.0.11,10.42.0.12",
    });
    expect(() => renderStack("keepalived", input(config("helion"), { keepalived: undefined }))).toThrow(
      /keepalived.enabled/,
    );
    expect(() =>
      renderStack("keepalived", input(config("helion"), { keepalived: { vip: "10.0.0.1", peers: [] } })),
    ).toThrow(/a\.b\.c\.d\/len/);
  });

  it("Swarm template syntax is escaped where a value is meant for Consul", () => {
    expect(swarmLiteral('{{ GetInterfaceIP "eth0" }}')).toBe('{{"{{"}} GetInterfaceIP "eth0" {{"}}"}}');
  });

  it("YAML has sorted keys and is stable: equal input, equal text and hash", () => {
    const a = composeYaml(byStack(dev(), "webapp"));
    const b = composeYaml(byStack(dev(), "webapp"));
    expect(a).toBe(b);
    expect(composeHash(a)).toBe(composeHash(b));
    const top = Object.keys(parse(a) as object);
    expect(top).toEqual([...top].sort());
    const scaled = composeYaml(
      renderStack("webapp", input(config("dev", { "flotilla:webapp": { replicas: 4 } }))),
    );
    expect(composeHash(scaled)).not.toBe(composeHash(a));
  });

  it("matches the snapshot (dev and helion)", () => {
    const all = (docs: { stack: string; document: ComposeFile }[]) =>
      docs.map((d) => `## ${d.stack}\n${composeYaml(d.document)}`).join("\n");
    expect(all(dev())).toMatchSnapshot("dev");
    expect(all(helion())).toMatchSnapshot("helion");
  });
});

describe("stack documents, as the Docker CLI reads them", () => {
  const cli = spawnSync("docker", ["stack", "config", "--help"], { stdio: "ignore" }).status === 0;
  it.runIf(cli)("`docker stack config` accepts every rendered document", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "flotilla-render-"));
    try {
      for (const { stack, document } of [...dev(), ...helion()]) {
        const file = path.join(dir, `${stack}.yaml`);
        writeFileSync(file, composeYaml(document));
        const r = spawnSync("docker", ["stack", "config", "-c", file], { encoding: "utf8" });
        expect(r.stderr, stack).toBe("");
        expect(r.status, stack).toBe(0);
        // What Docker makes of it keeps what matters.
        const seen = parse(r.stdout) as ComposeFile;
        expect(Object.keys(seen.services)).toEqual(Object.keys(document.services));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
