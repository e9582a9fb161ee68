#!/usr/bin/env bash
# Helpers shared by the Swarm bootstrap scripts. The remote commands inline this file
# in place of the `. lib.sh` line (components/repo/runner.ts), so each remote command
# is one self-contained script; run locally, the scripts source it from here.

# Progress goes to stderr: stdout carries only a script's result (a node ID, tokens).
log() { printf '%s: %s\n' "${FLOTILLA_SCRIPT:-swarm}" "$*" >&2; }
fail() { log "error: $*"; exit 1; }

# A VM that has just booted may still be running cloud-init (which installs Docker and
# writes fstab): wait for it to finish (bounded: about 15 minutes), then, for the engine
# helpers, for the engine to answer.
wait_for_boot() {
  if command -v cloud-init >/dev/null 2>&1; then
    timeout 900 cloud-init status --wait >/dev/null 2>&1 || log "cloud-init reported a problem; going on"
  fi
}
wait_for_engine() {
  wait_for_boot
  local i
  for i in $(seq 1 90); do
    if docker info >/dev/null 2>&1; then return 0; fi
    [ "$i" -eq 1 ] && log "waiting for the Docker engine"
    sleep 2
  done
  fail "the Docker engine did not answer within 180 s"
}

swarm_state() { docker info --format '{{.Swarm.LocalNodeState}}'; }
node_id() { docker info --format '{{.Swarm.NodeID}}'; }
cluster_id() { docker info --format '{{.Swarm.Cluster.ID}}'; }
is_manager() { [ "$(docker info --format '{{.Swarm.ControlAvailable}}')" = "true" ]; }
