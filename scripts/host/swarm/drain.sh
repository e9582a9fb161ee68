#!/usr/bin/env bash
# Take a node out of the Swarm before its VM goes: drain it (its tasks move to other
# nodes), wait until nothing runs there, demote it if it is a manager, and remove
# it from the node list. Run on a manager; the node itself then leaves (leave.sh).
# Idempotent: a node that is already gone is fine. The manager running this never
# removes itself (it is the last to go when the whole cluster is destroyed).
# Usage: drain.sh NODE_ID
set -euo pipefail
FLOTILLA_SCRIPT=swarm-drain
# shellcheck source=scripts/host/swarm/lib.sh
. "$(dirname "$0")/lib.sh"

node=${1:?usage: drain.sh NODE_ID}
wait_for_engine
if ! docker node inspect "$node" >/dev/null 2>&1; then
  log "node $node is not in the Swarm: nothing to do"
  exit 0
fi
swarm_node_change docker node update --availability drain "$node"
running=unknown
for i in $(seq 1 90); do
  # A busy or electing Swarm may refuse the read: ask again on the next round.
  if tasks=$(docker node ps --filter desired-state=running --quiet "$node" 2>/dev/null); then
    running=$(printf '%s' "$tasks" | grep -c . || true)
    [ "$running" -eq 0 ] && break
  fi
  [ "$i" -eq 90 ] && log "still $running tasks on $node after 180 s; going on"
  sleep 2
done
log "node $node drained"
if [ "$node" = "$(node_id)" ]; then
  log "node $node is this manager: drained but kept"
  exit 0
fi
if [ "$(docker node inspect --format '{{.Spec.Role}}' "$node")" = "manager" ]; then
  swarm_node_change docker node demote "$node"
  for i in $(seq 1 30); do
    [ "$(docker node inspect --format '{{.ManagerStatus}}' "$node")" = "<nil>" ] && break
    [ "$i" -eq 30 ] && fail "node $node is still a manager 60 s after its demotion"
    sleep 2
  done
  log "node $node demoted"
fi
swarm_node_change docker node rm --force "$node"
log "node $node removed from the Swarm"
