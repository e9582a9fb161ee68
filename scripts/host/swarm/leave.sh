#!/usr/bin/env bash
# Make this node leave the Swarm (after drain.sh on a manager). Idempotent: a node
# that is not in a Swarm is fine.
# Usage: leave.sh
set -euo pipefail
FLOTILLA_SCRIPT=swarm-leave
# shellcheck source=scripts/host/swarm/lib.sh
. "$(dirname "$0")/lib.sh"

wait_for_engine
if [ "$(swarm_state)" = "inactive" ]; then
  log "not in a Swarm: nothing to do"
  exit 0
fi
# --force: a removed node may still believe it manages; it leaves all the same.
docker swarm leave --force >/dev/null
log "left the Swarm"
