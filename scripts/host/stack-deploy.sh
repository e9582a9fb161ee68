#!/usr/bin/env bash
# Deploy one Flotilla stack on a Swarm manager (locally, or on a manager over SSH:
# the Pulumi components run this very script both ways). Convergent and re-runnable.
#
#   stack-deploy.sh --stack NAME [--network NAME]... [--ensure-dir PATH]...
#                   [--resolve-image always|changed|never] [--wait SECONDS]
#
# Standard input carries everything else, so no secret is ever in argv, env or a file:
#   NAME=BASE64      one line per Docker secret the stack uses (content-hashed NAME,
#                    base64 of the value); missing secrets are created from a pipe
#   %%compose        a line on its own, then the compose document (it holds no secret:
#                    its secrets are `external` and referenced by name)
#
# Steps: create the overlay networks the stack uses (attachable, shared by stacks),
# create missing secrets, `docker stack deploy --prune --with-registry-auth`, wait
# (bounded) until every service runs its desired healthy tasks and no update rolled
# back, then remove older versions of this stack's secrets that no service uses.
set -euo pipefail

usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
die() { echo "stack-deploy: $*" >&2; exit 1; }

stack=""
networks=()
dirs=()
resolve=always
wait_seconds=300
while [ $# -gt 0 ]; do
  case "$1" in
  --stack) stack=${2:?--stack needs a name}; shift 2 ;;
  --network) networks+=("${2:?--network needs a name}"); shift 2 ;;
  --ensure-dir) dirs+=("${2:?--ensure-dir needs a path}"); shift 2 ;;
  --resolve-image) resolve=${2:?--resolve-image needs a mode}; shift 2 ;;
  --wait) wait_seconds=${2:?--wait needs seconds}; shift 2 ;;
  -h | --help) usage ;;
  *) echo "stack-deploy: unknown argument '$1'" >&2; usage ;;
  esac
done
name_re='^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$'
[[ $stack =~ $name_re ]] || die "--stack must be a Docker name (letters, digits, '_', '.', '-'), got '$stack'"
for n in "${networks[@]}"; do [[ $n =~ $name_re ]] || die "--network '$n' is not a Docker name"; done
for d in "${dirs[@]}"; do [[ $d == /* ]] || die "--ensure-dir '$d' is not an absolute path"; done
case "$resolve" in always | changed | never) ;; *) die "--resolve-image must be always, changed or never" ;; esac
[[ $wait_seconds =~ ^[0-9]+$ ]] || die "--wait must be a whole number of seconds"

[ "$(docker info --format '{{.Swarm.ControlAvailable}}')" = true ] ||
  die "this engine is not a Swarm manager (scripts/host/local-swarm.sh makes the local one a Swarm)"

# --- standard input: secrets (kept in memory only), then the compose document ---
compose=$(mktemp /tmp/flotilla-stack.XXXXXX)
trap 'rm -f "$compose"' EXIT
declare -A secrets=()
seen_compose=false
while IFS= read -r line; do
  if [ "$line" = "%%compose" ]; then seen_compose=true; break; fi
  [ -z "$line" ] && continue
  secret_name=${line%%=*}
  [[ $secret_name =~ $name_re ]] || die "stdin: a secret line does not start with a Docker secret name (line not shown)"
  value=${line#*=}
  [[ $value =~ ^[A-Za-z0-9+/]+=*$ ]] || die "stdin: the value of secret $secret_name is not base64 (not shown)"
  secrets[$secret_name]=$value
done
$seen_compose || die "stdin: no '%%compose' line followed by the compose document"
cat >"$compose"
[ -s "$compose" ] || die "stdin: the compose document after '%%compose' is empty"

# --- networks: shared by several stacks, so created here and never by a stack ---
for n in "${networks[@]}"; do
  if ! docker network inspect "$n" >/dev/null 2>&1; then
    # Another deploy may create it at the same moment: recheck before failing.
    docker network create --driver overlay --attachable --label flotilla.network=true "$n" >/dev/null 2>&1 ||
      docker network inspect "$n" >/dev/null 2>&1 || die "could not create overlay network $n"
    echo "stack-deploy: created overlay network $n"
  fi
done

for d in "${dirs[@]}"; do mkdir -p "$d"; done

# --- secrets: immutable and content-hashed, so an existing name already holds the value ---
for secret_name in "${!secrets[@]}"; do
  if docker secret inspect "$secret_name" >/dev/null 2>&1; then continue; fi
  # printf is a shell builtin: the value reaches docker through a pipe, never argv.
  printf '%s' "${secrets[$secret_name]}" | base64 -d |
    docker secret create --label "flotilla.secret=${secret_name%-*}" "$secret_name" - >/dev/null ||
    docker secret inspect "$secret_name" >/dev/null 2>&1 || die "could not create secret $secret_name"
  echo "stack-deploy: created secret $secret_name"
done

# --- deploy ---
started=$(date +%s)
docker stack deploy --prune --with-registry-auth --resolve-image "$resolve" -c "$compose" "$stack" >&2

# --- wait for convergence: desired tasks running (healthy) and no rollback ---
converged() {
  local id replicas state since ok=0
  while read -r id; do
    [ -n "$id" ] || continue
    replicas=$(docker service ls --filter "id=$id" --format '{{.Replicas}}')
    state=$(docker service inspect --format '{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}' "$id")
    since=$(docker service inspect --format '{{if .UpdateStatus}}{{if .UpdateStatus.StartedAt}}{{.UpdateStatus.StartedAt.Unix}}{{end}}{{end}}' "$id")
    if [[ $state == rollback_* ]] && [ "${since:-0}" -ge "$started" ]; then
      echo "stack-deploy: service $(docker service inspect --format '{{.Spec.Name}}' "$id") was rolled back ($state)" >&2
      return 2
    fi
    # "2/2" (replicated) or "1/1" (global); "(max 1 per node)" may follow.
    read -r have want <<<"$(echo "$replicas" | sed -E 's#^([0-9]+)/([0-9]+).*#\1 \2#')"
    if [ "$have" != "$want" ] || [ "$want" = 0 ] || [ "$state" = updating ] || [ "$state" = rollback_started ]; then ok=1; fi
  done < <(docker service ls --filter "label=com.docker.stack.namespace=$stack" --format '{{.ID}}')
  return "$ok"
}
deadline=$((started + wait_seconds))
while :; do
  rc=0
  converged || rc=$?
  [ "$rc" -eq 0 ] && break
  [ "$rc" -eq 2 ] && die "deploy of $stack failed and was rolled back"
  if [ "$(date +%s)" -ge "$deadline" ]; then
    docker stack ps --no-trunc --format '{{.Name}} {{.CurrentState}} {{.Error}}' "$stack" | head -n 20 >&2
    die "$stack did not converge within $wait_seconds s"
  fi
  sleep 2
done
echo "stack-deploy: $stack converged in $(($(date +%s) - started)) s"

# --- prune this stack's older secret versions that nothing uses any more ---
for secret_name in "${!secrets[@]}"; do
  while read -r old; do
    if [ -z "$old" ] || [ "$old" = "$secret_name" ]; then continue; fi
    # Swarm refuses to remove a secret a service still uses (another stack, not yet redeployed).
    if docker secret rm "$old" >/dev/null 2>&1; then echo "stack-deploy: removed unused secret $old"; fi
  done < <(docker secret ls --filter "label=flotilla.secret=${secret_name%-*}" --format '{{.Name}}')
done
