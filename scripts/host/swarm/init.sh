#!/usr/bin/env bash
# Initialise the Swarm on the first manager. Idempotent: a node that already manages
# a Swarm is left as it is. Prints the node's Swarm ID, then the Swarm's cluster ID
# (a new Swarm has a new one: the stacks redeploy when it changes), one per line.
# A node that is in no Swarm while another manager of the cluster already runs one (its
# Swarm port answers) is a replaced first manager: a new Swarm here would split the
# cluster in two, so it refuses and names the procedure instead.
# Usage: init.sh ADVERTISE_ADDR [OTHER_MANAGER_ADDR...]
set -euo pipefail
FLOTILLA_SCRIPT=swarm-init
# shellcheck source=scripts/host/swarm/lib.sh
. "$(dirname "$0")/lib.sh"

advertise=${1:?usage: init.sh ADVERTISE_ADDR [OTHER_MANAGER_ADDR...]}
shift
wait_for_engine
case "$(swarm_state)" in
  active)
    is_manager || fail "this node is already a Swarm worker; it cannot initialise a Swarm"
    log "already a Swarm manager: nothing to do"
    ;;
  inactive)
    for peer in "$@"; do
      [[ $peer =~ ^[0-9A-Fa-f.:]+$ ]] || fail "OTHER_MANAGER_ADDR must be an IP address, got '$peer'"
      if timeout 3 bash -c "exec 3<>/dev/tcp/$peer/2377" 2>/dev/null; then
        fail "manager $peer already runs a Swarm: this first manager was replaced, and a new Swarm here would split the cluster. Follow 'Replacing the first manager' in docs/operations.md"
      fi
    done
    docker swarm init --advertise-addr "$advertise" >/dev/null
    log "Swarm initialised, advertising $advertise"
    ;;
  *) fail "unexpected Swarm state '$(swarm_state)'; fix the node by hand" ;;
esac
node_id
cluster_id
