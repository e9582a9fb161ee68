#!/usr/bin/env bash
# Initialise the Swarm on the first manager. Idempotent: a node that already manages
# a Swarm is left as it is. Prints the node's Swarm ID on stdout.
# Usage: init.sh ADVERTISE_ADDR
set -euo pipefail
FLOTILLA_SCRIPT=swarm-init
# shellcheck source=scripts/host/swarm/lib.sh
. "$(dirname "$0")/lib.sh"

advertise=${1:?usage: init.sh ADVERTISE_ADDR}
wait_for_engine
case "$(swarm_state)" in
  active)
    is_manager || fail "this node is already a Swarm worker; it cannot initialise a Swarm"
    log "already a Swarm manager: nothing to do"
    ;;
  inactive)
    docker swarm init --advertise-addr "$advertise" >/dev/null
    log "Swarm initialised, advertising $advertise"
    ;;
  *) fail "unexpected Swarm state '$(swarm_state)'; fix the node by hand" ;;
esac
node_id
