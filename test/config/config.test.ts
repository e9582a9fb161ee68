// The config schema: what it accepts, what it refuses, and how it says so.
import { readFileSync } from "node:fs";
import path from "node:path";
import Ajv2020 from "ajv/dist/2020";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import {
  backendSlots,
  ConfigError,
  dataPathProblem,
  type ParsedConfig,
  parseConfig,
  SECRET_KEYS,
} from "../../components/config";
import { cidrUnionSize } from "../../components/config/cidr";
import { README_PATH, updatedReadme } from "../../scripts/dev/write-config-docs";
import { renderSchema, SCHEMA_PATH } from "../../scripts/dev/write-config-schema";
import { committedStackAsIs, problemsOf } from "../support/config";
import { ROOT, stackConfig } from "../support/pulumi";

/** A valid openstack config (the helion stack file) with overrides applied. */
/** Helion with one database server (the committed file's 3 Galera members need 5 workers), with overrides. */
function helion(overrides: Record<string, unknown>): Record<string, string> {
  return stackConfig("helion", { "flotilla:mysql": { nodes: 1, volumeSizeGb: 50 }, ...overrides });
}

describe("committed stack files", () => {
  it("Pulumi.dev.yaml parses: local target, one-node defaults", () => {
    const { config }: ParsedConfig = parseConfig(stackConfig("dev"));
    expect(config.target).toBe("local");
    expect(config.openstack).toBeUndefined();
    expect(config.swarm.managers).toBe(1);
    expect(config.consul.servers).toBe(1);
    expect(config.keepalived.enabled).toBe(false);
    expect(config.haproxy.httpPort).toBe(8080);
  });

  it("Pulumi.helion.yaml as committed is refused for its two placeholders, naming each key and the command", () => {
    const asIs: Record<string, string> = {};
    for (const [k, v] of Object.entries(committedStackAsIs("helion")))
      asIs[k] = typeof v === "string" ? v : JSON.stringify(v);
    const problems = problemsOf(asIs);
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(
      /^flotilla:openstack\.sshPublicKey: expected your own OpenSSH public key, got the example's placeholder \(`pulumi config set --path flotilla:openstack\.sshPublicKey/,
    );
    expect(problems[1]).toMatch(
      /^flotilla:images\.registry: expected your registry, got one under a domain reserved for examples \(registry\.helion\.example\.com\)/,
    );
    // Other reserved example names too; a real or private name passes.
    for (const registry of ["registry.test/x", "reg.example:5000/x", "r.invalid/x", "example.org/x"])
      expect(
        problemsOf(stackConfig("helion", { "flotilla:images": { registry } })).join("\n"),
        registry,
      ).toMatch(/flotilla:images\.registry: expected your registry/);
    for (const registry of [
      "registry.internal:5000/x",
      "10.42.0.5:5000/flotilla",
      "ghcr.io/acme",
      "examples.com/x",
    ])
      expect(
        () => parseConfig(stackConfig("helion", { "flotilla:images": { registry } })),
        registry,
      ).not.toThrow();
  });

  it("Pulumi.helion.yaml with the operator's key and registry parses: 3 managers, 5 workers, 3 Consul servers, 3 Galera members, its cloud settings", () => {
    const { config } = parseConfig(stackConfig("helion"));
    expect(config.target).toBe("openstack");
    expect(config.swarm).toMatchObject({ managers: 3, workers: 5, loadBalancerNodes: 2 });
    expect(config.mysql.nodes).toBe(3);
    expect(config.consul.servers).toBe(3);
    expect(config.openstack).toMatchObject({ externalNetwork: "ext-net", connection: "jump" });
    expect(config.openstack?.flavors.manager).toBeTruthy();
    expect(config.images.registry).toBeTruthy();
  });

  it("Pulumi.lab.yaml parses: the helion topology (3 managers, 2 lb workers, keepalived) on the lab target", () => {
    const { config } = parseConfig(stackConfig("lab"));
    expect(config.target).toBe("lab");
    expect(config.swarm).toMatchObject({ managers: 3, loadBalancerNodes: 2, deployWaitSeconds: 600 });
    expect(config.keepalived.enabled).toBe(true);
    expect(config.lab).toEqual({
      subnetCidr: "10.213.0.0/24",
      sshPort: 2222,
      registryPort: 5000,
      sshUser: "debian",
    });
    expect(config.images.registry).toBeUndefined();
  });
});

