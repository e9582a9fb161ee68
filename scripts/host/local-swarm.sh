#!/usr/bin/env bash
# Make the local Docker engine a one-node Swarm for the `dev` stack and give the
# node every placement label the stacks use (lb, db). Idempotent: an active Swarm is
# kept as it is and labels are only added. Never leaves the Swarm (the developer's
# engine may have had one before Flotilla).
set -euo pipefail

state=$(docker info --format '{{.Swarm.LocalNodeState}}')
if [ "$state" != "active" ]; then
  docker swarm init --advertise-addr "${SWARM_ADVERTISE_ADDR:-127.0.0.1}" >/dev/null
  echo "swarm: initialised"
else
  echo "swarm: already active"
fi

node=$(docker info --format '{{.Swarm.NodeID}}')
# Only when a label is missing: test lanes run this side by side, and two updates of one
# node at once can fail ("update out of sequence").
labels=$(docker node inspect --format '{{.Spec.Labels.lb}} {{.Spec.Labels.db}}' "$node")
if [ "$labels" != "true true" ]; then
  docker node update --label-add lb=true --label-add db=true "$node" >/dev/null
fi
echo "swarm: node $node labelled lb=true db=true"
# The cluster ID (the stacks' deploy commands carry it: a new Swarm redeploys them).
echo "swarm: cluster $(docker info --format '{{.Swarm.Cluster.ID}}')"
