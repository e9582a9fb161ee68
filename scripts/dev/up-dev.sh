#!/usr/bin/env bash
# `npm run up` and `npm run preview`: `pulumi up` / `pulumi preview` of one stack
# (default dev; `npm run up -- --stack helion`), always with the Flotilla policy pack
# (--policy-pack policy), after preparing this machine as `npm test` does (Docker engine,
# base image).
#
# The Pulumi CLI comes from the `pulumi` npm launcher (a pinned devDependency): on first
# use it downloads the matching CLI from get.pulumi.com into $PULUMI_HOME/versions/<v>/bin
# (default ~/.pulumi). A CLI already there, or a `pulumi` on PATH installed another way,
# is used without downloading. When none can be had, this stops with one line saying so.
#
# Stacks whose target is local or lab keep their state in .pulumi-state/ (git-ignored)
# unless PULUMI_BACKEND_URL is set, their secrets encrypted with a random passphrase
# generated on first run into .pulumi-state/passphrase (mode 600) unless
# PULUMI_CONFIG_PASSPHRASE(_FILE) is set. OpenStack stacks use the backend you are logged
# in to and your team's passphrase (docs/ci-and-policies.md).
#
# Usage: up-dev.sh up|preview [--stack NAME] [pulumi flags...] (--help: the usage)
# Environment: FLOTILLA_SKIP_SETUP=1 skips the machine setup (already done).
set -euo pipefail
cd "$(dirname "$0")/../.."

# sysexits' EX_UNAVAILABLE: no Pulumi CLI could be found or fetched.
readonly EXIT_NO_CLI=69

usage() {
  cat <<EOF
usage: npm run $1 -- [--stack NAME] [pulumi $1 flags...]

pulumi $1 of one stack (default dev) with the Flotilla policy pack, after preparing this
machine (a running Docker engine and the base image: scripts/dev/setup-machine.sh --engine).
The Pulumi CLI comes from the pinned npm launcher (downloaded once into \$PULUMI_HOME), or
from a pulumi on PATH.

  --stack NAME, -s NAME   the stack (Pulumi.NAME.yaml): dev, lab, helion, ...
  -h, --help              this text
  other flags             passed on to pulumi $1 (--diff, --target URN, --refresh, ...)

dev and lab keep their state in .pulumi-state/ (a local backend, a generated passphrase);
OpenStack stacks use your backend (pulumi login) and your team's PULUMI_CONFIG_PASSPHRASE.
Without a Pulumi CLI: npm run demo -- --stack dev (the same deployment, rehearsed).
Environment: FLOTILLA_SKIP_SETUP=1 skips the machine setup.
EOF
}

command=${1:-}
case "$command" in
  up | preview) shift ;;
  -h | --help)
    usage "up|preview"
    exit 0
    ;;
  *)
    echo "up-dev: expected the command 'up' or 'preview' as first argument, got '${command}'" >&2
    exit 2
    ;;
esac
for arg in "$@"; do
  case "$arg" in
    --) break ;;
    -h | --help)
      usage "$command"
      exit 0
      ;;
  esac
done

stack=dev
passthrough=()
while [ "$#" -gt 0 ]; do
  case "$1" in
    --stack | -s)
      [ "$#" -ge 2 ] || {
        echo "$command: --stack needs a stack name (dev, helion, lab, ...)" >&2
        exit 2
      }
      stack=$2
      shift 2
      ;;
    --stack=*)
      stack=${1#--stack=}
      shift
      ;;
    --policy-pack | --policy-pack=*)
      echo "$command: the policy pack is always 'policy' (passed for you); drop $1" >&2
      exit 2
      ;;
    *)
      passthrough+=("$1")
      shift
      ;;
  esac
done

stack_file="Pulumi.$stack.yaml"
if [ ! -f "$stack_file" ]; then
  known=$(find . -maxdepth 1 -name 'Pulumi.*.yaml' | sed -E 's#^\./Pulumi\.(.+)\.yaml$#\1#' | sort | paste -sd, -)
  echo "$command: --stack $stack: no $stack_file in the repository (expected one of: $known)" >&2
  exit 2
