// Pure planning: node roles and labels, security groups per role, the rule table.
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../components/config";
import { groupsFor, securityRules } from "../../components/openstack";
import { planNodes } from "../../components/swarm";
import { stackConfig } from "../support/pulumi";

// Helion's shape with one database server (the committed file runs 3 Galera members:
// test/galera/galera.test.ts plans those).
const helion = parseConfig(
  stackConfig("helion", {
    "flotilla:swarm": { managers: 3, workers: 3, loadBalancerNodes: 2 },
    "flotilla:mysql": { nodes: 1 },
  }),
).config;

describe("planNodes", () => {
  it("managers first; the first loadBalancerNodes workers are lb, the next worker is db", () => {
    expect(planNodes(helion.swarm).map((n) => `${n.key}:${n.labels.join("+")}`)).toEqual([
      "manager-0:",
      "manager-1:",
      "manager-2:",
      "worker-0:lb",
      "worker-1:lb",
      "worker-2:db",
    ]);
  });

  it("adding workers never moves the db label (the MySQL volume stays where it is)", () => {
    const db = (workers: number) =>
      planNodes({ managers: 3, workers, loadBalancerNodes: 2 }).find((n) => n.labels.includes("db"))?.key;
    expect([3, 4, 6, 10].map(db)).toEqual(["worker-2", "worker-2", "worker-2", "worker-2"]);
  });

  it("a single worker can be both lb and db", () => {
    expect(planNodes({ managers: 1, workers: 1, loadBalancerNodes: 1 }).map((n) => n.labels)).toEqual([
      [],
      ["lb", "db"],
    ]);
  });

  it("only managers join the manager group; only lb nodes the lb group", () => {
    const groups = planNodes(helion.swarm).map((n) => `${n.key}:${groupsFor(n).join("+")}`);
    expect(groups).toEqual([
      "manager-0:node+manager",
      "manager-1:node+manager",
      "manager-2:node+manager",
      "worker-0:node+lb",
      "worker-1:node+lb",
      "worker-2:node",
    ]);
  });
});

describe("securityRules", () => {
  const rules = securityRules(helion);

  it("never opens SSH, MySQL, stats or the Consul UI to 0.0.0.0/0", () => {
    // 8500: Consul's HTTP API and UI.
    const sensitive = [22, 3306, helion.haproxy.statsPort, 8500];
    for (const rule of rules) {
      if (!("cidr" in rule.from) || rule.from.cidr !== "0.0.0.0/0") continue;
      const [min, max] = rule.ports ?? [1, 65535];
      for (const port of sensitive)
        expect(port >= min && port <= max, `${rule.id} opens ${port}`).toBe(false);
    }
  });

  it("opens Prometheus' UI on the managers to the bastion only, and not at all without monitoring", () => {
    const port = helion.monitoring.port;
    const open = rules.filter((r) => r.ports && r.ports[0] <= port && r.ports[1] >= port);
    expect(open.map((r) => [r.group, r.from])).toEqual([["manager", { group: "bastion" }]]);
    const off = securityRules({ ...helion, monitoring: { ...helion.monitoring, enabled: false } });
    expect(off.filter((r) => r.id.startsWith("prometheus"))).toEqual([]);
  });

  it("has no rule for MySQL at all (3306 is reached over the overlay only)", () => {
    expect(rules.filter((r) => r.ports && r.ports[0] <= 3306 && r.ports[1] >= 3306)).toEqual([]);
  });

  it("has no rule for the Consul HTTP port (8500): nothing serves it outside the overlay", () => {
    expect(rules.filter((r) => r.ports && r.ports[0] <= 8500 && r.ports[1] >= 8500)).toEqual([]);
  });

  it("follows the admin and client CIDRs of the config", () => {
    const other = parseConfig(
      stackConfig("helion", {
        "flotilla:access": { adminCidrs: ["198.51.100.7/32", "192.0.2.0/28"], clientCidrs: ["10.9.0.0/16"] },
      }),
    ).config;
    const table = securityRules(other)
      .filter((r) => "cidr" in r.from)
      .map((r) => `${r.group} ${r.ports?.[0]} ${"cidr" in r.from ? r.from.cidr : ""}`);
    expect(table.sort()).toEqual(
      [
        "bastion 22 198.51.100.7/32",
        "bastion 22 192.0.2.0/28",
        "lb 80 10.9.0.0/16",
        "lb 443 10.9.0.0/16",
        "lb 8404 198.51.100.7/32",
        "lb 8404 192.0.2.0/28",
      ].sort(),
    );
  });
});
