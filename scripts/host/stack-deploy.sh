#!/usr/bin/env bash
# Deploy one Flotilla stack on a Swarm manager (locally, or on a manager over SSH:
# the Pulumi components run this very script both ways). Convergent and re-runnable.
#
#   stack-deploy.sh --stack NAME [--network NAME]... [--ensure-dir PATH]...
#                   [--resolve-image always|changed|never] [--wait SECONDS]
#                   [--document-sha256 HEX] [--swarm-id ID]
#   stack-deploy.sh --stack NAME --check-drift [--swarm-id ID]
#   stack-deploy.sh --all --check-drift [--swarm-id ID]
#
# Standard input carries everything else, so no secret is ever in argv, env or a file:
#   NAME=BASE64      one line per Docker secret the stack uses (content-hashed NAME,
#                    base64 of the value); missing secrets are created from a pipe
#   %%phase SERVICE  optional, one per rolling phase: a line, then a document holding the
#                    services to roll up to that one (see "Rolling phases" below)
#   %%compose        a line on its own, then the compose document (it holds no secret:
#                    its secrets are `external` and referenced by name)
#
# Steps: create the overlay networks the stack uses (attachable, shared by stacks),
# create missing secrets, deploy each rolling phase's document (a running stack only)
# and wait for it, `docker stack deploy --prune --with-registry-auth`, wait
# (bounded) until every service runs its desired healthy tasks and no update rolled
# back, then remove older versions of this stack's secrets that no service uses, and
# record what runs (one line per service: image, replicas, ports, constraints, secrets) in
# a Swarm config labelled flotilla.deployed=NAME. --check-drift reads no input and deploys
# nothing: it compares what runs now with that record and prints a unified diff (exit 3 on
# drift: a hand-run `docker service scale` or `service update --image`; 0 when none);
# with --all, of every stack this Swarm holds a record of (exit 3 if any drifted).
# --document-sha256 refuses any document but the one the program rendered; --swarm-id
# refuses a manager of any Swarm but the one the program made.
set -euo pipefail

usage() { sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
die() { echo "stack-deploy: $*" >&2; exit 1; }
# A refusal by a busy or electing Swarm, worth trying again: a manager's Raft store timing
# out ("context deadline exceeded", code = Unavailable or DeadlineExceeded), no leader
# during an election, or the leader stepping down under the request ("raft: failed to
# process the request: node lost leader status", "raft proposal dropped", seen when a
# partitioned manager rejoins). scripts/host/swarm/lib.sh keeps the same list.
swarm_busy() {
  case "$1" in
  *"context deadline exceeded"* | *"code = Unavailable"* | *"code = DeadlineExceeded"* | *"does not have a leader"* | \
    *"lost leader status"* | *"raft: failed to process the request"* | *"raft proposal dropped"*) return 0 ;;
  esac
  return 1
}

stack=""
networks=()
dirs=()
resolve=always
wait_seconds=300
document_sha256=""
swarm_id=""
check_drift=false
all=false
while [ $# -gt 0 ]; do
  case "$1" in
  --stack) stack=${2:?--stack needs a name}; shift 2 ;;
  --network) networks+=("${2:?--network needs a name}"); shift 2 ;;
  --ensure-dir) dirs+=("${2:?--ensure-dir needs a path}"); shift 2 ;;
  --resolve-image) resolve=${2:?--resolve-image needs a mode}; shift 2 ;;
  --wait) wait_seconds=${2:?--wait needs seconds}; shift 2 ;;
  --document-sha256) document_sha256=${2:?--document-sha256 needs a hash}; shift 2 ;;
  --swarm-id) swarm_id=${2:?--swarm-id needs an ID}; shift 2 ;;
  --check-drift) check_drift=true; shift ;;
  --all) all=true; shift ;;
  -h | --help) usage ;;
  *) echo "stack-deploy: unknown argument '$1'" >&2; usage ;;
  esac
done
name_re='^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$'
if $all; then
  $check_drift || die "--all goes with --check-drift only (a deploy is of one stack)"
  [ -z "$stack" ] || die "--all checks every recorded stack: leave out --stack"
else
  [[ $stack =~ $name_re ]] || die "--stack must be a Docker name (letters, digits, '_', '.', '-'), got '$stack'"
