#!/usr/bin/env bash
# Join this node to the Swarm. The join token comes on stdin (never on a command
# line: it goes to the engine's API in the request body). Idempotent: a node already
# in this Swarm is left as it is; a node in another Swarm is an error. Prints the
# node's Swarm ID on stdout.
# Usage: join.sh manager|worker MANAGER_ADDR ADVERTISE_ADDR   (token on stdin)
set -euo pipefail
FLOTILLA_SCRIPT=swarm-join
# shellcheck source=scripts/host/swarm/lib.sh
. "$(dirname "$0")/lib.sh"

role=${1:?usage: join.sh manager|worker MANAGER_ADDR ADVERTISE_ADDR}
manager=${2:?usage: join.sh manager|worker MANAGER_ADDR ADVERTISE_ADDR}
advertise=${3:?usage: join.sh manager|worker MANAGER_ADDR ADVERTISE_ADDR}
case "$role" in manager | worker) ;; *) fail "role must be 'manager' or 'worker', got '$role'" ;; esac
IFS= read -r token || true
# Tokens are SWMTKN-1-<digest>-<secret>; checking the shape also makes it safe in JSON.
[[ "$token" =~ ^SWMTKN-[0-9]+-[a-z0-9]+-[a-z0-9]+$ ]] || fail "expected a Swarm join token on stdin"

wait_for_engine
case "$(swarm_state)" in
  active)
    managers=$(docker info --format '{{range .Swarm.RemoteManagers}}{{.Addr}} {{end}}')
    case " $managers" in
      *" $manager:2377 "*) log "already in this Swarm: nothing to do" ;;
      *) fail "already in another Swarm (managers: $managers); make it leave first" ;;
    esac
    ;;
  inactive)
    body=$(printf '{"RemoteAddrs":["%s:2377"],"JoinToken":"%s","AdvertiseAddr":"%s","ListenAddr":"0.0.0.0:2377"}' \
      "$manager" "$token" "$advertise")
    for attempt in 1 2 3 4 5 6; do
      # The body (with the token) goes on curl's stdin, not in its arguments.
      if printf '%s' "$body" | curl --silent --show-error --fail-with-body --max-time 120 \
        --unix-socket /var/run/docker.sock -H 'Content-Type: application/json' \
        --data-binary @- http://localhost/swarm/join >/dev/null; then
        break
      fi
      [ "$attempt" -eq 6 ] && fail "could not join the Swarm at $manager:2377"
      log "join attempt $attempt failed; retrying in 5 s"
      sleep 5
    done
    log "joined the Swarm at $manager:2377 as a $role"
    ;;
  *) fail "unexpected Swarm state '$(swarm_state)'; fix the node by hand" ;;
esac
node_id
