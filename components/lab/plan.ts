// Pure planning for the `lab` target: the fixed addresses on the lab network (registry,
// bastion, every Swarm node, keepalived's VIP) and the range Docker may hand out to
// anything else (the chaos suite's load client). Fixed addresses make the lab behave
// like a subnet with reserved ports: the VIP is never given to a container.

/** Offsets inside the subnet's first /24 (the schema requires a prefix of /24 or shorter). */
const OFFSET = { gateway: 1, registry: 2, bastion: 3, firstNode: 10, vip: 100, dynamicRange: 128 } as const;
/** Nodes fit between `firstNode` and `vip`. */
export const LAB_MAX_NODES = OFFSET.vip - OFFSET.firstNode;

export interface LabAddressPlan {
  /** The Docker network's IPAM: subnet, gateway, and the range Docker assigns by itself. */
  readonly network: { readonly subnet: string; readonly gateway: string; readonly ipRange: string };
  /** The image registry's address on the lab network. */
  readonly registry: string;
  /** The bastion's address on the lab network. */
  readonly bastion: string;
  /** keepalived's virtual IP (outside Docker's dynamic range, never a container's). */
  readonly vip: string;
  /** Every Swarm node's address, by node key, in plan order. */
  readonly nodes: Readonly<Record<string, string>>;
}

function toInt(ip: string): number {
  return ip.split(".").reduce((n, octet) => n * 256 + Number(octet), 0);
}

function toIp(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join(".");
}

/** Addresses for the lab network `subnetCidr` (e.g. `10.213.0.0/24`) and the given node keys. */
export function planLabAddresses(subnetCidr: string, nodeKeys: readonly string[]): LabAddressPlan {
  const [ip, prefixText] = subnetCidr.split("/");
  const prefix = Number(prefixText);
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(ip ?? "") || !Number.isInteger(prefix) || prefix < 8 || prefix > 24)
    throw new Error(`lab plan: expected an IPv4 subnet from /8 to /24, got '${subnetCidr}'`);
  if (nodeKeys.length > LAB_MAX_NODES)
    throw new Error(`lab plan: at most ${LAB_MAX_NODES} nodes fit the address plan, got ${nodeKeys.length}`);
  const base = toInt(ip) - (toInt(ip) % 2 ** (32 - prefix));
  const at = (offset: number) => toIp(base + offset);
  return {
    network: {
      subnet: `${toIp(base)}/${prefix}`,
      gateway: at(OFFSET.gateway),
      ipRange: `${at(OFFSET.dynamicRange)}/25`,
    },
    registry: at(OFFSET.registry),
    bastion: at(OFFSET.bastion),
    vip: at(OFFSET.vip),
    nodes: Object.fromEntries(nodeKeys.map((key, i) => [key, at(OFFSET.firstNode + i)])),
  };
}
