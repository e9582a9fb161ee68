#!/usr/bin/env bash
# Helpers shared by the Swarm bootstrap scripts. The remote commands inline this file
# in place of the `. lib.sh` line (components/repo/runner.ts), so each remote command
# is one self-contained script; run locally, the scripts source it from here.

# Progress goes to stderr: stdout carries only a script's result (a node ID, tokens).
log() { printf '%s: %s\n' "${FLOTILLA_SCRIPT:-swarm}" "$*" >&2; }
fail() { log "error: $*"; exit 1; }

# A VM that has just booted may still be running cloud-init (which installs Docker and
# writes fstab): wait for it to finish (bounded: about 15 minutes), then, for the engine
# helpers, for the engine to answer. Not with `cloud-init status --wait`: cloud-init 25
# (trixie) asks systemd six times every 0.25 s while it waits (cmd/status.py), and every
# bootstrap command of seven booting lab VMs waits at once (their share of the lab's load
# was not measured apart: the stack deploys after them are its peak). The result file
# cloud-init writes when its last stage
# ends on this boot (/run is a tmpfs) says the same. `cloud-init status` itself is asked
# every 30 s, and the wait goes on only while it says what `--wait` waits on (running, or
# not started yet); then once at the end, for errors.
wait_for_boot() {
  command -v cloud-init >/dev/null 2>&1 || return 0
  local i
  for i in $(seq 0 449); do
    [ -e /run/cloud-init/result.json ] && break
    if [ $((i % 15)) -eq 0 ]; then
      case "$(cloud-init status 2>/dev/null | sed -n 's/^status: //p')" in
      running | "not started" | "not run") ;;
      *) break ;;
      esac
    fi
    sleep 2
  done
  cloud-init status >/dev/null 2>&1 || log "cloud-init reported a problem (or is still running after 900 s); going on"
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

# A refusal by a busy or electing Swarm, worth trying again: a manager's Raft store timing
# out, no leader during an election, or the leader stepping down under the request ("node
# lost leader status", "raft proposal dropped": seen when a partitioned manager rejoins).
# scripts/host/stack-deploy.sh and the lab's chaos test retry the same list.
swarm_busy() {
  case "$1" in
  *"context deadline exceeded"* | *"code = Unavailable"* | *"code = DeadlineExceeded"* | *"does not have a leader"* | \
    *"lost leader status"* | *"raft: failed to process the request"* | *"raft proposal dropped"*) return 0 ;;
  esac
  return 1
}

# Swarm changes a node under optimistic locking: when the node changed between the CLI's
# read and its write (another drain or label at once, as a destroy runs every member's
# delete together, or the node's own status), the write fails with "update out of
# sequence". Reading again and retrying is the fix, as is waiting out a busy Swarm
# (swarm_busy, every SWARM_BUSY_RETRY_SECONDS, 5 by default); any other error fails at once.
swarm_node_change() {
  local out i
  for i in $(seq 1 10); do
    if out=$("$@" 2>&1); then return 0; fi
    case "$out" in
    *"update out of sequence"*)
      log "the node changed during '$*' (attempt $i): retrying"
      sleep 1
      ;;
    *)
      if ! swarm_busy "$out"; then
        printf '%s\n' "$out" >&2
        return 1
      fi
      log "the Swarm is busy or electing a leader during '$*' (attempt $i): retrying"
      sleep "${SWARM_BUSY_RETRY_SECONDS:-5}"
      ;;
    esac
  done
  printf '%s\n' "$out" >&2
  return 1
}
swarm_state() { docker info --format '{{.Swarm.LocalNodeState}}'; }
node_id() { docker info --format '{{.Swarm.NodeID}}'; }
cluster_id() { docker info --format '{{.Swarm.Cluster.ID}}'; }
is_manager() { [ "$(docker info --format '{{.Swarm.ControlAvailable}}')" = "true" ]; }
