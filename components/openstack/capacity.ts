// Pure prechecks for the OpenStack target: what the config asks of the cloud (instances,
// cores, RAM, volumes, floating IPs...) against what the cloud says it has (flavors,
// image, networks, limits), before any resource. No Pulumi imports: unit-tested without
// mocks; components/openstack/cloudChecks.ts does the lookups and calls these.
import type { FlotillaConfig } from "../config";
import { planNodes } from "../swarm";
import { securityRules } from "./plan";

/** A flavor as Nova describes it (`openstack flavor show`). */
export interface FlavorFacts {
  readonly vcpus: number;
  readonly ram: number; // MiB
  readonly disk: number; // GiB; 0 = the image's size
}

/** The limits the project has; -1 is unlimited (Nova, Cinder and Neutron all say so). */
export interface CloudLimits {
  readonly compute: {
    readonly maxTotalInstances: number;
    readonly maxTotalCores: number;
    readonly maxTotalRamSize: number;
    readonly maxServerGroups: number;
    readonly maxServerGroupMembers: number;
    readonly totalInstancesUsed: number;
    readonly totalCoresUsed: number;
    readonly totalRamUsed: number;
  };
  readonly volumes: {
    readonly volumes: number;
    readonly gigabytes: number;
    readonly perVolumeGigabytes: number;
  };
  readonly network: {
    readonly floatingip: number;
    readonly port: number;
    readonly securityGroup: number;
    readonly securityGroupRule: number;
  };
}

/** What a stack needs from the project, counted from the same plans the components use. */
export interface CloudDemand {
  readonly instances: number;
  readonly cores: number;
  readonly ramMb: number;
  readonly serverGroups: number;
  /** The largest anti-affinity group (Nova's limit is per group). */
  readonly serverGroupMembers: number;
  readonly volumes: number;
  readonly volumeGb: number;
  readonly floatingIps: number;
  readonly ports: number;
  readonly securityGroups: number;
  readonly securityGroupRules: number;
}

export type FlavorRole = keyof NonNullable<FlotillaConfig["openstack"]>["flavors"];
/** The roles with a flavor of their own (`flotilla:openstack.flavors.<role>`). */
export const FLAVOR_ROLES: readonly FlavorRole[] = ["bastion", "manager", "worker"];

/** The demand of a stack, given each role's flavor. */
export function cloudDemand(config: FlotillaConfig, flavors: Record<FlavorRole, FlavorFacts>): CloudDemand {
  const nodes = planNodes(config.swarm, config.mysql.nodes);
  const vms: FlavorRole[] = ["bastion", ...nodes.map((n) => n.role)];
  const count = (label: "lb" | "db") => nodes.filter((n) => n.labels.includes(label)).length;
  const managers = nodes.filter((n) => n.role === "manager").length;
  const groups = [managers, count("lb"), count("db")].filter((n) => n > 0);
  const vip = config.keepalived.enabled;
  return {
    instances: vms.length,
    cores: vms.reduce((sum, role) => sum + flavors[role].vcpus, 0),
    ramMb: vms.reduce((sum, role) => sum + flavors[role].ram, 0),
    serverGroups: groups.length,
    serverGroupMembers: Math.max(...groups),
    volumes: count("db"),
    volumeGb: count("db") * config.mysql.volumeSizeGb,
    // The bastion's, and the public address (the VIP's, or the first lb node's).
    floatingIps: 2,
    ports: vms.length + (vip ? 1 : 0),
    securityGroups: 4,
    // Ours, plus the two egress rules Neutron adds to each new group.
    securityGroupRules: securityRules(config).length + 4 * 2,
  };
}

const unlimited = (limit: number) => limit < 0;

/**
 * Problems that stop the deploy: a limit under what the stack needs (it can never fit,
 * whatever already runs), a flavor too small for the image. Each line names the config
 * key or the quota, the value and what exists.
 */
