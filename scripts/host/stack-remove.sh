#!/usr/bin/env bash
# Remove one Flotilla stack (the delete of its removal resource), then the overlay
# networks and secrets it used that no other stack still uses. Idempotent: removing a
# stack that is not there succeeds. Secrets are named one by one (--secret) or by family
# (--secret-family: every version of a secret target, whatever its content hash, found by
# the flotilla.secret label the deploy gives them).
#
#   stack-remove.sh --stack NAME [--network NAME]... [--secret NAME]...
#                   [--secret-family FAMILY]... [--wait SECONDS]
set -euo pipefail

die() { echo "stack-remove: $*" >&2; exit 1; }

stack=""
networks=()
secrets=()
families=()
wait_seconds=120
while [ $# -gt 0 ]; do
  case "$1" in
  --stack) stack=${2:?--stack needs a name}; shift 2 ;;
  --network) networks+=("${2:?--network needs a name}"); shift 2 ;;
  --secret) secrets+=("${2:?--secret needs a name}"); shift 2 ;;
  --secret-family) families+=("${2:?--secret-family needs a name}"); shift 2 ;;
  --wait) wait_seconds=${2:?--wait needs seconds}; shift 2 ;;
  *) die "unknown argument '$1' (see the header of $0)" ;;
  esac
done
name_re='^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$'
[[ $stack =~ $name_re ]] || die "--stack must be a Docker name, got '$stack'"
[[ $wait_seconds =~ ^[0-9]+$ ]] || die "--wait must be a whole number of seconds"

if [ -n "$(docker service ls -q --filter "label=com.docker.stack.namespace=$stack")" ]; then
  docker stack rm "$stack" >&2
fi

# `docker stack rm` returns at once; containers stop within their grace periods.
deadline=$(($(date +%s) + wait_seconds))
while [ -n "$(docker ps -aq --filter "label=com.docker.stack.namespace=$stack")" ]; do
  [ "$(date +%s)" -lt "$deadline" ] || die "containers of $stack still present after $wait_seconds s"
  sleep 1
done

# Shared objects: Swarm refuses to remove what another stack still uses, which is what we want.
for n in "${networks[@]}"; do
  [[ $n =~ $name_re ]] || die "--network '$n' is not a Docker name"
  docker network inspect "$n" >/dev/null 2>&1 || continue
  for _ in 1 2 3 4 5; do
    if docker network rm "$n" >/dev/null 2>&1; then echo "stack-remove: removed network $n"; break; fi
    # Still in use by another stack (kept), or its last endpoint is still going away.
    [ -n "$(docker network inspect --format '{{range .Containers}}x{{end}}' "$n" 2>/dev/null)" ] && break
    sleep 1
  done
done
for f in "${families[@]}"; do
  [[ $f =~ $name_re ]] || die "--secret-family '$f' is not a Docker name"
  while read -r s; do [ -n "$s" ] && secrets+=("$s"); done < <(docker secret ls --filter "label=flotilla.secret=$f" --format '{{.Name}}')
done
for s in "${secrets[@]}"; do
  [[ $s =~ $name_re ]] || die "--secret '$s' is not a Docker name"
  if docker secret rm "$s" >/dev/null 2>&1; then echo "stack-remove: removed secret $s"; fi
done
echo "stack-remove: $stack removed"
# The deploy's record of what ran (stack-deploy.sh --check-drift compares with it).
while read -r c; do
  if [ -n "$c" ] && docker config rm "$c" >/dev/null 2>&1; then echo "stack-remove: removed record $c"; fi
done < <(docker config ls --filter "label=flotilla.deployed=$stack" --format '{{.Name}}')
