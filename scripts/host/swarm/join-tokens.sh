#!/usr/bin/env bash
# Print the Swarm's join tokens as JSON on stdout: {"manager": "...", "worker": "..."}.
# Run on a manager; the caller marks stdout secret and turns logging off.
set -euo pipefail
FLOTILLA_SCRIPT=swarm-join-tokens
# shellcheck source=scripts/host/swarm/lib.sh
. "$(dirname "$0")/lib.sh"

wait_for_engine
is_manager || fail "not a Swarm manager: cannot read join tokens"
manager=$(docker swarm join-token --quiet manager)
worker=$(docker swarm join-token --quiet worker)
printf '{"manager":"%s","worker":"%s"}\n' "$manager" "$worker"
