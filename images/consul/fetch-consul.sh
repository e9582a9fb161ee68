#!/bin/sh
# Fetch the Consul binary into /out/consul (build stage of images/consul/Dockerfile).
#   CONSUL_SOURCE=debian-archive  Debian bullseye's `consul` package (1.8.7), from
#                                 CONSUL_DEBIAN_MIRROR, signature-checked by apt with
#                                 the Debian archive keyring. Works where only the
#                                 Debian mirror is reachable.
#   CONSUL_SOURCE=hashicorp       HashiCorp's release zip for CONSUL_VERSION, checked
#                                 against the release's SHA256SUMS and, when given, the
#                                 pinned CONSUL_SHA256. CONSUL_RELEASES_URL replaces
#                                 https://releases.hashicorp.com (an internal mirror).
set -eu

source=${CONSUL_SOURCE:?CONSUL_SOURCE must be hashicorp or debian-archive}
mkdir -p /out

case "$source" in
debian-archive)
  mirror=${CONSUL_DEBIAN_MIRROR:-http://deb.debian.org/debian}
  echo "deb $mirror bullseye main" >/etc/apt/sources.list.d/bullseye.list
  # Only bullseye's own package lists: the target is one package, downloaded, not installed.
  apt-get update -o Dir::Etc::sourcelist=/etc/apt/sources.list.d/bullseye.list \
    -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0 -o Acquire::Check-Valid-Until=false
  work=$(mktemp -d)
  cd "$work"
  apt-get download -o Dir::Etc::sourcelist=/etc/apt/sources.list.d/bullseye.list \
    -o Dir::Etc::sourceparts=- consul
  dpkg -x consul_*.deb root
  install -m 0755 root/usr/bin/consul /out/consul
  ;;
hashicorp)
  version=${CONSUL_VERSION:?CONSUL_VERSION is required for CONSUL_SOURCE=hashicorp}
  case "$(dpkg --print-architecture)" in
  amd64) arch=amd64 ;;
  arm64) arch=arm64 ;;
  *) echo "fetch-consul: no HashiCorp build for $(dpkg --print-architecture)" >&2; exit 1 ;;
  esac
  if ! command -v curl >/dev/null || ! command -v unzip >/dev/null; then
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends curl unzip ca-certificates
  fi
  base="${CONSUL_RELEASES_URL:-https://releases.hashicorp.com}/consul/$version"
  zip="consul_${version}_linux_${arch}.zip"
  work=$(mktemp -d)
  cd "$work"
  curl -fsSLo "$zip" "$base/$zip"
  curl -fsSLo SHA256SUMS "$base/consul_${version}_SHA256SUMS"
  grep " $zip\$" SHA256SUMS | sha256sum -c -
  if [ -n "${CONSUL_SHA256:-}" ]; then
    echo "$CONSUL_SHA256  $zip" | sha256sum -c -
  fi
  unzip -q "$zip" consul
  install -m 0755 consul /out/consul
  ;;
*)
  echo "fetch-consul: CONSUL_SOURCE must be hashicorp or debian-archive, not '$source'" >&2
  exit 1
  ;;
esac
/out/consul version