export function capacityProblems(
  config: FlotillaConfig,
  flavors: Record<FlavorRole, FlavorFacts & { readonly name: string }>,
  image: { readonly name: string; readonly minDiskGb: number; readonly minRamMb: number },
  limits: CloudLimits,
): string[] {
  const demand = cloudDemand(config, flavors);
  const problems: string[] = [];
  const need = (what: string, needed: number, limit: number, hint: string) => {
    if (!unlimited(limit) && limit < needed)
      problems.push(`quota ${what}: this stack needs ${needed}, the project's limit is ${limit} (${hint})`);
  };
  const c = limits.compute;
  const counts = `${config.swarm.managers} managers, ${config.swarm.workers} workers and the bastion`;
  need("instances", demand.instances, c.maxTotalInstances, counts);
  need("cores", demand.cores, c.maxTotalCores, `vCPUs of the flavors for ${counts}`);
  need("ram (MiB)", demand.ramMb, c.maxTotalRamSize, `RAM of the flavors for ${counts}`);
  need("server_groups", demand.serverGroups, c.maxServerGroups, "anti-affinity groups: managers, lb, db");
  need(
    "server_group_members",
    demand.serverGroupMembers,
    c.maxServerGroupMembers,
    "the largest anti-affinity group",
  );
  need("volumes", demand.volumes, limits.volumes.volumes, "one Cinder volume per database node");
  need(
    "gigabytes",
    demand.volumeGb,
    limits.volumes.gigabytes,
    "flotilla:mysql.volumeSizeGb × database nodes",
  );
  if (
    !unlimited(limits.volumes.perVolumeGigabytes) &&
    config.mysql.volumeSizeGb > limits.volumes.perVolumeGigabytes
  )
    problems.push(
      `flotilla:mysql.volumeSizeGb: ${config.mysql.volumeSizeGb} GiB is over the project's per-volume limit of ${limits.volumes.perVolumeGigabytes} GiB`,
    );
  need("floatingip", demand.floatingIps, limits.network.floatingip, "the bastion's and the public address");
  need("port", demand.ports, limits.network.port, "one per VM, and the VIP's");
  need("security_group", demand.securityGroups, limits.network.securityGroup, "bastion, node, manager, lb");
  need(
    "security_group_rule",
    demand.securityGroupRules,
    limits.network.securityGroupRule,
    "Flotilla's ingress rules (one per admin and client CIDR) and Neutron's default egress rules",
  );
  for (const role of FLAVOR_ROLES) {
    const f = flavors[role];
    const key = `flotilla:openstack.flavors.${role}`;
    if (f.ram < image.minRamMb)
      problems.push(
        `${key}: flavor '${f.name}' has ${f.ram} MiB of RAM, image '${image.name}' (flotilla:openstack.image) needs at least ${image.minRamMb}`,
      );
    if (f.disk > 0 && f.disk < image.minDiskGb)
      problems.push(
        `${key}: flavor '${f.name}' has a ${f.disk} GiB disk, image '${image.name}' (flotilla:openstack.image) needs at least ${image.minDiskGb}`,
      );
  }
  return problems;
}

/**
 * Advice, not refusal: the project's free instances, cores and RAM are under what a first
 * deploy needs. On an update this stack's own VMs are among the used, so only the limit
 * (capacityProblems) can prove a deploy will not fit.
 */
export function headroomNotes(
  config: FlotillaConfig,
  flavors: Record<FlavorRole, FlavorFacts>,
  limits: CloudLimits,
): string[] {
  const demand = cloudDemand(config, flavors);
  const c = limits.compute;
  const notes: string[] = [];
  const free = (what: string, needed: number, limit: number, used: number) => {
    if (!unlimited(limit) && limit - used < needed)
      notes.push(
        `${what}: ${limit - used} free of ${limit}; a first deploy of this stack needs ${needed} (fine if this stack's VMs already exist)`,
      );
  };
  free("instances", demand.instances, c.maxTotalInstances, c.totalInstancesUsed);
  free("cores", demand.cores, c.maxTotalCores, c.totalCoresUsed);
  free("ram (MiB)", demand.ramMb, c.maxTotalRamSize, c.totalRamUsed);
  return notes;
}