fi
target=$(sed -nE 's/^[[:space:]]*flotilla:target:[[:space:]]*([a-z]+)[[:space:]]*$/\1/p' "$stack_file" | head -n1)
target=${target:-local}

# 1. The machine: what `npm test` prepares too (Debian packages of the engine, dockerd, base image).
if [ "${FLOTILLA_SKIP_SETUP:-0}" != 1 ]; then
  bash scripts/dev/setup-machine.sh --engine
fi

# 2. The Pulumi CLI.
launcher=node_modules/.bin/pulumi
if [ ! -x "$launcher" ]; then
  echo "$command: node_modules/.bin/pulumi is missing: run 'npm ci' first" >&2
  exit "$EXIT_NO_CLI"
fi
version=$(node -p 'require("pulumi/package.json").version')
pulumi_home=${PULUMI_HOME:-$HOME/.pulumi}
cached="$pulumi_home/versions/$version/bin/pulumi"

# A `pulumi` on PATH that is not the launcher (npm puts node_modules/.bin first).
system_pulumi() {
  local dir
  local IFS=:
  for dir in $PATH; do
    case "$dir" in */node_modules/.bin | node_modules/.bin) continue ;; esac
    if [ -x "$dir/pulumi" ] && [ ! -d "$dir/pulumi" ]; then
      echo "$dir/pulumi"
      return 0
    fi
  done
  return 1
}

if [ -x "$cached" ] && [ -s "$cached" ]; then
  pulumi=$cached
elif pulumi=$(system_pulumi); then
  echo "$command: using the Pulumi CLI at $pulumi (the pinned launcher would fetch v$version)"
else
  echo "$command: fetching the Pulumi CLI v$version into $pulumi_home/versions/$version (once)"
  if ! out=$("$launcher" version 2>&1) || [ ! -x "$cached" ]; then
    reason=$(printf '%s\n' "$out" | grep -v '^Downloading pulumi' | tail -n1 | sed -E 's/^pulumi: //')
    echo "$command: could not fetch the Pulumi CLI v$version from get.pulumi.com (${reason:-no reason given}); install it with the official installer (curl -fsSL https://get.pulumi.com | sh -s -- --version $version) or from a package mirror and put it on PATH or in $pulumi_home/versions/$version/bin, or run 'npm run demo -- --stack $stack' (the same deployment rehearsed without a CLI)" >&2
    exit "$EXIT_NO_CLI"
  fi
  pulumi=$cached
fi
# The language host and plugins installed next to the CLI.
PATH="$(dirname "$pulumi"):$PATH"
export PATH

# 3. Backend and secrets.
if [ "$target" != openstack ]; then
  state="$PWD/.pulumi-state"
  mkdir -p "$state"
  chmod 700 "$state"
  export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$state}"
  if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
    if [ ! -s "$state/passphrase" ]; then
      (umask 077 && head -c 32 /dev/urandom | base64 >"$state/passphrase")
    fi
    export PULUMI_CONFIG_PASSPHRASE_FILE="$state/passphrase"
  fi
fi

# 4. The stack: created on first use. With the passphrase secrets provider, creating a
# stack adds an `encryptionsalt:` line to Pulumi.<stack>.yaml (a cloud KMS provider adds
# `secretsprovider:` and `encryptedkey:`). Say so when a committed file changes.
was_clean=0
if git diff --quiet -- "$stack_file" 2>/dev/null; then was_clean=1; fi
"$pulumi" stack select --create --secrets-provider passphrase "$stack"
if [ "$was_clean" = 1 ] && ! git diff --quiet -- "$stack_file" 2>/dev/null; then
  if [ "$target" = openstack ]; then
    echo "$command: creating stack $stack added its secrets settings to $stack_file: commit them (not secret; everyone using the stack's passphrase needs the same salt)"
  else
    echo "$command: creating stack $stack added its secrets settings to $stack_file: they belong to your own .pulumi-state passphrase, keep them out of commits"
  fi
fi

# 5. The command, always with the policy pack.
args=("$command" --stack "$stack" --policy-pack policy)
if [ "$command" = up ] && [ "$target" != openstack ]; then args+=(--yes); fi
echo "$command: pulumi ${args[*]} ${passthrough[*]}"
exec "$pulumi" "${args[@]}" "${passthrough[@]}"