describe("the lab target's rules", () => {
  it("requires its section, refuses a registry of the operator's, and a subnet too small for its address plan", () => {
    const noSection = problemsOf(stackConfig("lab", { "flotilla:lab": undefined }));
    expect(noSection).toContainEqual(expect.stringMatching(/^flotilla:lab: required when target is 'lab'/));
    const problems = problemsOf(
      stackConfig("lab", {
        "flotilla:images": { registry: "registry.internal/flotilla" },
        "flotilla:lab": { subnetCidr: "10.213.0.0/26" },
      }),
    );
    expect(problems).toContainEqual(
      expect.stringMatching(
        /^flotilla:images\.registry: expected no registry when target is 'lab': it runs its own/,
      ),
    );
    expect(problems).toContainEqual(
      expect.stringMatching(/^flotilla:lab\.subnetCidr: expected a subnet of \/24 or larger/),
    );
    const onDev = problemsOf(stackConfig("dev", { "flotilla:lab": {} }));
    expect(onDev).toContainEqual(
      expect.stringMatching(/^flotilla:target: is 'local' but an 'lab' section is set/),
    );
  });
});

describe("bad config is refused with every problem, each naming its key", () => {
  it.each([
    ["flotilla:swarm", { managers: 2 }, "flotilla:swarm.managers", /odd number of Swarm managers.*got 2/],
    ["flotilla:swarm", { managers: 0 }, "flotilla:swarm.managers", /odd number of Swarm managers.*got 0/],
    ["flotilla:consul", { servers: 4 }, "flotilla:consul.servers", /odd number of Consul servers.*got 4/],
    ["flotilla:consul", { servers: 0 }, "flotilla:consul.servers", /odd number of Consul servers.*got 0/],
    ["flotilla:webapp", { replicas: -1 }, "flotilla:webapp.replicas", /at least 1 webapp replica.*got -1/],
    ["flotilla:webapp", { replicas: 1.5 }, "flotilla:webapp.replicas", /whole number.*got 1.5/],
    [
      "flotilla:access",
      { adminCidrs: ["10.0.0.0/33"] },
      "flotilla:access.adminCidrs.0",
      /IPv4 CIDR.*got "10.0.0.0\/33"/,
    ],
    [
      "flotilla:access",
      { clientCidrs: ["not-a-cidr"] },
      "flotilla:access.clientCidrs.0",
      /IPv4 CIDR.*got "not-a-cidr"/,
    ],
    [
      "flotilla:target",
      "kubernetes",
      "flotilla:target",
      /expected 'local', 'openstack' or 'lab', got "kubernetes"/,
    ],
    ["flotilla:haproxy", { httpPort: 70000 }, "flotilla:haproxy.httpPort", /TCP port.*got 70000/],
  ])("%s = %j is refused at %s", (key, value, expectedKey, message) => {
    const problems = problemsOf(stackConfig("dev", { [key]: value }));
    const line = problems.find((p) => p.startsWith(`${expectedKey}:`));
    expect(line, problems.join("\n")).toBeDefined();
    expect(line).toMatch(message);
  });

  it("an unknown key is refused with a did-you-mean for a likely typo", () => {
    const problems = problemsOf(stackConfig("dev", { "flotilla:swarm": { managerz: 3 } }));
    expect(problems).toEqual([
      expect.stringMatching(
        /^flotilla:swarm\.managerz: unknown key \(did you mean 'flotilla:swarm\.managers'\?\)/,
      ),
    ]);
  });

  it("an unknown top-level key is refused too", () => {
    const problems = problemsOf(stackConfig("dev", { "flotilla:webap": { replicas: 3 } }));
    expect(problems[0]).toMatch(/^flotilla:webap: unknown key \(did you mean 'flotilla:webapp'\?\)/);
  });

  it("keys of other namespaces (provider settings) are not Flotilla's business", () => {
    expect(() =>
      parseConfig(stackConfig("dev", { "docker:host": "unix:///var/run/docker.sock" })),
    ).not.toThrow();
  });

  it("target openstack without its settings names each missing key", () => {
    const problems = problemsOf(stackConfig("dev", { "flotilla:target": "openstack" }));
    expect(
      problems.some((p) => p.startsWith("flotilla:openstack: required when target is 'openstack'")),
    ).toBe(true);
    expect(problems.some((p) => p.startsWith("flotilla:images.registry: required"))).toBe(true);
  });

  it("a missing OpenStack setting is named with its full key", () => {
    const base = parseConfig(stackConfig("helion")).config.openstack!;
    const { flavors, ...rest } = base;
    const problems = problemsOf(
      helion({
        "flotilla:openstack": { ...rest, flavors: { bastion: flavors.bastion, manager: flavors.manager } },
      }),
    );
    expect(problems).toEqual([
      expect.stringMatching(/^flotilla:openstack\.flavors\.worker: expected a flavor name, got nothing/),
    ]);
  });

  it("a malformed SSH key and an unknown connection mode are both reported, in one error", () => {
    const base = parseConfig(stackConfig("helion")).config.openstack!;
    const problems = problemsOf(
      helion({ "flotilla:openstack": { ...base, sshPublicKey: "hello", connection: "ftp" } }),
    );
    expect(problems).toHaveLength(2);
    expect(problems.join("\n")).toMatch(/flotilla:openstack\.sshPublicKey: expected an OpenSSH public key/);
    expect(problems.join("\n")).toMatch(
      /flotilla:openstack\.connection: expected 'jump' or 'direct', got "ftp"/,
    );
  });

  it("every problem is listed at once, not just the first", () => {
    const problems = problemsOf(
      stackConfig("dev", {
        "flotilla:swarm": { managers: 2 },
        "flotilla:consul": { servers: 2 },
        "flotilla:webapp": { replicas: -3 },
        "flotilla:access": { adminCidrs: ["300.1.1.1/8"] },
        "flotilla:typo": true,
      }),
    );
    expect(problems).toHaveLength(5);
    try {
      parseConfig(
        stackConfig("dev", { "flotilla:swarm": { managers: 2 }, "flotilla:webapp": { replicas: -3 } }),
      );
    } catch (err) {
      expect((err as Error).message).toMatch(
        /^invalid Flotilla configuration \(2 problems\):\n {2}- flotilla:/,
      );
    }
  });

  it("a stack deploy's wait is whole seconds from 60 to 3600 (default 300), named when out of range", () => {
    expect(parseConfig(stackConfig("dev")).config.swarm.deployWaitSeconds).toBe(300);
    for (const [value, expected] of [
      [30, "expected at least 60 seconds"],
      [7200, "expected at most 3600 seconds"],
      [90.5, "expected a whole number of seconds"],
      ["300", "expected a whole number of seconds"],
    ] as const) {
      const problems = problemsOf(stackConfig("dev", { "flotilla:swarm": { deployWaitSeconds: value } }));
      expect(problems).toHaveLength(1);
      expect(problems[0]).toContain(`flotilla:swarm.deployWaitSeconds: ${expected}`);
    }
  });

  it("the cluster must hold its load-balancer and database nodes on OpenStack", () => {
    const problems = problemsOf(
      helion({ "flotilla:swarm": { managers: 3, workers: 2, loadBalancerNodes: 2 } }),
    );
    expect(problems).toEqual([
      expect.stringMatching(/^flotilla:swarm\.workers: expected at least 3 workers.*got 2$/),
    ]);
  });

  it("more Consul servers than managers is refused on OpenStack", () => {
    const problems = problemsOf(
      helion({ "flotilla:swarm": { managers: 1, workers: 3 }, "flotilla:consul": { servers: 3 } }),
    );
    expect(problems).toEqual([
      expect.stringMatching(/^flotilla:consul\.servers: expected no more Consul servers than Swarm managers/),
    ]);
  });

  // Moved from the Images component (test/images/images.component.test.ts), which threw it
  // after resources were registered; now the schema refuses it with the others.
  it("refuses a Consul version Debian's archive does not have, naming the key", () => {
    expect(problemsOf(stackConfig("dev", { "flotilla:images": { consulVersion: "1.20.2" } }))).toEqual([
      expect.stringMatching(
        /^flotilla:images\.consulVersion: expected 1\.8\.7, the only Consul version in Debian's archive \(for another version use HashiCorp's release: `pulumi config set --path flotilla:images\.consulSource hashicorp`\), got "1\.20\.2"$/,
      ),
    ]);
    expect(() =>
      parseConfig(
        stackConfig("dev", { "flotilla:images": { consulSource: "hashicorp", consulVersion: "1.20.2" } }),
      ),
    ).not.toThrow();
  });

  it("keepalived: refused where no virtual IP exists, and with fewer than two lb nodes where one does", () => {
    expect(problemsOf(stackConfig("dev", { "flotilla:keepalived": { enabled: true } }))).toEqual([
      expect.stringMatching(
        /^flotilla:keepalived\.enabled: expected false when target is 'local'.*got true$/,
      ),
    ]);
    expect(
      problemsOf(helion({ "flotilla:swarm": { managers: 3, workers: 3, loadBalancerNodes: 1 } })),
    ).toEqual([
      expect.stringMatching(/^flotilla:swarm\.loadBalancerNodes: expected at least 2 load-balancer nodes/),
    ]);
  });

  it("the registry is required where images are pushed, and an OpenStack section refused elsewhere", () => {
    expect(problemsOf(helion({ "flotilla:images": { registry: undefined } }))).toEqual([
      expect.stringMatching(/^flotilla:images\.registry: required when target is 'openstack'/),
    ]);
    const os = JSON.parse(stackConfig("helion")["flotilla:openstack"]);
    expect(problemsOf(stackConfig("dev", { "flotilla:openstack": os }))).toEqual([
      expect.stringMatching(/^flotilla:target: is 'local' but an 'openstack' section is set/),
    ]);
  });

  it("an operator-set secret that is too short is refused without echoing it", () => {
    const problems = problemsOf(stackConfig("dev", { "flotilla:mysqlPassword": "hunter2" }));
    expect(problems).toEqual([
      expect.stringMatching(/^flotilla:mysqlPassword: expected at least 12 characters, got 7/),
    ]);
    expect(problems.join("\n")).not.toContain("hunter2");
  });

  it("a Consul gossip key that is not 32 bytes of base64 is refused without echoing it", () => {
    const problems = problemsOf(stackConfig("dev", { "flotilla:consulGossipKey": "c2hvcnQ=" }));
    expect(problems[0]).toMatch(/^flotilla:consulGossipKey: expected 32 random bytes in base64/);
    expect(problems.join("\n")).not.toContain("c2hvcnQ=");
  });

  it("valid operator-set secrets are accepted and returned apart from the config", () => {
    const key = Buffer.alloc(32, 1).toString("base64");
    const parsed = parseConfig(
      stackConfig("dev", { "flotilla:consulGossipKey": key, "flotilla:statsPassword": "a-long-password" }),
    );
    expect(parsed.secrets).toEqual({ consulGossipKey: key, statsPassword: "a-long-password" });
    expect(JSON.stringify(parsed.config)).not.toContain("a-long-password");
  });
});

