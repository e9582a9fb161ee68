#!/usr/bin/env bash
# Rough before/after figures of HAProxy's cost per request (docs/edge.md), with wrk on the
# host against the containers' bridge addresses (no docker-proxy in the path):
#   bash test/edge/wrk-edge.sh OLD_IMAGE NEW_IMAGE [SECONDS]
# Starts a private network, a Consul server, one backend (a few lines of Node answering
# JSON with keep-alive, registered in Consul as `webapp`), HAProxy from OLD_IMAGE (the
# plain-HTTP image before issue 13/14, port 80, root) and from NEW_IMAGE (port 8080/8443,
# uid 980, read-only, no capability), then runs wrk against each, one at a time, and
# prints requests/s, latency and HAProxy's CPU time per request. Everything it creates is
# named edge-wrk-* and labelled flotilla.test=1, and removed at the end.
set -euo pipefail
old=${1:?usage: wrk-edge.sh OLD_IMAGE NEW_IMAGE [SECONDS]}
new=${2:?usage: wrk-edge.sh OLD_IMAGE NEW_IMAGE [SECONDS]}
seconds=${3:-10}
net=edge-wrk-net
label=(--label flotilla.test=1 --label flotilla.suite=edge-wrk)
secrets=$(mktemp -d /dev/shm/flotilla-edge-wrk-XXXXXX)

cleanup() {
  docker rm -f edge-wrk-consul edge-wrk-backend edge-wrk-old edge-wrk-new >/dev/null 2>&1 || true
  docker network rm "$net" >/dev/null 2>&1 || true
  rm -rf "$secrets"
}
trap cleanup EXIT
cleanup
secrets=$(mktemp -d /dev/shm/flotilla-edge-wrk-XXXXXX)
chmod 0755 "$secrets"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
  -subj /CN=localhost -keyout "$secrets/key" -out "$secrets/cert" 2>/dev/null
cat "$secrets/cert" "$secrets/key" >"$secrets/haproxy_tls_pem"
rm "$secrets/key" "$secrets/cert"
head -c 18 /dev/urandom | base64 | tr -d '\n' >"$secrets/haproxy_stats_password"
head -c 18 /dev/urandom | base64 | tr -d '\n' >"$secrets/haproxy_metrics_password"
chown 980:980 "$secrets"/*
chmod 0444 "$secrets"/* # the old image runs as root, the new one as 980: both read them

docker network create "${label[@]}" "$net" >/dev/null
docker run -d --name edge-wrk-consul "${label[@]}" --network "$net" -e CONSUL_BOOTSTRAP_EXPECT=1 \
  flotilla/consul:0.1.0 >/dev/null
docker run -d --name edge-wrk-backend "${label[@]}" --network "$net" --entrypoint node flotilla/webapp:0.1.0 \
  -e 'require("http").createServer((q, s) => { s.setHeader("content-type", "application/json"); s.end(JSON.stringify({ host: require("os").hostname() })); }).listen(3000)' >/dev/null
ip_of() { docker inspect -f "{{(index .NetworkSettings.Networks \"$net\").IPAddress}}" "$1"; }
backend=$(ip_of edge-wrk-backend)
for _ in $(seq 60); do
  docker exec edge-wrk-consul consul services register -name webapp -address "$backend" -port 3000 >/dev/null 2>&1 && break
  sleep 1
done
docker run -d --name edge-wrk-old "${label[@]}" --network "$net" -e CONSUL_RETRY_JOIN=edge-wrk-consul \
  -v "$secrets:/run/secrets:ro" "$old" >/dev/null
docker run -d --name edge-wrk-new "${label[@]}" --network "$net" -e CONSUL_RETRY_JOIN=edge-wrk-consul \
  -e HAPROXY_REDIRECT_HTTP=false --user 980:980 --cap-drop ALL --read-only \
  -v "$secrets:/run/secrets:ro" "$new" >/dev/null
oldip=$(ip_of edge-wrk-old)
newip=$(ip_of edge-wrk-new)
for url in "http://$oldip:80/" "http://$newip:8080/"; do
  for _ in $(seq 90); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$url")" = 200 ] && break
    sleep 1
  done
done

# CPU seconds (user+system) of the container's processes, from its cgroup (v1 or v2).
cpu() {
  local id f
  id=$(docker inspect -f '{{.Id}}' "$1")
  for f in "/sys/fs/cgroup/cpuacct/docker/$id/cpuacct.usage" "/sys/fs/cgroup/cpu,cpuacct/docker/$id/cpuacct.usage"; do
    if [ -r "$f" ]; then awk '{ printf "%.3f", $1 / 1e9 }' "$f"; return; fi
  done
  for f in "/sys/fs/cgroup/system.slice/docker-$id.scope/cpu.stat" "/sys/fs/cgroup/docker/$id/cpu.stat"; do
    if [ -r "$f" ]; then awk '/^usage_usec/ { printf "%.3f", $2 / 1e6 }' "$f"; return; fi
  done
  echo 0
}

run() { # NAME CONTAINER URL CONNECTIONS [wrk flags...]
  local name=$1 container=$2 url=$3 conns=$4
  shift 4
  local before after out rps
  before=$(cpu "$container")
  out=$(wrk -t "$((conns < 2 ? 1 : 2))" -c "$conns" -d "${seconds}s" --latency "$@" "$url")
  after=$(cpu "$container")
  rps=$(awk '/^Requests\/sec/ { print $2 }' <<<"$out")
  printf '%-44s %10s req/s  p50 %8s  p99 %8s  proxy CPU %6.1f us/req\n' "$name" "$rps" \
    "$(awk '$1 == "50%" { print $2 }' <<<"$out")" "$(awk '$1 == "99%" { print $2 }' <<<"$out")" \
    "$(awk -v a="$after" -v b="$before" -v r="$rps" -v s="$seconds" 'BEGIN { print (a - b) * 1e6 / (r * s) }')"
}

echo "wrk -t 2 (1 with 1 connection), ${seconds} s per row; CPU is the target container's (the backend's on the first row); $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
run "direct to the backend (32 conns)" edge-wrk-backend "http://$backend:3000/" 32
run "before: old image, HTTP (32 conns)" edge-wrk-old "http://$oldip:80/" 32
run "after: new image, HTTP (32 conns)" edge-wrk-new "http://$newip:8080/" 32
run "after: new image, HTTPS keep-alive (32 conns)" edge-wrk-new "https://$newip:8443/" 32
run "after: new image, HTTPS new conn per request" edge-wrk-new "https://$newip:8443/" 8 -H "Connection: close"
run "before: old image, HTTP (1 conn)" edge-wrk-old "http://$oldip:80/" 1
run "after: new image, HTTP (1 conn)" edge-wrk-new "http://$newip:8080/" 1
