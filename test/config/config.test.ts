// The config schema: what it accepts, what it refuses, and how it says so.
import { readFileSync } from "node:fs";
import path from "node:path";
import Ajv2020 from "ajv/dist/2020";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { ConfigError, type ParsedConfig, parseConfig, SECRET_KEYS } from "../../components/config";
import { README_PATH, updatedReadme } from "../../scripts/dev/write-config-docs";
import { renderSchema, SCHEMA_PATH } from "../../scripts/dev/write-config-schema";
import { ROOT, stackConfig } from "../support/pulumi";

function problemsOf(raw: Record<string, string>): string[] {
  try {
    parseConfig(raw);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error("expected the config to be refused");
}

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

  it("Pulumi.helion.yaml parses: 3 managers, 5 workers, 3 Consul servers, 3 Galera members, its cloud settings", () => {
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
    expect(config.swarm).toMatchObject({ managers: 3, loadBalancerNodes: 2 });
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
        "flotilla:images": { registry: "registry.example.com/flotilla" },
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
    ["flotilla:webapp", { replicas: -1 }, "flotilla:webapp.replicas", /zero or more.*got -1/],
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
        /^flotilla:images\.consulVersion: expected 1\.8\.7, the only Consul version in Debian's archive \(set flotilla:images\.consulSource to 'hashicorp'.*got "1\.20\.2"$/,
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
    expect(problemsOf(helion({ "flotilla:images": {} }))).toEqual([
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