fi
for n in "${networks[@]}"; do [[ $n =~ $name_re ]] || die "--network '$n' is not a Docker name"; done
for d in "${dirs[@]}"; do [[ $d == /* ]] || die "--ensure-dir '$d' is not an absolute path"; done
case "$resolve" in always | changed | never) ;; *) die "--resolve-image must be always, changed or never" ;; esac
[[ $wait_seconds =~ ^[0-9]+$ ]] || die "--wait must be a whole number of seconds"
[ -z "$document_sha256" ] || [[ $document_sha256 =~ ^[0-9a-f]{64}$ ]] || die "--document-sha256 must be 64 hex digits"
[ -z "$swarm_id" ] || [[ $swarm_id =~ ^[a-z0-9]{25}$ ]] || die "--swarm-id must be a Swarm cluster ID (25 characters)"

[ "$(docker info --format '{{.Swarm.ControlAvailable}}')" = true ] ||
  die "this engine is not a Swarm manager (scripts/host/local-swarm.sh makes the local one a Swarm)"
if [ -n "$swarm_id" ]; then
  actual=$(docker info --format '{{.Swarm.Cluster.ID}}')
  [ "$actual" = "$swarm_id" ] ||
    die "this manager belongs to Swarm $actual, not to $swarm_id, the one the program made; refusing to deploy $stack into another Swarm"
fi

# --- what runs: one sorted line per service of the stack, the fields a hand-run change alters ---
SPEC_FORMAT='{{.Spec.Name}} image={{.Spec.TaskTemplate.ContainerSpec.Image}}'\
' replicas={{if .Spec.Mode.Replicated}}{{.Spec.Mode.Replicated.Replicas}}{{else}}global{{end}}'\
' ports=[{{if .Spec.EndpointSpec}}{{range .Spec.EndpointSpec.Ports}}{{.PublishedPort}}:{{.TargetPort}}/{{.Protocol}}/{{.PublishMode}} {{end}}{{end}}]'\
' constraints=[{{if .Spec.TaskTemplate.Placement}}{{range .Spec.TaskTemplate.Placement.Constraints}}{{.}},{{end}}{{end}}]'\
' secrets=[{{range .Spec.TaskTemplate.ContainerSpec.Secrets}}{{.SecretName}} {{end}}]'
running_spec() {
  local ids
  mapfile -t ids < <(docker service ls --filter "label=com.docker.stack.namespace=$stack" -q)
  [ "${#ids[@]}" -eq 0 ] || docker service inspect --format "$SPEC_FORMAT" "${ids[@]}" | sort
}
deployed_record() {
  docker config ls --filter "label=flotilla.deployed=$stack" --format '{{.Name}}' | sort | tail -n 1
}

# Compare what $stack runs with its last record: 0 when the same, 3 on drift (diff printed).
# Called where errexit does not apply (in `||`), so every read checks its own status.
recorded_file=""
# With "gone-ok" (--all), a record removed since the listing (its stack removed meanwhile)
# returns 4 instead of failing.
check_drift_of() {
  local record running status=0 gone_ok=${1:-}
  record=$(deployed_record) || die "could not list the deploy records of $stack"
  if [ -z "$record" ]; then
    [ -n "$gone_ok" ] && return 4
    die "no record of a deploy of $stack in this Swarm (deployed before drift records existed, or never): deploy it again"
  fi
  recorded_file=$(mktemp /tmp/flotilla-deployed.XXXXXX)
  if ! docker config inspect --format '{{json .Spec.Data}}' "$record" | tr -d '"' | base64 -d >"$recorded_file"; then
    [ -n "$gone_ok" ] && [ -z "$(deployed_record)" ] && return 4
    die "could not read the record $record"
  fi
  # Read once, written as the record is (printf '%s\n'); a failed read is an error, not drift.
  running=$(running_spec) || die "could not read what $stack runs"
  local compared=0
  diff -u --label "deployed ($record)" --label "running now" "$recorded_file" <(printf '%s\n' "$running") ||
    compared=$?
  case "$compared" in
  0) echo "stack-deploy: $stack runs what was deployed ($(printf '%s\n' "$running" | grep -c .) services)" ;;
  1)
    echo "stack-deploy: $stack drifted from its last deploy (lines above: - as deployed, + as running)" >&2
    status=3
    ;;
  *) die "could not compare $stack with its record (diff exit $compared)" ;;
  esac
  rm -f "$recorded_file"
  return "$status"
}

if $check_drift; then
  trap 'rm -f "$recorded_file"' EXIT
  if ! $all; then
    check_drift_of && exit 0 || exit "$?"
  fi
  mapfile -t recorded_stacks < <(docker config ls --filter label=flotilla.deployed --format '{{.Label "flotilla.deployed"}}' | sort -u)
  [ "${#recorded_stacks[@]}" -gt 0 ] || die "no record of any deploy in this Swarm: nothing to compare"
  drifted=()
  for stack in "${recorded_stacks[@]}"; do
    [[ $stack =~ $name_re ]] || die "a deploy record names '$stack', not a Docker name"
    compared=0
    check_drift_of gone-ok || compared=$?
    case "$compared" in
    0) ;;
    3) drifted+=("$stack") ;;
    *) echo "stack-deploy: $stack was removed while checking (its record is gone)" >&2 ;;
    esac
  done
  if [ "${#drifted[@]}" -gt 0 ]; then
    echo "stack-deploy: ${#drifted[@]} of ${#recorded_stacks[@]} stacks drifted: ${drifted[*]}" >&2
    exit 3
  fi
  echo "stack-deploy: all ${#recorded_stacks[@]} recorded stacks run what was deployed"
  exit 0
fi

# --- standard input: secrets (kept in memory only), rolling phases, the compose document ---
compose=$(mktemp /tmp/flotilla-stack.XXXXXX)
phase_dir=$(mktemp -d /tmp/flotilla-phases.XXXXXX)
trap 'rm -rf "$compose" "$phase_dir"' EXIT
declare -A secrets=()
phase_names=()
phase=""
seen_compose=false
while IFS= read -r line; do
  if [ "$line" = "%%compose" ]; then seen_compose=true; break; fi
  # "%%phase SERVICE" and a document (no secret in it): deployed before the whole one.
  if [[ $line == "%%phase "* ]]; then
    [[ ${line#%%phase } =~ $name_re ]] || die "stdin: '%%phase' must name a service, got '${line#%%phase }'"
    phase_names+=("${line#%%phase }")
    phase="$phase_dir/${#phase_names[@]}.yaml"
    : >"$phase"
    continue
  fi
  if [ -n "$phase" ]; then printf '%s\n' "$line" >>"$phase"; continue; fi
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
if [ -n "$document_sha256" ]; then
  got=$(sha256sum "$compose" | cut -d' ' -f1)
  [ "$got" = "$document_sha256" ] || die "stdin: the compose document's SHA-256 is $got, not the $document_sha256 given"
fi

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
  for try in 1 2 3; do
    # printf is a shell builtin: the value reaches docker through a pipe, never argv.
    if err=$(printf '%s' "${secrets[$secret_name]}" | base64 -d |
      docker secret create --label "flotilla.secret=${secret_name%-*}" "$secret_name" - 2>&1 >/dev/null) ||
      docker secret inspect "$secret_name" >/dev/null 2>&1; then
      break
    fi
    printf '%s\n' "$err" >&2
    if ! swarm_busy "$err" || [ "$try" -eq 3 ]; then die "could not create secret $secret_name (error above)"; fi
    echo "stack-deploy: the Swarm was busy or electing (try $try of 3): creating $secret_name again in $((try * 5)) s" >&2
    sleep $((try * 5))
  done
  echo "stack-deploy: created secret $secret_name"
done

# --- deploy ---
# The deploy is convergent, so a busy or electing Swarm's refusal (swarm_busy) is retried
# (3 tries, 10 and 20 s apart). Any other error stops.
# deploy_once FILE [--prune]
deploy_once() {
  local try out
  for try in 1 2 3; do
    if out=$(docker stack deploy ${2:+"$2"} --with-registry-auth --resolve-image "$resolve" -c "$1" "$stack" 2>&1); then
      printf '%s\n' "$out" >&2
      return 0
    fi
    printf '%s\n' "$out" >&2
    swarm_busy "$out" || die "docker stack deploy failed (error above)"
    [ "$try" -lt 3 ] || die "docker stack deploy failed 3 times on a busy Swarm (last error above)"
    echo "stack-deploy: the Swarm timed out or was electing a leader (try $try of 3): deploying again in $((try * 10)) s" >&2
    sleep $((try * 10))
  done
}

# --- wait for convergence: desired tasks running (healthy), updates done, no rollback ---
# Swarm starts a service's rolling update a moment after the deploy returns (its update
# status is empty until then), so a service whose spec this deploy changed counts as
# converged only once an update started by this deploy completed, or, when its change
# left the tasks as they were (no update ever starts), after a short grace. Each
# service's progress is printed when it changes ("webapp 1/2 updating").
GRACE=5
declare -A last_seen=()
# Why an update failed: the service's recent tasks with their errors, and, for a failed
# task whose container is on this node, its exit code, health log and last lines.
explain_failed_tasks() {
  local task state container
  docker service ps --no-trunc --format '{{.ID}} {{.Name}} {{.Node}} {{.DesiredState}} {{.CurrentState}} {{.Error}}' "$1" |
    head -n 6 >&2 || true
  while read -r task state; do
    [ "$state" = failed ] || [ "$state" = rejected ] || continue
    container=$(docker inspect --format '{{.Status.ContainerStatus.ContainerID}}' "$task" 2>/dev/null) || continue
    if [ -z "$container" ] || ! docker container inspect "$container" >/dev/null 2>&1; then continue; fi
    docker container inspect --format 'task {{.Name}}: exit {{.State.ExitCode}}, OOM {{.State.OOMKilled}}, health {{if .State.Health}}{{.State.Health.Status}}{{range .State.Health.Log}} | {{.ExitCode}} {{.Output}}{{end}}{{end}}' \
      "$container" >&2 || true
    docker logs --tail 20 "$container" 2>&1 | sed 's/^/  | /' >&2 || true
    break
  done < <(docker service ps --no-trunc --format '{{.ID}} {{.CurrentState}}' "$1" | awk '{print $1, tolower($2)}')
}
converged() {
  local id name replicas created updated state since line ok=0 have want
  while read -r id name replicas; do
    [ -n "$id" ] || continue
    IFS='|' read -r created updated state since < <(docker service inspect --format \
      '{{.CreatedAt.Unix}}|{{.UpdatedAt.Unix}}|{{if .UpdateStatus}}{{.UpdateStatus.State}}|{{if .UpdateStatus.StartedAt}}{{.UpdateStatus.StartedAt.Unix}}{{end}}{{else}}|{{end}}' "$id")
    # An update status from an earlier deploy says nothing about this one.
    [ "${since:-0}" -ge "$started" ] || state=""
    if [ "$created" -lt "$started" ] && [ "$updated" -ge "$started" ] && [ -z "$state" ] &&
      [ "$(date +%s)" -lt $((started + GRACE)) ]; then
      state=pending
    fi
    line="$replicas${state:+ $state}"
    if [ "${last_seen[$name]:-}" != "$line" ]; then
      last_seen[$name]=$line
      echo "stack-deploy: $(($(date +%s) - started)) s $name $line"
    fi
    if [[ $state == rollback_* ]]; then
      echo "stack-deploy: service $name was rolled back ($state): $(docker service inspect --format '{{.UpdateStatus.Message}}' "$id")" >&2
      explain_failed_tasks "$id"
      return 2
    fi
    # "2/2" (replicated) or "1/1" (global); "(max 1 per node)" may follow.
    read -r have want <<<"$(echo "$replicas" | sed -E 's#^([0-9]+)/([0-9]+).*#\1 \2#')"
    if [ "$have" != "$want" ] || [ "$want" = 0 ] || [ "$state" = updating ] || [ "$state" = pending ]; then ok=1; fi
  done < <(docker service ls --filter "label=com.docker.stack.namespace=$stack" --format '{{.ID}} {{.Name}} {{.Replicas}}')
  return "$ok"
}
# 0 once converged, 2 when Swarm rolled an update back; stops the script at the deadline.
wait_converged() {
  local rc
  while :; do
    rc=0
    converged || rc=$?
    [ "$rc" -ne 1 ] && return "$rc"
    if [ "$(date +%s)" -ge "$deadline" ]; then
      docker stack ps --no-trunc --format '{{.Name}} {{.CurrentState}} {{.Error}}' "$stack" | head -n 20 >&2
      die "$stack did not converge within $wait_seconds s"
    fi
    sleep 1
  done
}
# Until no service of the stack is rolling back any more (before deploying again).
wait_rollbacks() {
  while docker service ls -q --filter "label=com.docker.stack.namespace=$stack" |
    xargs -r docker service inspect --format '{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}' |
    grep -qx rollback_started; do
    [ "$(date +%s)" -lt "$deadline" ] || die "$stack was still rolling back after $wait_seconds s"
    sleep 1
  done
}
# A rolled-back update is deployed once more (the diagnosis above stays in the log): an
# update whose new task died of something passing (seen once in CI, a single MariaDB on a
# busy machine) then goes through, and a broken release fails twice, with both reasons.
# deploy_converged FILE WHAT [--prune]
deploy_converged() {
  local attempt rc
  for attempt in 1 2; do
    started=$(date +%s)
    deploy_once "$1" "${3:-}"
    rc=0
    wait_converged || rc=$?
    [ "$rc" -eq 0 ] && return 0
    [ "$attempt" -lt 2 ] || die "deploy of $2 failed and was rolled back, twice (reasons above)"
    echo "stack-deploy: Swarm rolled back an update of $2 (reason above): deploying once more when the rollback is done" >&2
    wait_rollbacks
  done
}
first_started=$(date +%s)
deadline=$((first_started + wait_seconds))
# Rolling phases, on a stack that runs already: one service's update at a time, each
# converged before the next (a Galera member's new task is up before the next member
# stops); the whole document then rolls the last one and prunes. A first deploy starts
# every service together (a new Galera cluster forms from all its members).
if [ "${#phase_names[@]}" -gt 0 ] &&
  [ -n "$(docker service ls -q --filter "label=com.docker.stack.namespace=$stack")" ]; then
  for i in "${!phase_names[@]}"; do
    echo "stack-deploy: rolling ${phase_names[$i]} (phase $((i + 1)) of $((${#phase_names[@]} + 1)))"
    deploy_converged "$phase_dir/$((i + 1)).yaml" "$stack (phase ${phase_names[$i]})"
  done
  echo "stack-deploy: rolling the rest of $stack (phase $((${#phase_names[@]} + 1)) of $((${#phase_names[@]} + 1)))"
fi
deploy_converged "$compose" "$stack" --prune
echo "stack-deploy: $stack converged in $(($(date +%s) - first_started)) s"

# --- prune this stack's older secret versions that nothing uses any more ---
for secret_name in "${!secrets[@]}"; do
  while read -r old; do
    if [ -z "$old" ] || [ "$old" = "$secret_name" ]; then continue; fi
    # Swarm refuses to remove a secret a service still uses (another stack, not yet redeployed).
    if docker secret rm "$old" >/dev/null 2>&1; then echo "stack-deploy: removed unused secret $old"; fi
  done < <(docker secret ls --filter "label=flotilla.secret=${secret_name%-*}" --format '{{.Name}}')
done

# --- record what runs now, for --check-drift (a config per content; older ones removed) ---
if ! spec=$(running_spec); then
  echo "stack-deploy: warning: could not read what $stack runs to record it; the next deploy records it" >&2
  exit 0
fi
# Named by time, then content: the newest sorts last.
record="$stack-deployed-$(date +%s)-$(printf '%s\n' "$spec" | sha256sum | cut -c1-12)"
# The deploy succeeded: a record that cannot be written (a busy Swarm) is a warning, and the
# previous record stays for --check-drift (which then reports the difference).
if ! docker config inspect "$record" >/dev/null 2>&1 &&
  ! printf '%s\n' "$spec" | docker config create --label "flotilla.deployed=$stack" "$record" - >/dev/null; then
  echo "stack-deploy: warning: could not record what $stack runs (docker config create $record); the next deploy records it" >&2
  exit 0
fi
while read -r old; do
  if [ -n "$old" ] && [ "$old" != "$record" ]; then docker config rm "$old" >/dev/null 2>&1 || true; fi
done < <(docker config ls --filter "label=flotilla.deployed=$stack" --format '{{.Name}}')
