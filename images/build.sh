#!/usr/bin/env bash
# Build every Flotilla image, in dependency order, with the local Docker engine:
#   images/build.sh [--version V] [--only NAME]... [--jobs N]
# Idempotent and quick when nothing changed (Docker's layer cache). Makes sure the
# Debian base image exists first (pulled, or built offline by images/base/bootstrap-debian.sh).
# The order is the one in components/images/catalog.ts (a unit test keeps them equal):
# s6-base first (every other image is FROM it), consul second (its binary is copied
# from it by webapp and haproxy). The others only need those two: with --jobs N (default
# 1) up to N of them build at once (apt downloads and npm ci wait on the network more
# than on the CPU).
#
# Environment (all optional): CONSUL_SOURCE (debian-archive | hashicorp), CONSUL_VERSION,
# CONSUL_SHA256, CONSUL_DEBIAN_MIRROR, CONSUL_RELEASES_URL: passed to the consul build;
# FLOTILLA_EXTRA_CA_FILE: CA certificates the webapp's npm ci must trust (see below).
set -euo pipefail
self="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
cd "$(dirname "$self")"

images=(s6-base consul webapp haproxy mysql keepalived prometheus)

version=0.1.0
only=()
jobs=1
while [ $# -gt 0 ]; do
  case "$1" in
  --version) version=${2:?--version needs a value}; shift 2 ;;
  --only) only+=("${2:?--only needs an image name}"); shift 2 ;;
  --jobs) jobs=${2:?--jobs needs a number}; shift 2 ;;
  -h | --help) sed -n '2,/^set -euo/p' "$self" | sed '$d'; exit 0 ;;
  *) echo "build.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[[ $jobs =~ ^[1-9][0-9]*$ ]] || { echo "build.sh: --jobs must be a whole number of at least 1, got '$jobs'" >&2; exit 2; }
for name in "${only[@]}"; do
  [[ " ${images[*]} " == *" $name "* ]] || { echo "build.sh: unknown image '$name' (one of: ${images[*]})" >&2; exit 2; }
done

bash base/bootstrap-debian.sh

args=(
  --build-arg "BASE_IMAGE=flotilla/s6-base:$version"
  --build-arg "CONSUL_IMAGE=flotilla/consul:$version"
  --build-arg "FLOTILLA_VERSION=$version"
)
for var in CONSUL_SOURCE CONSUL_VERSION CONSUL_SHA256 CONSUL_DEBIAN_MIRROR CONSUL_RELEASES_URL; do
  if [ -n "${!var:-}" ]; then args+=(--build-arg "$var=${!var}"); fi
done
# webapp: its build stage runs `npm ci`; behind a TLS-inspecting proxy npm must trust the
# CAs this host added (/usr/local/share/ca-certificates, or FLOTILLA_EXTRA_CA_FILE).
# Public certificates only, and only in the build stage (not in the webapp image).
extra_ca_pem=
if [ -n "${FLOTILLA_EXTRA_CA_FILE:-}" ]; then
  extra_ca_pem=$(cat "$FLOTILLA_EXTRA_CA_FILE")
elif compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  extra_ca_pem=$(cat /usr/local/share/ca-certificates/*.crt)
fi
[ -z "$extra_ca_pem" ] || args+=(--build-arg "EXTRA_CA_CERTS=$extra_ca_pem")

# One image: its log kept only when the build fails.
build_one() {
  local name=$1 start log
  start=$(date +%s)
  log=$(mktemp /tmp/flotilla-build-"$name".XXXXXX)
  if ! docker build --force-rm "${args[@]}" -t "flotilla/$name:$version" "$name" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "build.sh: building flotilla/$name:$version failed (full log: $log)" >&2
    return 1
  fi
  rm -f "$log"
  echo "build.sh: built flotilla/$name:$version in $(($(date +%s) - start)) s"
}

wanted=()
for name in "${images[@]}"; do
  if [ "${#only[@]}" -gt 0 ] && [[ " ${only[*]} " != *" $name "* ]]; then continue; fi
  if [ ! -f "$name/Dockerfile" ]; then
    echo "build.sh: images/$name/Dockerfile does not exist yet; skipping $name" >&2
    continue
  fi
  wanted+=("$name")
done

built=()
pending=()
failed=0
for name in "${wanted[@]}"; do
  case "$name" in
  # Every other image starts FROM s6-base, and webapp and haproxy copy consul's binary.
  s6-base | consul) build_one "$name" || exit 1 ;;
  *)
    build_one "$name" &
    pending+=($!)
    if [ "${#pending[@]}" -ge "$jobs" ]; then
      wait "${pending[0]}" || failed=1
      pending=("${pending[@]:1}")
    fi
    ;;
  esac
  built+=("flotilla/$name:$version")
done
for pid in "${pending[@]}"; do wait "$pid" || failed=1; done
[ "$failed" -eq 0 ] || exit 1

if [ "${#built[@]}" -gt 0 ]; then
  echo "build.sh: image sizes"
  for ref in "${built[@]}"; do
    printf '  %-32s %6d MB  %s\n' "$ref" "$(($(docker image inspect -f '{{.Size}}' "$ref") / 1000000))" \
      "$(docker image inspect -f '{{.Id}}' "$ref")"
  done
fi