/** The one problem a config has, asserting it names `key` and matches `message`. */
function onlyProblem(raw: Record<string, string>, key: string, message: RegExp): string {
  const problems = problemsOf(raw);
  expect(problems, problems.join("\n")).toHaveLength(1);
  expect(problems[0].startsWith(`${key}: `), problems[0]).toBe(true);
  expect(problems[0]).toMatch(message);
  return problems[0];
}

describe("issue 13: every bad setting is refused by the schema, naming its key, before any resource", () => {
  it("a port used twice among haproxy.httpPort, httpsPort and statsPort", () => {
    onlyProblem(
      stackConfig("dev", { "flotilla:haproxy": { httpPort: 8080, httpsPort: 8080 } }),
      "flotilla:haproxy.httpsPort",
      /expected a port not already used by flotilla:haproxy\.httpPort \(8080\) on the same nodes, got 8080$/,
    );
    onlyProblem(
      helion({ "flotilla:haproxy": { statsPort: 443 } }),
      "flotilla:haproxy.statsPort",
      /not already used by flotilla:haproxy\.httpsPort \(443\)/,
    );
  });

  it("monitoring.port on HAProxy's ports where one node runs both (local), allowed where Prometheus has a manager of its own", () => {
    onlyProblem(
      stackConfig("dev", { "flotilla:monitoring": { port: 8404 } }),
      "flotilla:monitoring.port",
      /not already used by flotilla:haproxy\.statsPort \(8404\) on the same nodes \(one node runs both on this target\)/,
    );
    expect(() => parseConfig(helion({ "flotilla:monitoring": { port: 8404 } }))).not.toThrow();
    expect(() =>
      parseConfig(stackConfig("dev", { "flotilla:monitoring": { enabled: false, port: 8404 } })),
    ).not.toThrow();
  });

  it.each([22, 2377, 7946, 4789, 3306, 8300, 8301, 8302, 8405, 8500, 8600])(
    "a public port reserved for the cluster's own services: %i",
    (port) => {
      onlyProblem(
        helion({ "flotilla:haproxy": { httpPort: port } }),
        "flotilla:haproxy.httpPort",
        new RegExp(`expected a port other than ${port}, which is .*'s \\(reserved: 22, .*\\), got ${port}$`),
      );
    },
  );

  it("a reserved port as the HTTPS, stats or Prometheus port", () => {
    onlyProblem(
      stackConfig("dev", { "flotilla:haproxy": { httpsPort: 2377 } }),
      "flotilla:haproxy.httpsPort",
      /Swarm cluster management/,
    );
    onlyProblem(
      stackConfig("dev", { "flotilla:haproxy": { statsPort: 8500 } }),
      "flotilla:haproxy.statsPort",
      /Consul HTTP API/,
    );
    onlyProblem(
      stackConfig("dev", { "flotilla:monitoring": { port: 22 } }),
      "flotilla:monitoring.port",
      /SSH/,
    );
  });

  it("zero webapp replicas", () => {
    onlyProblem(
      stackConfig("dev", { "flotilla:webapp": { replicas: 0 } }),
      "flotilla:webapp.replicas",
      /expected at least 1 webapp replica \(with none, HAProxy has nothing to serve\), got 0$/,
    );
  });

  it("zero load-balancer nodes on multi-node targets (openstack and lab)", () => {
    onlyProblem(
      helion({
        "flotilla:swarm": { managers: 3, workers: 3, loadBalancerNodes: 0 },
        "flotilla:keepalived": { enabled: false },
      }),
      "flotilla:swarm.loadBalancerNodes",
      /expected at least 1 load-balancer node when target is 'openstack'.*got 0$/,
    );
    const lab = problemsOf(
      stackConfig("lab", {
        "flotilla:swarm": { managers: 3, workers: 3, loadBalancerNodes: 0 },
        "flotilla:keepalived": { enabled: false },
      }),
    );
    expect(lab).toEqual([
      expect.stringMatching(
        /^flotilla:swarm\.loadBalancerNodes: expected at least 1 load-balancer node when target is 'lab'/,
      ),
    ]);
  });

  it("HAProxy's backend slots follow the replicas (max(10, 2 x replicas)), so no replica count outgrows them", () => {
    const slots = (replicas: number) =>
      backendSlots(parseConfig(stackConfig("dev", { "flotilla:webapp": { replicas } })).config);
    expect(slots(1)).toBe(10);
    expect(slots(5)).toBe(10);
    expect(slots(6)).toBe(12);
    expect(slots(100)).toBe(200);
    for (const replicas of [1, 2, 7, 50, 100]) expect(slots(replicas)).toBeGreaterThanOrEqual(2 * replicas);
  });

  it.each(["root", "mysql", "exporter"])("mysql.user = %s (a reserved MariaDB account)", (user) => {
    onlyProblem(
      stackConfig("dev", { "flotilla:mysql": { user } }),
      "flotilla:mysql.user",
      /expected an application user other than 'root', 'mysql', 'mariadb\.sys', 'exporter'/,
    );
  });

  it.each([
    ["/srv/../etc/mysql", /without '\.' or '\.\.' segments/],
    ["/srv/./mysql", /without '\.' or '\.\.' segments/],
    ["/", /expected a directory of its own, not \/ itself/],
    ["/etc/mysql", /outside \/etc/],
    ["/usr/local/mysql", /outside \/usr/],
    ["/var/lib/docker/volumes/db", /outside \/var\/lib\/docker/],
    ["/proc/db", /outside \/proc/],
    ["/sys/db", /outside \/sys/],
    ["/boot", /outside \/boot/],
    ["/dev/shm/db", /outside \/dev/],
    ["/run/mysql", /outside \/run/],
  ])("mysql.dataPath = %s", (dataPath, message) => {
    onlyProblem(stackConfig("dev", { "flotilla:mysql": { dataPath } }), "flotilla:mysql.dataPath", message);
  });

  it("a data path that merely starts like a system directory is fine (/etcetera, /srv/etc)", () => {
    expect(dataPathProblem("/etcetera/mysql")).toBeUndefined();
    expect(dataPathProblem("/srv/etc/mysql")).toBeUndefined();
    expect(dataPathProblem("/var/lib/mysql")).toBeUndefined();
  });

  it("the retired keepalived password (VRRPv3 has none) is refused with the command that drops it, never echoed", () => {
    const line = onlyProblem(
      stackConfig("dev", { "flotilla:keepalivedPassword": "Ab3+/=_.secret" }),
      "flotilla:keepalivedPassword",
      /no longer used \(keepalived speaks VRRPv3, which has no password;.*\); remove it with `pulumi config rm flotilla:keepalivedPassword`$/,
    );
    expect(line).not.toContain("Ab3+/=_.secret");
  });

  it.each([
    ["https://registry.internal", /host\[:port\]\[\/path\]/],
    ["registry.internal:5000/Flotilla", /host\[:port\]\[\/path\]/],
    ["registry.internal/flotilla:0.1.0", /no scheme or tag/],
    ["", /host\[:port\]/],
  ])("images.registry = %j", (registry, message) => {
    const problems = problemsOf(helion({ "flotilla:images": { registry } }));
    expect(
      problems.find((p) => p.startsWith("flotilla:images.registry: ")),
      problems.join("\n"),
    ).toMatch(message);
  });

  it("valid registries pass: host, host:port, host:port/path, IPv4:port", () => {
    for (const registry of [
      "registry.internal",
      "127.0.0.1:5000",
      "registry.helion.internal:5000/flotilla/ci",
      "localhost:5000",
    ])
      expect(() => parseConfig(helion({ "flotilla:images": { registry } })), registry).not.toThrow();
  });

  it.each(["1.0 beta", "-1.0", ".hidden", "v1/2", "x".repeat(129)])(
    "images.version = %j (not an image tag)",
    (version) => {
      onlyProblem(
        stackConfig("dev", { "flotilla:images": { version } }),
        "flotilla:images.version",
        /expected an image tag/,
      );
    },
  );

  it.each(["Debian:trixie", "debian:", "debian:trixie slim", "https://debian:trixie", "debian@sha256:abc"])(
    "images.baseImage = %j (not an image reference)",
    (baseImage) => {
      onlyProblem(
        stackConfig("dev", { "flotilla:images": { baseImage } }),
        "flotilla:images.baseImage",
        /expected an image reference/,
      );
    },
  );

  it("valid image references pass as baseImage", () => {
    for (const baseImage of [
      "debian:trixie-slim",
      "debian",
      "library/debian:13",
      "registry.internal:5000/base/debian:trixie",
      `debian@sha256:${"a".repeat(64)}`,
      `localhost:5000/debian:trixie@sha256:${"0".repeat(64)}`,
    ])
      expect(
        () => parseConfig(stackConfig("dev", { "flotilla:images": { baseImage } })),
        baseImage,
      ).not.toThrow();
  });

  it("access.adminCidrs containing 0.0.0.0/0, unless access.allowWorldAdmin is true", () => {
    const line = onlyProblem(
      stackConfig("dev", { "flotilla:access": { adminCidrs: ["10.0.0.0/8", "0.0.0.0/0"] } }),
      "flotilla:access.adminCidrs.1",
      /expected the operators' own networks, not the whole internet.*`pulumi config set --path flotilla:access\.allowWorldAdmin true`.*got "0\.0\.0\.0\/0"$/,
    );
    expect(line).toContain("flotilla:access.allowWorldAdmin");
    expect(() =>
      parseConfig(
        stackConfig("dev", { "flotilla:access": { adminCidrs: ["0.0.0.0/0"], allowWorldAdmin: true } }),
      ),
    ).not.toThrow();
  });

  it("access.adminCidrs broader than a /8: a short prefix (the internet in two halves) or a union over a /8", () => {
    const halves = problemsOf(
      stackConfig("dev", { "flotilla:access": { adminCidrs: ["0.0.0.0/1", "128.0.0.0/1"] } }),
    );
    expect(halves).toHaveLength(2);
    expect(halves[0]).toMatch(
      /^flotilla:access\.adminCidrs\.0: expected the operators' own networks, at most a \/8 \(a \/1 holds 2,147,483,648 addresses\).*allowWorldAdmin.*got "0\.0\.0\.0\/1"$/,
    );
    expect(halves[1]).toMatch(/^flotilla:access\.adminCidrs\.1: /);
    onlyProblem(
      stackConfig("dev", { "flotilla:access": { adminCidrs: ["10.0.0.0/8", "11.0.0.0/8"] } }),
      "flotilla:access.adminCidrs",
      /at most a \/8 in all: together these admit 33,554,432 addresses \(more than 16,777,216\)/,
    );
    for (const adminCidrs of [
      ["10.0.0.0/8", "10.1.0.0/16", "10.200.3.4/32"],
      ["192.0.2.0/24", "198.51.100.7/32"],
    ])
      expect(
        () => parseConfig(stackConfig("dev", { "flotilla:access": { adminCidrs } })),
        adminCidrs.join(),
      ).not.toThrow();
    expect(() =>
      parseConfig(
        stackConfig("dev", {
          "flotilla:access": { adminCidrs: ["0.0.0.0/1", "128.0.0.0/1"], allowWorldAdmin: true },
        }),
      ),
    ).not.toThrow();
  });

  it("cidrUnionSize counts overlapping and nested ranges once", () => {
    expect(cidrUnionSize(["10.0.0.0/8"])).toBe(2 ** 24);
    expect(cidrUnionSize(["10.0.0.0/8", "10.1.0.0/16", "10.255.255.255/32"])).toBe(2 ** 24);
    expect(cidrUnionSize(["10.0.0.0/24", "10.0.0.128/25", "10.0.1.0/24"])).toBe(512);
    expect(cidrUnionSize(["0.0.0.0/1", "128.0.0.0/1"])).toBe(2 ** 32);
    expect(cidrUnionSize(["192.0.2.77/24"])).toBe(256);
  });

  it("openstack.sshUser = root", () => {
    const os = JSON.parse(stackConfig("helion")["flotilla:openstack"]);
    onlyProblem(
      helion({ "flotilla:openstack": { ...os, sshUser: "root" } }),
      "flotilla:openstack.sshUser",
      /expected a login user other than root/,
    );
  });

  it("lab.sshUser = root", () => {
    const lab = JSON.parse(stackConfig("lab")["flotilla:lab"]);
    onlyProblem(
      stackConfig("lab", { "flotilla:lab": { ...lab, sshUser: "root" } }),
      "flotilla:lab.sshUser",
      /expected a login user other than root/,
    );
  });

  it("haproxy.metricsUser equal to haproxy.statsUser (two users, two passwords)", () => {
    onlyProblem(
      stackConfig("dev", { "flotilla:haproxy": { statsUser: "ops", metricsUser: "ops" } }),
      "flotilla:haproxy.metricsUser",
      /expected a user other than flotilla:haproxy\.statsUser \('ops'\)/,
    );
  });

  it("a dotted key given literally (set without --path) gets the --path command", () => {
    const line = onlyProblem(
      { ...stackConfig("dev"), "flotilla:swarm.managers": "3" },
      "flotilla:swarm.managers",
      /set as one literal key with a dot.*was `--path` left out\?.*`pulumi config rm flotilla:swarm\.managers` then `pulumi config set --path flotilla:swarm\.managers 3`/,
    );
    expect(line).not.toMatch(/unknown key/);
    // Deeper keys too, and an unknown dotted key still points at --path and the sections.
    onlyProblem(
      { ...stackConfig("helion"), "flotilla:openstack.flavors.worker": "m1.large" },
      "flotilla:openstack.flavors.worker",
      /`pulumi config set --path flotilla:openstack\.flavors\.worker m1\.large`/,
    );
    onlyProblem(
      { ...stackConfig("dev"), "flotilla:swarm.managerz": "3" },
      "flotilla:swarm.managerz",
      /no Flotilla setting either; for a nested setting use `pulumi config set --path flotilla:<section>\.<key> <value>` \(sections: target, swarm,/,
    );
  });

  it("a long or odd literal dotted value is not echoed in the hint", () => {
    const line = onlyProblem(
      { ...stackConfig("dev"), "flotilla:haproxy.statsUser": "some value with spaces" },
      "flotilla:haproxy.statsUser",
      /pulumi config set --path flotilla:haproxy\.statsUser <value>/,
    );
    expect(line).not.toContain("some value with spaces");
  });

  it("every message that suggests a command for a nested key gives its --path form", () => {
    const messages = [
      ...problemsOf(stackConfig("dev", { "flotilla:images": { consulVersion: "1.20.2" } })),
      ...problemsOf(stackConfig("dev", { "flotilla:access": { adminCidrs: ["0.0.0.0/0"] } })),
      ...problemsOf({ ...stackConfig("dev"), "flotilla:swarm.managers": "3" }),
    ];
    for (const m of messages)
      for (const command of m.match(/`pulumi config set [^`]*`/g) ?? [])
        if (/flotilla:\w+\./.test(command)) expect(command, m).toContain("--path");
    expect(messages.join("\n")).toMatch(/--path/);
  });

  it("keepalived on a target that cannot run it (see also the keepalived rules above)", () => {
    onlyProblem(
      stackConfig("dev", { "flotilla:keepalived": { enabled: true } }),
      "flotilla:keepalived.enabled",
      /expected false when target is 'local': keepalived moves a virtual IP.*only 'openstack' or 'lab' provides/,
    );
  });

  it("a Debian-archive Consul version that does not exist (see also the Consul version test above)", () => {
    onlyProblem(
      helion({
        "flotilla:images": {
          registry: "registry.internal:5000",
          consulSource: "debian-archive",
          consulVersion: "1.9.0",
        },
      }),
      "flotilla:images.consulVersion",
      /expected 1\.8\.7, the only Consul version in Debian's archive/,
    );
  });

  it("every refusal happens before any resource: the program stops at loadConfig", async () => {
    // parseConfig is what loadConfig runs first thing in index.ts; a refusal throws there.
    expect(() => parseConfig(stackConfig("dev", { "flotilla:webapp": { replicas: 0 } }))).toThrow(
      ConfigError,
    );
  });
});

describe("haproxy.rateLimit: per client address limits (issue 23)", () => {
  const rateLimit = (stack: string, overrides: Record<string, unknown> = {}) =>
    parseConfig(stack === "helion" ? helion(overrides) : stackConfig(stack, overrides)).config.haproxy
      .rateLimit;

  it("defaults: 1000 requests per 10 s and 200 connections per address, on by the target unless set", () => {
    expect(rateLimit("helion")).toEqual({ requestsPer10s: 1000, connections: 200 });
    // The committed files say what their load needs: off on dev, far above the lab's load.
    expect(rateLimit("dev")).toEqual({ enabled: false, requestsPer10s: 1000, connections: 200 });
    expect(rateLimit("lab")).toEqual({ requestsPer10s: 20000, connections: 2000 });
    expect(rateLimit("dev", { "flotilla:haproxy": { rateLimit: { connections: 0 } } })).toEqual({
      requestsPer10s: 1000,
      connections: 0,
    });
  });

  it.each([
    [{ requestsPer10s: -1 }, "requestsPer10s", /expected 0 \(no request limit\) or more requests, got -1/],
    [{ requestsPer10s: 2.5 }, "requestsPer10s", /expected a whole number of requests, got 2\.5/],
    [{ requestsPer10s: 2000000 }, "requestsPer10s", /expected at most 1000000 requests per 10 s/],
    [{ connections: -5 }, "connections", /expected 0 \(no connection limit\) or more connections, got -5/],
    [{ connections: 5000 }, "connections", /expected at most 4096 connections \(HAProxy's maxconn/],
    [{ connections: "many" }, "connections", /expected a whole number of connections, got "many"/],
    [{ enabled: "yes" }, "enabled", /expected true or false, got "yes"/],
    [{ requests: 10 }, "requests", /unknown key/],
  ])("haproxy.rateLimit = %j is refused at its key", (value, key, message) => {
    onlyProblem(
      helion({ "flotilla:haproxy": { rateLimit: value } }),
      `flotilla:haproxy.rateLimit.${key}`,
      message,
    );
  });

  it("enabled: true on local is refused: every local client reaches HAProxy from one address", () => {
    onlyProblem(
      stackConfig("dev", { "flotilla:haproxy": { rateLimit: { enabled: true } } }),
      "flotilla:haproxy.rateLimit.enabled",
      /expected false or unset when target is 'local': clients on this machine reach HAProxy through Docker's port proxy, all from one address, so a per-source limit would limit the whole site \(it applies on 'openstack' or 'lab'\), got true$/,
    );
    expect(() => parseConfig(helion({ "flotilla:haproxy": { rateLimit: { enabled: true } } }))).not.toThrow();
  });
});

describe("the JSON Schema editors use", () => {
  const committed = readFileSync(SCHEMA_PATH, "utf8");
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  const validate = ajv.compile(JSON.parse(committed));
  const stackFile = (stack: string) =>
    parseYaml(readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8"));

  it("is in sync with the zod schema (run `npm run schema` after changing components/config/schema.ts)", () => {
    expect(committed).toBe(renderSchema());
  });

  it.each(["dev", "helion"])("Pulumi.%s.yaml points at it and validates against it", (stack) => {
    const text = readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8");
    expect(text.split("\n")[0]).toBe("# yaml-language-server: $schema=./schema/stack-config.schema.json");
    expect(validate(stackFile(stack)), JSON.stringify(validate.errors)).toBe(true);
  });

  it("catches what the program would refuse: a typo, a wrong type, an unknown target", () => {
    const bad = stackFile("dev");
    bad.config["flotilla:webap"] = { replicas: 2 };
    expect(validate(bad)).toBe(false);
    const wrongType = stackFile("dev");
    wrongType.config["flotilla:haproxy"] = { httpPort: "eighty" };
    expect(validate(wrongType)).toBe(false);
    const unknownTarget = stackFile("dev");
    unknownTarget.config["flotilla:target"] = "kubernetes";
    expect(validate(unknownTarget)).toBe(false);
  });

  it("accepts secrets in Pulumi's encrypted form and other providers' keys", () => {
    const file = stackFile("dev");
    for (const key of SECRET_KEYS) file.config[`flotilla:${key}`] = { secure: "v1:abc" };
    file.config["docker:host"] = "unix:///var/run/docker.sock";
    expect(validate(file), JSON.stringify(validate.errors)).toBe(true);
  });
});

describe("the README's config reference", () => {
  it("lists every key with its default and the committed stacks' values (run `npm run schema` when stale)", () => {
    const readme = readFileSync(README_PATH, "utf8");
    expect(readme).toBe(updatedReadme(readme));
    for (const key of [
      "swarm.managers",
      "openstack.flavors.worker",
      "images.consulSource",
      "mysqlRootPassword",
    ]) {
      expect(readme).toContain(`| \`${key}\` |`);
    }
  });
});
