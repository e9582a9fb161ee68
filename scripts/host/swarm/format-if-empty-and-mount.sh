#!/usr/bin/env bash
# Mount the MySQL data volume. Formats it (ext4) ONLY when it carries no filesystem
# and no partition table at all: a volume with data is never reformatted. Adds an
# fstab entry (by UUID, nofail) so a reboot mounts it again. Idempotent.
# The device is the first candidate path that appears (a Cinder volume shows up as
# /dev/disk/by-id/virtio-<id prefix> on KVM; other hypervisors name it otherwise).
# Usage: format-if-empty-and-mount.sh MOUNT_PATH DEVICE [DEVICE...]
set -euo pipefail
FLOTILLA_SCRIPT=format-if-empty
# shellcheck source=scripts/host/swarm/lib.sh
. "$(dirname "$0")/lib.sh"

mount_path=${1:?usage: format-if-empty-and-mount.sh MOUNT_PATH DEVICE [DEVICE...]}
shift
[ "$#" -gt 0 ] || fail "usage: format-if-empty-and-mount.sh MOUNT_PATH DEVICE [DEVICE...]"
[[ "$mount_path" == /* ]] || fail "MOUNT_PATH must be absolute, got '$mount_path'"
# A VM just booted: cloud-init may still be writing fstab.
wait_for_boot

device=""
for i in $(seq 1 60); do
  for candidate in "$@"; do
    if [ -n "$candidate" ] && [ -b "$candidate" ]; then
      device=$(readlink -f "$candidate")
      break 2
    fi
  done
  [ "$i" -eq 1 ] && log "waiting for the volume to appear ($*)"
  sleep 2
done
[ -n "$device" ] || fail "none of the devices appeared within 120 s: $*"

if findmnt --noheadings --mountpoint "$mount_path" >/dev/null; then
  source=$(findmnt --noheadings --output SOURCE --mountpoint "$mount_path")
  [ "$(readlink -f "$source")" = "$device" ] || fail "$mount_path is already a mount of $source, not of $device"
  log "$device already mounted at $mount_path: nothing to do"
  exit 0
fi

# Low-level probe (-p): any filesystem, RAID member or partition table counts as data.
if blkid -p "$device" >/dev/null 2>&1; then
  log "$device has $(blkid -p -o value -s TYPE -s PTTYPE "$device" | head -n 1): keeping it"
else
  log "$device is blank: creating an ext4 filesystem"
  mkfs.ext4 -q -L flotilla-data "$device"
fi
type=$(blkid -p -o value -s TYPE "$device" || true)
[ "$type" = "ext4" ] || fail "$device holds '${type:-no filesystem}' (a partition table?), not ext4: refusing to touch it"
uuid=$(blkid -p -o value -s UUID "$device")

mkdir -p "$mount_path"
touch /etc/fstab
entry="UUID=$uuid $mount_path ext4 defaults,nofail 0 2"
if ! grep -qF "$entry" /etc/fstab; then
  # Drop a stale line for this mount path (an earlier volume), then add ours.
  tmp=$(mktemp)
  awk -v path="$mount_path" '$2 != path' /etc/fstab >"$tmp"
  printf '%s\n' "$entry" >>"$tmp"
  cat "$tmp" >/etc/fstab
  rm -f "$tmp"
fi
mount "$mount_path"
log "$device (UUID $uuid) mounted at $mount_path"
echo "$mount_path"
