// No security group rule opens an administrative or internal port to the whole Internet.
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { num, str, TYPES } from "./util";

/** A port (or range) that must never be reachable from 0.0.0.0/0, ::/0 or an IPv4 prefix under /8. */
export interface GuardedPort {
  readonly from: number;
  readonly to: number;
  readonly service: string;
}

/** The guarded ports; HAProxy stats follows the `haproxyStatsPort` policy config. */
export function guardedPorts(statsPort = 8404): GuardedPort[] {
  return [
    { from: 22, to: 22, service: "SSH" },
    { from: 2375, to: 2377, service: "the Docker API / Swarm management" },
    { from: 3306, to: 3306, service: "MySQL" },
    { from: statsPort, to: statsPort, service: "HAProxy stats" },
    { from: 8300, to: 8302, service: "Consul RPC/Serf" },
    { from: 8500, to: 8500, service: "the Consul HTTP API/UI" },
    { from: 8600, to: 8600, service: "Consul DNS" },
  ];
}

/** Protocols whose rules carry ports; any other protocol (icmp, vrrp/112, ...) opens no TCP/UDP port. */
const PORTED = new Set(["tcp", "udp", "6", "17", "sctp", "132"]);

/**
 * True when the rule's remote side is everyone, or near enough: a /0 prefix, an IPv4 prefix
 * shorter than /8 (0.0.0.0/1 and 128.0.0.0/1 together are the whole internet; the config
 * refuses admin CIDRs broader than a /8 too), or no prefix and no group (Neutron's "any").
 */
export function opensToWorld(remoteIpPrefix: string | undefined, remoteGroupId: string | undefined): boolean {
  const prefix = remoteIpPrefix?.trim() ?? "";
  if (prefix === "") return !remoteGroupId;
  const bits = /\/(\d+)$/.exec(prefix);
  if (!bits) return false;
  return prefix.includes(":") ? Number(bits[1]) === 0 : Number(bits[1]) < 8;
}

/** The guarded ports a rule opens to the world, or [] when it opens none of them. */
export function exposedServices(
  rule: {
    direction?: string;
    protocol?: string;
    portRangeMin?: number;
    portRangeMax?: number;
    remoteIpPrefix?: string;
    remoteGroupId?: string;
  },
  ports: GuardedPort[],
): string[] {
  if ((rule.direction ?? "ingress").toLowerCase() !== "ingress") return [];
  if (!opensToWorld(rule.remoteIpPrefix, rule.remoteGroupId)) return [];
  const protocol = (rule.protocol ?? "").toLowerCase();
  // No protocol means every protocol, and so every port.
  if (protocol !== "" && protocol !== "any" && !PORTED.has(protocol)) return [];
  // Neutron: no port range (or 0) means every port; a lone min means that one port.
  const min = rule.portRangeMin || 1;
  const max = rule.portRangeMax || (rule.portRangeMin ? rule.portRangeMin : 65535);
  return ports.filter((p) => p.from <= max && p.to >= min).map((p) => `${p.service} (${describe(p)})`);
}

function describe(p: GuardedPort): string {
  return p.from === p.to ? `port ${p.from}` : `ports ${p.from}-${p.to}`;
}

export const noWorldOpenAdminPorts: ResourceValidationPolicy = {
  name: "no-world-open-admin-ports",
  description:
    "No security group rule opens SSH, the Docker API, MySQL, HAProxy stats or Consul to 0.0.0.0/0, ::/0 or an IPv4 prefix shorter than /8.",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Restrict remoteIpPrefix to the admin CIDRs (flotilla:access.adminCidrs) or use remoteGroupId.",
  configSchema: {
    properties: {
      haproxyStatsPort: {
        type: "integer",
        minimum: 1,
        maximum: 65535,
        default: 8404,
        description: "The HAProxy stats port (flotilla:haproxy.statsPort).",
      },
    },
  },
  validateResource: (args, reportViolation) => {
    if (args.type !== TYPES.secGroupRule) return;
    const { haproxyStatsPort } = args.getConfig<{ haproxyStatsPort?: number }>();
    const p = args.props;
    const exposed = exposedServices(
      {
        direction: str(p.direction),
        protocol: str(p.protocol),
        portRangeMin: num(p.portRangeMin),
        portRangeMax: num(p.portRangeMax),
        remoteIpPrefix: str(p.remoteIpPrefix),
        remoteGroupId: str(p.remoteGroupId),
      },
      guardedPorts(haproxyStatsPort ?? 8404),
    );
    if (exposed.length > 0) {
      const remote = str(p.remoteIpPrefix) || "any address (no remoteIpPrefix or remoteGroupId)";
      reportViolation(`security group rule '${args.name}' opens ${exposed.join(", ")} to ${remote}`);
    }
  },
};
