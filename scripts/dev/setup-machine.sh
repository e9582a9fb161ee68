#!/usr/bin/env bash
# Prepare this machine for the test suites: the Debian packages the tests drive for
# real (listed in scripts/dev/apt-packages.txt), a running Docker engine and the base
# image. Idempotent and quick when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/../.."

mapfile -t wanted < <(grep -Ev '^\s*(#|$)' scripts/dev/apt-packages.txt | sort -u)
missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing Debian packages: ${missing[*]} (run as root, or apt-get install them)" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

bash scripts/dev/start-dockerd.sh
bash images/base/bootstrap-debian.sh
