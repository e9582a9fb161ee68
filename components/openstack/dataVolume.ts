// The MySQL data volume: a Cinder volume (protected: `pulumi destroy` refuses to
// delete it until the operator unprotects it), attached to the `db` node, formatted
// only if it has no filesystem, and mounted at `mysql.dataPath`.
import * as command from "@pulumi/command";
import * as openstack from "@pulumi/openstack";
import * as pulumi from "@pulumi/pulumi";
import { scriptCommand } from "../swarm";

export interface DataVolumeArgs {
  /** The `db` node's instance ID. */
  readonly instanceId: pulumi.Input<string>;
  /** SSH connection to the `db` node. */
  readonly connection: pulumi.Input<command.types.input.remote.ConnectionArgs>;
  /** Mount path on the node (the MySQL stack's data directory). */
  readonly mountPath: string;
  /** Size in GiB. */
  readonly sizeGb: pulumi.Input<number>;
  /** Cinder volume type (the cloud's default when unset). */
  readonly volumeType?: pulumi.Input<string>;
  /** Availability zone (the cloud's default when unset). */
  readonly availabilityZone?: pulumi.Input<string>;
}

/** Where a Cinder volume appears on the VM: by-id names (virtio, virtio-scsi), then the device Nova reports. */
export function deviceCandidates(volumeId: string, reportedDevice: string | undefined): string[] {
  const candidates = [
    `/dev/disk/by-id/virtio-${volumeId.slice(0, 20)}`,
    `/dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_${volumeId}`,
  ];
  if (reportedDevice) candidates.push(reportedDevice);
  return candidates;
}

/**
 * The MySQL data volume (`flotilla:openstack:DataVolume`): a protected Cinder volume, its
 * attachment to the `db` node, and a remote command that formats it only if blank and
 * mounts it (unmounts on delete). Outputs the mount path, once mounted, and the volume ID.
 */
export class DataVolume extends pulumi.ComponentResource {
  /** The mount path, once the volume is mounted there. */
  readonly path: pulumi.Output<string>;
  /** ID of the Cinder volume. */
  readonly volumeId: pulumi.Output<string>;

  constructor(name: string, args: DataVolumeArgs, opts?: pulumi.ComponentResourceOptions) {
    super("flotilla:openstack:DataVolume", name, {}, opts);
    const volume = new openstack.blockstorage.Volume(
      `${name}-volume`,
      {
        name: `${name}-volume`,
        description: "Flotilla MySQL data (protected)",
        size: args.sizeGb,
        volumeType: args.volumeType,
        availabilityZone: args.availabilityZone,
      },
      { parent: this, protect: true },
    );
    const attach = new openstack.compute.VolumeAttach(
      `${name}-attach`,
      { instanceId: args.instanceId, volumeId: volume.id },
      // A volume attaches to one VM at a time: detach from the old `db` node first.
      { parent: this, deleteBeforeReplace: true },
    );
    const mount = new command.remote.Command(
      `${name}-mount`,
      {
        connection: args.connection,
        addPreviousOutputInEnv: false,
        create: pulumi
          .all([volume.id, attach.device])
          .apply(([id, device]) =>
            scriptCommand("format-if-empty-and-mount", [args.mountPath, ...deviceCandidates(id, device)]),
          ),
        // Before the attachment goes: unmount (refused while MySQL still uses it; the node's
        // member, labelled only after this mount, drains MariaDB off the node first).
        delete: scriptCommand("unmount", [args.mountPath]),
        triggers: [attach.id],
      },
      { parent: this, dependsOn: [attach] },
    );
    this.volumeId = volume.id;
    this.path = mount.stdout.apply(() => args.mountPath);
    this.registerOutputs({ path: this.path, volumeId: this.volumeId });
  }
}
