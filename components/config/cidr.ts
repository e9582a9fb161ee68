// IPv4 CIDR arithmetic for the config rules (how much of the internet a list admits).

/** The first address and the size of an IPv4 CIDR ("10.0.0.0/8" -> [167772160, 16777216]). */
export function cidrRange(cidr: string): [start: number, size: number] {
  const [ip, bits] = cidr.split("/");
  const prefix = Number(bits);
  const size = 2 ** (32 - prefix);
  const address = ip.split(".").reduce((n, octet) => n * 256 + Number(octet), 0);
  return [address - (address % size), size];
}

/** How many addresses the union of the CIDRs holds (overlaps counted once). */
export function cidrUnionSize(cidrs: readonly string[]): number {
  const ranges = cidrs.map(cidrRange).sort((a, b) => a[0] - b[0]);
  let total = 0;
  let end = -1;
  for (const [start, size] of ranges) {
    const last = start + size - 1;
    if (last <= end) continue;
    total += last - Math.max(start, end + 1) + 1;
    end = last;
  }
  return total;
}

/** Admin CIDRs may admit at most a /8 in all (16,777,216 addresses), none shorter than /8. */
export const ADMIN_PREFIX_MIN = 8;
export const ADMIN_ADDRESSES_MAX = 2 ** (32 - ADMIN_PREFIX_MIN);
