// Which peer's X-Forwarded-For / X-Forwarded-Proto count. The webapp publishes no port:
// on Swarm's overlay networks its only HTTP client is HAProxy, which sets
// X-Forwarded-Proto (replacing a client's) and appends the client's address to
// X-Forwarded-For. So the headers are trusted from the direct peer only (one hop), and
// only when that peer has a loopback, link-local or private address: req.ip is then the
// address HAProxy appended (never one a client wrote before it), req.secure follows
// HAProxy's X-Forwarded-Proto.
import { BlockList, isIPv4 } from "node:net";

const privateNets = new BlockList();
for (const [net, prefix] of [
  ["127.0.0.0", 8],
  ["10.0.0.0", 8],
  ["172.16.0.0", 12],
  ["192.168.0.0", 16],
  ["169.254.0.0", 16],
] as const) {
  privateNets.addSubnet(net, prefix, "ipv4");
}
for (const [net, prefix] of [
  ["::1", 128],
  ["fc00::", 7],
  ["fe80::", 10],
] as const) {
  privateNets.addSubnet(net, prefix, "ipv6");
}

/** Loopback, link-local or private (RFC 1918, unique local), IPv4-mapped IPv6 included. */
export function isPrivateAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  const v4 = mapped ?? (isIPv4(address) ? address : undefined);
  try {
    return v4 ? privateNets.check(v4, "ipv4") : privateNets.check(address, "ipv6");
  } catch {
    return false;
  }
}

/** Express's `trust proxy` function: the direct peer (hop 0), when its address is private. */
export function trustProxy(address: string, hop: number): boolean {
  return hop === 0 && isPrivateAddress(address);
}
