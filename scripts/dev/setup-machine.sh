#!/usr/bin/env bash
# Prepare this machine: a Docker engine that answers, and the base image; with no
# argument (what `npm test` runs) also the Debian packages the test suites drive for
# real (scripts/dev/apt-packages.txt). Idempotent and quick when everything is there.
#
# Any Docker engine will do (Debian's docker.io, Docker's docker-ce, another distribution's):
# Debian's docker.io is installed only where no engine is installed at all, since the two
# conflict. Root installs what is missing (apt); a user in the docker group needs nothing
# installed for --engine, and is told in one line what to ask root for otherwise.
set -euo pipefail
cd "$(dirname "$0")/../.."

usage="usage: setup-machine.sh [--engine]

  (nothing)   everything \`npm test\` needs: the Debian packages of scripts/dev/apt-packages.txt,
              a running Docker engine, the base image
  --engine    only what a deployment needs (\`npm run up\`, \`npm run demo\`): a running Docker
              engine of any packaging, the base image, and where root can install them
              debootstrap (the offline base image) and openssh-client (the lab)
  -h, --help  this text"

# The engine's own Debian packages: only where no engine is installed.
ENGINE_PACKAGES=(docker.io iptables)
# What --engine also wants: the offline base image's tools, the lab's SSH client.
HELPER_PACKAGES=(debootstrap ca-certificates openssh-client)

mode=full
case "${1:-}" in
  "") ;;
  --engine) mode=engine ;;
  -h | --help)
    echo "$usage"
    exit 0
    ;;
  *)
    echo "setup: unknown argument '$1' (expected nothing, --engine or --help)" >&2
    exit 2
    ;;
esac

root=0
[ "$(id -u)" -eq 0 ] && root=1
apt=0
command -v apt-get >/dev/null && command -v dpkg-query >/dev/null && apt=1
user=$(id -un 2>/dev/null || echo "this user")

# The engine's state: answers | denied (not root, not in the docker group) | stopped | absent.
engine_state() {
  local out=""
  if command -v docker >/dev/null && out=$(timeout 20 docker info 2>&1 >/dev/null); then
    echo answers
  elif grep -qi "permission denied" <<<"$out"; then
    echo denied
  elif command -v dockerd >/dev/null; then
    echo stopped # installed, not running (or trixie's docker.io without its CLI: installed below)
  else
    echo absent # at most a docker CLI (a client alone is no engine)
  fi
}
engine=$(engine_state)

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

# What to have, by Debian package name. An engine of any packaging is there: never
# Debian's docker.io over it.
if [ "$mode" = full ]; then
  mapfile -t wanted < <(grep -Ev '^\s*(#|$)' scripts/dev/apt-packages.txt | sort -u)
  if [ "$engine" != absent ]; then
    mapfile -t wanted < <(printf '%s\n' "${wanted[@]}" | grep -vxF docker.io || true)
  fi
elif [ "$engine" = absent ]; then
  wanted=("${ENGINE_PACKAGES[@]}" "${HELPER_PACKAGES[@]}")
else
  wanted=("${HELPER_PACKAGES[@]}")
fi

if [ "$apt" = 0 ]; then
  case "$engine" in
    answers) ;;
    absent)
      echo "setup: no Docker engine here and this is not an apt (Debian) machine: install Docker Engine with your distribution's packages or https://docs.docker.com/engine/install/, start it, then run this again" >&2
      exit 1
      ;;
  esac
  if [ "$mode" = full ]; then
    echo "setup: not an apt (Debian) machine: install your distribution's packages for ${wanted[*]} (Debian's names), or run the suites on Debian as CI does" >&2
    exit 1
  fi
  wanted=()
fi

missing=()
for pkg in "${wanted[@]}"; do installed "$pkg" || missing+=("$pkg"); done

if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$root" = 1 ]; then
    echo "setup: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  elif [ "$mode" = full ] || [ "$engine" = absent ]; then
    echo "setup: missing Debian packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
    exit 1
  else
    # A deployment needs none of them while the engine answers and the base image can be pulled.
    echo "setup: not installed (needs root): ${missing[*]}; only needed to build the base image offline (debootstrap) or for the lab (openssh-client)"
  fi
fi
# Debian trixie splits the CLI out of docker.io (a Recommends, skipped above).
if ! command -v docker >/dev/null && [ "$root" = 1 ] && [ "$apt" = 1 ] &&
  apt-cache show docker-cli >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-cli >/dev/null
fi

if [ "$root" = 0 ]; then
  case "$(engine_state)" in
    answers) ;;
    denied)
      echo "setup: the Docker engine refuses $user: add it to the docker group (sudo usermod -aG docker $user, then log in again), or run as root" >&2
      exit 1
      ;;
    *)
      echo "setup: no Docker engine answers and only root can start one: sudo systemctl start docker (or run this as root)" >&2
      exit 1
      ;;
  esac
fi

bash scripts/dev/start-dockerd.sh
bash images/base/bootstrap-debian.sh
