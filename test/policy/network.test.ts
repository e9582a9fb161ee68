// no-world-open-admin-ports: rules that must pass and rules that must be refused.
import { describe, expect, it } from "vitest";
import { exposedServices, guardedPorts, noWorldOpenAdminPorts } from "../../policy/network";
import { analyze, by, UNKNOWN, type Violation } from "./harness";

const RULE = "openstack:networking/secGroupRule:SecGroupRule";
const rule = (props: Record<string, unknown>) => ({
  type: RULE,
  name: "flotilla-rule",
  props: { direction: "ingress", ethertype: "IPv4", securityGroupId: "sg-1", ...props },
});
const own = (vs: Violation[]) => by("no-world-open-admin-ports", vs);

describe("no-world-open-admin-ports", () => {
  it.each([
    [
      "SSH from the admin CIDR",
      { protocol: "tcp", portRangeMin: 22, portRangeMax: 22, remoteIpPrefix: "203.0.113.0/24" },
    ],
    [
      "HTTP from anywhere",
      { protocol: "tcp", portRangeMin: 80, portRangeMax: 80, remoteIpPrefix: "0.0.0.0/0" },
    ],
    [
      "MySQL from the cluster's own group",
      { protocol: "tcp", portRangeMin: 3306, portRangeMax: 3306, remoteGroupId: "sg-1" },
    ],
    ["VRRP (protocol 112, no ports) from anywhere", { protocol: "112", remoteIpPrefix: "0.0.0.0/0" }],
    ["ICMP from anywhere", { protocol: "icmp", remoteIpPrefix: "0.0.0.0/0" }],
    ["all egress", { direction: "egress", remoteIpPrefix: "0.0.0.0/0" }],
    [
      "SSH from a /8 (the largest admin network the config accepts)",
      { protocol: "tcp", portRangeMin: 22, portRangeMax: 22, remoteIpPrefix: "10.0.0.0/8" },
    ],
    [
      "Consul from the private subnet",
      { protocol: "tcp", portRangeMin: 8500, portRangeMax: 8500, remoteIpPrefix: "10.42.0.0/24" },
    ],
  ])("passes %s", async (_what, props) => {
    expect(own(await analyze(rule(props)))).toEqual([]);
  });

  it.each([
    [
      "SSH from 0.0.0.0/0",
      { protocol: "tcp", portRangeMin: 22, portRangeMax: 22, remoteIpPrefix: "0.0.0.0/0" },
      ["SSH"],
    ],
    [
      "SSH from 128.0.0.0/1 (half the internet)",
      { protocol: "tcp", portRangeMin: 22, portRangeMax: 22, remoteIpPrefix: "128.0.0.0/1" },
      ["SSH"],
    ],
    [
      "MySQL from ::/0",
      { ethertype: "IPv6", protocol: "tcp", portRangeMin: 3306, portRangeMax: 3306, remoteIpPrefix: "::/0" },
      ["MySQL"],
    ],
    [
      "HAProxy stats from anywhere",
      { protocol: "tcp", portRangeMin: 8404, portRangeMax: 8404, remoteIpPrefix: "0.0.0.0/0" },
      ["HAProxy stats"],
    ],
    [
      "the Consul UI from anywhere",
      { protocol: "tcp", portRangeMin: 8500, portRangeMax: 8500, remoteIpPrefix: "0.0.0.0/0" },
      ["Consul HTTP"],
    ],
    [
      "Consul DNS over UDP from anywhere",
      { protocol: "udp", portRangeMin: 8600, portRangeMax: 8600, remoteIpPrefix: "0.0.0.0/0" },
      ["Consul DNS"],
    ],
    [
      "a range 8000-9000 from anywhere",
      { protocol: "tcp", portRangeMin: 8000, portRangeMax: 9000, remoteIpPrefix: "0.0.0.0/0" },
      ["HAProxy stats", "Consul RPC", "Consul HTTP", "Consul DNS"],
    ],
    ["every protocol from anywhere", { remoteIpPrefix: "0.0.0.0/0" }, ["SSH", "MySQL", "Docker API"]],
    [
      "SSH with no remote at all (Neutron: any)",
      { protocol: "tcp", portRangeMin: 22, portRangeMax: 22 },
      ["SSH"],
    ],
    [
      "SSH by protocol number 6",
      { protocol: "6", portRangeMin: 22, portRangeMax: 22, remoteIpPrefix: "0.0.0.0/0" },
      ["SSH"],
    ],
  ])("refuses %s", async (_what, props, services) => {
    const vs = own(await analyze(rule(props)));
    expect(vs).toHaveLength(1);
    expect(vs[0].level).toBe("mandatory");
    expect(vs[0].message).toContain("flotilla-rule");
    for (const s of services) expect(vs[0].message).toContain(s);
  });

  it("only warns (advisory) when the remote prefix is unknown during preview", async () => {
    const vs = own(
      await analyze(rule({ protocol: "tcp", portRangeMin: 22, portRangeMax: 22, remoteIpPrefix: UNKNOWN })),
    );
    expect(vs).toHaveLength(1);
    expect(vs[0].level).toBe("advisory");
    expect(vs[0].message).toMatch(/can't run policy .* during preview/);
  });

  it("guards the configured HAProxy stats port", () => {
    const r = { protocol: "tcp", portRangeMin: 9000, portRangeMax: 9000, remoteIpPrefix: "0.0.0.0/0" };
    expect(exposedServices(r, guardedPorts())).toEqual([]);
    expect(exposedServices(r, guardedPorts(9000))).toEqual(["HAProxy stats (port 9000)"]);
    const reported: string[] = [];
    const validate = noWorldOpenAdminPorts.validateResource;
    if (typeof validate !== "function") throw new Error("expected one validateResource function");
    void validate(
      {
        type: RULE,
        name: "r",
        urn: "urn",
        props: { direction: "ingress", ...r },
        opts: {
          protect: false,
          ignoreChanges: [],
          aliases: [],
          customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
          additionalSecretOutputs: [],
        },
        stackTags: new Map(),
        isType: () => false,
        asType: () => undefined,
        getConfig: <T extends object>() => ({ haproxyStatsPort: 9000 }) as T,
        notApplicable: () => {
          throw new Error("not applicable");
        },
      },
      (message) => reported.push(message),
    );
    expect(reported).toEqual(["security group rule 'r' opens HAProxy stats (port 9000) to 0.0.0.0/0"]);
  });
});
