// format-if-empty-and-mount.sh for real: a loop device (a real block device, like an
// attached Cinder volume) in a node container. Blank: formatted and mounted. With a
// file on it: never reformatted, the file is still there. Mounted: nothing to do.
// A device holding something else (a partition table) is refused, not formatted.
import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, expect, it } from "vitest";
import { DIND_FLAGS, describeWithDocker, docker } from "../support/docker";
import { buildNodeImage, NODE_IMAGE, run } from "./nodes";

const NODE = `flotilla-h3vol-${process.pid}`;
const MOUNT = "/srv/flotilla/mysql";

/** Attach a fresh 64 MiB image file to a free loop device inside the node; returns the device path. */
function loopDevice(file: string): string {
  const script = `set -eu
truncate -s 64M ${file}
dev=$(losetup -f); dev=\${dev%% *}
[ -e "$dev" ] || mknod "$dev" b 7 "\${dev#/dev/loop}"
losetup "$dev" ${file}
echo "$dev"`;
  return docker(["exec", NODE, "sh", "-c", script]);
}

const sh = (script: string) => docker(["exec", NODE, "sh", "-c", script]);

describeWithDocker("format-if-empty-and-mount.sh on a real block device", () => {
  const devices: string[] = [];

  beforeAll(() => {
    spawnSync("docker", ["rm", "-f", "-v", NODE], { stdio: "ignore" });
    buildNodeImage();
    docker([
      "run",
      "-d",
      "--name",
      NODE,
      "--label",
      "flotilla.test=1",
      ...DIND_FLAGS,
      // Loop devices only (block major 7): the stand-in for an attached volume.
      "--device",
      "/dev/loop-control",
      "--device-cgroup-rule",
      "b 7:* rmw",
      "--entrypoint",
      "sleep",
      NODE_IMAGE,
      "infinity",
    ]);
    devices.push(loopDevice("/var/tmp/volume.img"));
  });

  afterAll(() => {
    // Loop devices are the host's: always detach them.
    spawnSync("docker", ["exec", NODE, "sh", "-c", `umount ${MOUNT} 2>/dev/null; losetup -D`], {
      stdio: "ignore",
    });
    // Belt and braces from the host, for ours only (backed by this suite's image files).
    for (const dev of devices) {
      const backing = spawnSync("losetup", ["-n", "-O", "BACK-FILE", dev], { encoding: "utf8" }).stdout ?? "";
      if (/\/var\/tmp\/(volume|partitioned)\.img/.test(backing))
        spawnSync("losetup", ["-d", dev], { stdio: "ignore" });
    }
    spawnSync("docker", ["rm", "-f", "-v", NODE], { stdio: "ignore" });
  });

  it("formats a blank volume, mounts it at the path and records it in fstab", () => {
    const dev = devices[0];
    const r = run(NODE, "format-if-empty-and-mount", [MOUNT, "/dev/disk/by-id/virtio-not-here", dev]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain("is blank: creating an ext4 filesystem");
    expect(r.stdout).toBe(MOUNT);
    expect(sh(`findmnt -n -o SOURCE,FSTYPE ${MOUNT}`)).toBe(`${dev} ext4`);
    const uuid = sh(`blkid -o value -s UUID ${dev}`);
    expect(sh("cat /etc/fstab")).toContain(`UUID=${uuid} ${MOUNT} ext4 defaults,nofail 0 2`);
  });

  it("run again while mounted: nothing to do", () => {
    const r = run(NODE, "format-if-empty-and-mount", [MOUNT, devices[0]]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain("already mounted");
  });

  it("never reformats a volume with data: after unmount, the file is still there", () => {
    const uuid = sh(`blkid -o value -s UUID ${devices[0]}`);
    sh(`echo precious > ${MOUNT}/marker && umount ${MOUNT}`);
    const r = run(NODE, "format-if-empty-and-mount", [MOUNT, devices[0]]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain("has ext4: keeping it");
    expect(r.stderr).not.toContain("creating");
    expect(sh(`cat ${MOUNT}/marker`)).toBe("precious");
    expect(sh(`blkid -o value -s UUID ${devices[0]}`)).toBe(uuid);
    expect(sh(`grep -c ' ${MOUNT} ' /etc/fstab`)).toBe("1");
  });

  it("unmount.sh unmounts and drops the fstab entry; run again, nothing to do; remounting keeps the data", () => {
    const first = run(NODE, "unmount", [MOUNT]);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stderr).toContain("unmounted");
    expect(sh(`findmnt -n ${MOUNT} || echo none`)).toBe("none");
    expect(sh(`grep -c ' ${MOUNT} ' /etc/fstab || true`)).toBe("0");
    expect(run(NODE, "unmount", [MOUNT]).stderr).toContain("not mounted: nothing to do");
    const again = run(NODE, "format-if-empty-and-mount", [MOUNT, devices[0]]);
    expect(again.status, again.stderr).toBe(0);
    expect(sh(`cat ${MOUNT}/marker`)).toBe("precious");
  });

  it("refuses a device with a partition table instead of formatting it", () => {
    const dev = loopDevice("/var/tmp/partitioned.img");
    devices.push(dev);
    // An MBR by hand: one Linux partition (type 0x83) from sector 2048, and the 0x55AA signature.
    sh(
      `printf '\\000\\000\\000\\000\\203\\000\\000\\000\\000\\010\\000\\000\\000\\370\\001\\000' | dd of=${dev} bs=1 seek=446 conv=notrunc status=none && printf '\\125\\252' | dd of=${dev} bs=1 seek=510 conv=notrunc status=none`,
    );
    const pttype = sh(`blkid -p -o value -s PTTYPE ${dev} || true`);
    expect(pttype).toBe("dos");
    const r = run(NODE, "format-if-empty-and-mount", ["/srv/other", dev]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("refusing to touch it");
    expect(sh(`blkid -p -o value -s PTTYPE ${dev}`)).toBe("dos");
  });
});
