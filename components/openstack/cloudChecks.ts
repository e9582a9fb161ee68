// Prechecks through the provider's lookups, before any resource: the flavors, the image,
// the networks, the availability zone and the operator's keypair name exist as the config
// says, and the project's limits can hold the stack. Every problem is collected and
// reported at once, naming the config key (or quota), the value and what exists; a
// mistake then costs seconds, not a VM creation that fails twenty minutes in.
import * as openstack from "@pulumi/openstack";
import * as pulumi from "@pulumi/pulumi";
import type { FlotillaConfig } from "../config";
import {
  type CloudLimits,
  capacityProblems,
  FLAVOR_ROLES,
  type FlavorFacts,
  type FlavorRole,
  headroomNotes,
} from "./capacity";

/** The lookups failed: one line per problem. Pulumi prints a RunError's message alone. */
export class CloudCheckError extends pulumi.RunError {
  constructor(readonly problems: string[]) {
    super(
      `the OpenStack project cannot take this stack (${problems.length} problem${problems.length === 1 ? "" : "s"}, nothing was created):\n` +
        problems.map((p) => `  - ${p}`).join("\n"),
    );
  }
}

/** The provider's error, first line only (it repeats the request on the next ones), as " (…)". */
function said(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const line = text
    .split("\n")
    .map((l) => l.trim())
    .find((l) => l !== "" && l !== "undefined");
  return line ? ` (${line})` : "";
}

/** The name of the operator's keypair, as OpenStackCluster creates it. */
export function keypairName(cluster: string, stack: string): string {
  return `${cluster}-${stack}-operator`;
}

/**
 * Look everything up and throw a CloudCheckError listing every problem; notes (headroom
 * that only a first deploy would miss) go to Pulumi's log.
 */
export async function checkCloud(config: FlotillaConfig, cluster: string, stack: string): Promise<void> {
  const os = config.openstack;
  if (config.target !== "openstack" || !os) return;
  const problems: string[] = [];
  const lookup = async <T>(key: string, value: string, what: string, fn: () => Promise<T>) => {
    try {
      return await fn();
    } catch (err) {
      problems.push(`${key}: ${what} '${value}' was not found${said(err)}`);
      return undefined;
    }
  };

  const flavors: Partial<Record<FlavorRole, FlavorFacts & { name: string }>> = {};
  await Promise.all(
    FLAVOR_ROLES.map(async (role) => {
      const name = os.flavors[role];
      const f = await lookup(`flotilla:openstack.flavors.${role}`, name, "flavor", () =>
        openstack.compute.getFlavor({ name }),
      );
      if (f) flavors[role] = { vcpus: f.vcpus ?? 0, ram: f.ram ?? 0, disk: f.disk ?? 0, name };
    }),
  );
  const image = await lookup("flotilla:openstack.image", os.image, "image", () =>
    // Without mostRecent: two images of one name are refused here, as Nova would refuse them.
    openstack.images.getImage({ name: os.image }),
  );
  await lookup("flotilla:openstack.externalNetwork", os.externalNetwork, "external network", () =>
    openstack.networking.getNetwork({ name: os.externalNetwork, external: true }),
  );
  if (os.existingNetwork !== undefined)
    await lookup("flotilla:openstack.existingNetwork", os.existingNetwork, "network", () =>
      openstack.networking.getNetwork({ name: os.existingNetwork }),
    );
  if (os.availabilityZone !== undefined) {
    const zones = await openstack.compute.getAvailabilityZones({ state: "available" });
    if (!zones.names.includes(os.availabilityZone))
      problems.push(
        `flotilla:openstack.availabilityZone: '${os.availabilityZone}' is not an available zone (available: ${zones.names.join(", ") || "none"})`,
      );
  }
  // A keypair of our name with another key would make the create fail (names are per user).
  const name = keypairName(cluster, stack);
  const existing = await openstack.compute.getKeypair({ name }).catch(() => undefined);
  if (existing && existing.publicKey.trim().split(/\s+/)[1] !== os.sshPublicKey.trim().split(/\s+/)[1])
    problems.push(
      `flotilla:openstack.sshPublicKey: a keypair named '${name}' already exists in this project with another key (fingerprint ${existing.fingerprint}); delete it (\`openstack keypair delete ${name}\`) or set that key`,
    );

  const { projectId } = await openstack.identity.getAuthScope({ name: "current" });
  const [compute, volumes, network] = await Promise.all([
    openstack.compute.getLimitsV2({ projectId }),
    openstack.blockstorage.getQuotasetV3({ projectId }),
    openstack.networking.getQuotaV2({ projectId }),
  ]);
  const limits: CloudLimits = { compute, volumes, network };
  const { bastion, manager, worker } = flavors;
  if (bastion && manager && worker && image) {
    const found = { bastion, manager, worker };
    problems.push(
      ...capacityProblems(
        config,
        found,
        { name: os.image, minDiskGb: image.minDiskGb, minRamMb: image.minRamMb },
        limits,
      ),
    );
    for (const note of headroomNotes(config, found, limits))
      await pulumi.log.info(`OpenStack quota: ${note}`);
  }
  if (problems.length > 0) throw new CloudCheckError(problems);
}
