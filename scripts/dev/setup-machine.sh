#!/usr/bin/env bash
# Prepare this machine for the test suites: the Debian packages the tests drive for
# real (listed in scripts/dev/apt-packages.txt), a running Docker engine and the base
# image. Idempotent and quick when everything is already there.
# With --engine (what `npm run up` needs): only the engine's packages, dockerd, base image.
set -euo pipefail
cd "$(dirname "$0")/../.."

# The Docker engine, its firewall tool, and what the offline base image is built with.
ENGINE_PACKAGES=(docker.io iptables debootstrap ca-certificates)
case "${1:-}" in
  --engine) mapfile -t wanted < <(printf '%s\n' "${ENGINE_PACKAGES[@]}") ;;
  "") mapfile -t wanted < <(grep -Ev '^\s*(#|$)' scripts/dev/apt-packages.txt | sort -u) ;;
  *)
    echo "setup: unknown argument '$1' (expected nothing, or --engine)" >&2
    exit 2
    ;;
esac
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
# Debian trixie splits the CLI out of docker.io (a Recommends, skipped above).
if ! command -v docker >/dev/null && [ "$(id -u)" -eq 0 ] && apt-cache show docker-cli >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-cli >/dev/null
fi

bash scripts/dev/start-dockerd.sh
bash images/base/bootstrap-debian.sh
