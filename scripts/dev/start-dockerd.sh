#!/usr/bin/env bash
# Start a Docker engine in the background when none answers (CI machines and
# fresh developer machines have the docker.io package but no running daemon).
# Idempotent: does nothing when `docker info` already succeeds (an engine already running
# keeps its own log settings: docs/operations.md says what to put in daemon.json).
set -euo pipefail

if docker info >/dev/null 2>&1; then
  echo "dockerd: already running"
  exit 0
fi

log=${DOCKERD_LOG:-/var/log/flotilla-dockerd.log}
flags=(--storage-driver=overlay2)
# Container logs rotate as on every Flotilla node (config logging defaults: 10m x 3), unless
# /etc/docker/daemon.json already decides (dockerd refuses a setting given both ways).
if ! grep -qs '"log-' /etc/docker/daemon.json; then
  flags+=(--log-driver=json-file --log-opt max-size=10m --log-opt max-file=3)
fi
nohup dockerd "${flags[@]}" >"$log" 2>&1 &
echo "$!" >/run/flotilla-dockerd.pid

for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then
    echo "dockerd: started (pid $(cat /run/flotilla-dockerd.pid))"
    exit 0
  fi
  sleep 1
done
echo "dockerd: did not answer within 60 s; last log lines:" >&2
tail -n 30 "$log" >&2
exit 1
