#!/usr/bin/env bash
# The run command (`npm run up`): `pulumi up` of the `dev` stack against the local
# Docker engine, with a local state backend so no Pulumi account is needed.
# State lives in .pulumi-state/ (git-ignored); its secrets are encrypted with a random
# passphrase generated on first run into .pulumi-state/passphrase (mode 600).
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v pulumi >/dev/null; then
  echo "up: the Pulumi CLI is not installed (https://www.pulumi.com/docs/iac/download-install/)." >&2
  echo "    Without it, 'npm test' still deploys the same rendered stacks on a local Swarm." >&2
  exit 1
fi

bash scripts/dev/start-dockerd.sh
bash images/base/bootstrap-debian.sh

state="$PWD/.pulumi-state"
mkdir -p "$state"
chmod 700 "$state"
if [ ! -s "$state/passphrase" ]; then
  (umask 077 && head -c 32 /dev/urandom | base64 >"$state/passphrase")
fi
export PULUMI_BACKEND_URL="file://$state"
export PULUMI_CONFIG_PASSPHRASE_FILE="$state/passphrase"

pulumi stack select --create --secrets-provider passphrase dev
pulumi up --stack dev --yes "$@"
