#!/usr/bin/env bash
# Give a node exactly the Flotilla placement labels it should carry (`lb`, `db`,
# `db_member` for a Galera member's node):
# listed ones are added, unlisted Flotilla labels removed, other labels untouched.
# Run on a manager. Idempotent.
# Usage: label.sh NODE_ID [LABEL=VALUE...]
set -euo pipefail
FLOTILLA_SCRIPT=swarm-label
# shellcheck source=scripts/host/swarm/lib.sh
. "$(dirname "$0")/lib.sh"

node=${1:?usage: label.sh NODE_ID [LABEL=VALUE...]}
shift
managed=(lb db db_member)
wait_for_engine
for i in $(seq 1 60); do
  [ "$(docker node inspect --format '{{.Status.State}}' "$node" 2>/dev/null)" = "ready" ] && break
  [ "$i" -eq 60 ] && fail "node $node is not ready after 120 s"
  sleep 2
done
args=()
for label in "$@"; do
  [[ "$label" =~ ^[a-z][a-z0-9._-]*=[A-Za-z0-9._-]*$ ]] || fail "bad label '$label' (expected key=value)"
  args+=(--label-add "$label")
done
current=$(docker node inspect --format '{{range $k, $v := .Spec.Labels}}{{$k}} {{end}}' "$node")
for key in "${managed[@]}"; do
  wanted=no
  for label in "$@"; do [ "${label%%=*}" = "$key" ] && wanted=yes; done
  if [ "$wanted" = no ] && [[ " $current " == *" $key "* ]]; then args+=(--label-rm "$key"); fi
done
if [ "${#args[@]}" -gt 0 ]; then swarm_node_change docker node update "${args[@]}" "$node"; fi
docker node inspect --format '{{range $k, $v := .Spec.Labels}}{{$k}}={{$v}} {{end}}' "$node"
