#!/usr/bin/env bash
# Start the Docker engine when none answers (CI machines and fresh developer machines
# have the package but no running daemon): through systemd where it runs the machine
# and knows a docker.service (docker.io or docker-ce alike), otherwise `dockerd` in the
# background. Idempotent: does nothing when `docker info` already succeeds (an engine
# already running keeps its own log settings: docs/operations.md says what to put in
# daemon.json).
set -euo pipefail

if docker info >/dev/null 2>&1; then
  echo "dockerd: already running"
  exit 0
fi

wait_for_engine() {
  for _ in $(seq 1 60); do
    if docker info >/dev/null 2>&1; then return 0; fi
    sleep 1
  done
  return 1
}

if [ -d /run/systemd/system ] && systemctl cat docker.service >/dev/null 2>&1; then
  systemctl start docker.service
  if wait_for_engine; then
    echo "dockerd: started (systemctl start docker)"
    exit 0
  fi
  echo "dockerd: did not answer within 60 s of systemctl start docker; see journalctl -u docker" >&2
  exit 1
fi

log=${DOCKERD_LOG:-/var/log/flotilla-dockerd.log}
pidfile=${DOCKERD_PIDFILE:-/run/flotilla-dockerd.pid}
flags=(--storage-driver=overlay2)
# Container logs rotate as on every Flotilla node (config logging defaults: 10m x 3), unless
# /etc/docker/daemon.json already decides (dockerd refuses a setting given both ways).
if ! grep -qs '"log-' /etc/docker/daemon.json; then
  flags+=(--log-driver=json-file --log-opt max-size=10m --log-opt max-file=3)
fi
nohup dockerd "${flags[@]}" >"$log" 2>&1 &
echo "$!" >"$pidfile"

if wait_for_engine; then
  echo "dockerd: started (pid $(cat "$pidfile"))"
  exit 0
fi
echo "dockerd: did not answer within 60 s; last log lines:" >&2
tail -n 30 "$log" >&2
exit 1
