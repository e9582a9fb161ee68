#!/usr/bin/env bash
# Make the base image `debian:trixie-slim` available to the local Docker engine.
# Pull it when a registry answers; otherwise (air-gapped machines, CI here) build
# an equivalent minimal root filesystem with debootstrap from the Debian mirror
# and `docker import` it under the same name. Idempotent: an existing image is kept.
set -euo pipefail

image=${BASE_IMAGE:-debian:trixie-slim}
suite=${DEBIAN_SUITE:-trixie}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

if docker image inspect "$image" >/dev/null 2>&1; then
  echo "base image: $image already present"
  exit 0
fi

if timeout 60 docker pull "$image" >/dev/null 2>&1; then
  echo "base image: pulled $image"
  exit 0
fi

echo "base image: no registry reachable; building $image with debootstrap ($suite from $mirror)"
command -v debootstrap >/dev/null || { echo "debootstrap is not installed (apt-get install debootstrap)" >&2; exit 1; }
rootfs=$(mktemp -d /tmp/flotilla-rootfs.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT
debootstrap --variant=minbase "$suite" "$rootfs" "$mirror" >/tmp/flotilla-debootstrap.log 2>&1 ||
  { tail -n 30 /tmp/flotilla-debootstrap.log >&2; exit 1; }
# Like the official slim image: no apt caches, no docs, no man pages.
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
  "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/var/cache/apt/*.bin
# Like the official image: apt keeps no package caches in later layers either.
cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'APT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT
tar -C "$rootfs" -c . | docker import \
  --change 'CMD ["bash"]' \
  --change 'ENV LANG=C.UTF-8' \
  - "$image" >/dev/null
echo "base image: built $image ($(docker image inspect -f '{{.Size}}' "$image") bytes)"
