// Small helpers shared by the policies. Policy props arrive as plain JSON (through the
// SDK's proxy, which throws on values unknown during preview); these narrow them
// without `any`.

/** Resource type tokens the policies guard (checked against the provider SDKs in tests). */
export const TYPES = {
  secGroupRule: "openstack:networking/secGroupRule:SecGroupRule",
  volumes: [
    "openstack:blockstorage/volume:Volume",
    "openstack:blockstorage/volumeV2:VolumeV2",
    "openstack:blockstorage/volumeV1:VolumeV1",
  ],
  instance: "openstack:compute/instance:Instance",
  dockerService: "docker:index/service:Service",
  dockerContainer: "docker:index/container:Container",
  dockerSecret: "docker:index/secret:Secret",
  tlsSelfSignedCert: "tls:index/selfSignedCert:SelfSignedCert",
  localCommand: "command:local:Command",
  remoteCommand: "command:remote:Command",
} as const;

export type Props = Record<string, unknown>;

export function isRecord(value: unknown): value is Props {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function str(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/** A number, or a numeric string (config values and Neutron ports arrive as either). */
export function num(value: unknown): number | undefined {
  if (typeof value === "number" && Number.isFinite(value)) return value;
  if (typeof value === "string" && /^\s*-?\d+\s*$/.test(value)) return Number(value);
  return undefined;
}

/** Keys of a proxied props object without reading their values (reading an unknown throws). */
export function keysOf(value: unknown): string[] {
  return isRecord(value) ? Object.keys(value) : [];
}
