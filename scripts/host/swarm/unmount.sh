#!/usr/bin/env bash
# Unmount the MySQL data volume before it is detached (the `db` node changes, or the
# attachment is replaced) and drop its fstab entry. Refuses while something still
# uses it (stop the MySQL service first) rather than detaching a busy filesystem.
# Idempotent: a path that is not mounted is fine.
# Usage: unmount.sh MOUNT_PATH
set -euo pipefail
FLOTILLA_SCRIPT=unmount
# shellcheck source=scripts/host/swarm/lib.sh
. "$(dirname "$0")/lib.sh"

mount_path=${1:?usage: unmount.sh MOUNT_PATH}
if findmnt --noheadings --mountpoint "$mount_path" >/dev/null; then
  sync
  umount "$mount_path" || fail "$mount_path is busy: stop the MySQL service before moving its volume"
  log "$mount_path unmounted"
else
  log "$mount_path is not mounted: nothing to do"
fi
if [ -f /etc/fstab ]; then
  tmp=$(mktemp)
  awk -v path="$mount_path" '$2 != path' /etc/fstab >"$tmp"
  cat "$tmp" >/etc/fstab
  rm -f "$tmp"
fi
