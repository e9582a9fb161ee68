#!/usr/bin/env bash
# The test command (`npm test`), exactly what CI runs (.ci/run). In order:
#  1. the machine: the Debian packages the suites drive, a running Docker engine, the base
#     image (scripts/dev/setup-machine.sh);
#  2. every image the Docker suites use, built in the background (prepare-images.sh) while
#  3. typecheck, lint and the unit and Pulumi mock suites run: a failure there shows first;
#  4. the suites that run real software under Docker, in two lanes side by side, each
#     one file at a time (vitest.config.mts; CI jobs on separate machines run projects of
#     their own); a missing engine fails instead of skipping.
# Each phase prints when it ended; vitest's JSON reports (per-file times) go to
# test/artifacts/. With arguments, they go to vitest after step 1 (`npm test -- test/lab`).
set -euo pipefail
cd "$(dirname "$0")/../.."

start=$(date +%s)
mark() { echo "test: $* at $(($(date +%s) - start)) s"; }
artifacts=test/artifacts
mkdir -p "$artifacts"

bash scripts/dev/setup-machine.sh
mark "machine ready"
if [ "$#" -gt 0 ]; then
  FLOTILLA_REQUIRE_DOCKER=1 npx vitest run "$@"
  mark "finished"
  exit 0
fi

# Its own process group, so a failure below stops every build it started.
setsid bash scripts/dev/prepare-images.sh >"$artifacts/prepare-images.log" 2>&1 &
images=$!
trap 'kill -- "-$images" 2>/dev/null || true' EXIT

npm run --silent typecheck
npm run --silent lint
npx vitest run --project unit --reporter=default --reporter=json --outputFile.json="$artifacts/vitest-unit.json"
mark "typecheck, lint and the unit suites passed"

if ! wait "$images"; then
  tail -n 40 "$artifacts/prepare-images.log" >&2
  echo "test: building the images failed (log: $artifacts/prepare-images.log)" >&2
  exit 1
fi
trap - EXIT
sed 's/^/  /' "$artifacts/prepare-images.log"
mark "images ready"

# The Docker suites: two lanes side by side, each running its vitest projects
# (vitest.config.mts) one after another, each project one file at a time, so at most two
# suites run at once and the lab never shares the machine with more than one other. On
# the 2-core build machine lab and cluster side by side took 19.3 min where in sequence
# they took 33; three suites at once starved the lab (load average 60, requests timing out
# in its rows). The unit suites stay before the lanes: beside the lab's bring-up they took
# 255 s instead of 110 and the whole run gained nothing (1820 s against an estimated 1795),
# while a unit failure showed after 4.4 minutes instead of 2. Each lane's lines carry its
# project's name; each project's JSON report (per-file times) goes to test/artifacts/.
bash scripts/host/local-swarm.sh >/dev/null # once: the lanes share the host's Swarm
# A lane entry is a project, or PROJECT:DIR for that project's suites under DIR only: the
# cluster lane runs discovery before Galera, so the Galera suite's cold deploy (three
# members, two state transfers) meets the dev suites, not the lab's seven VMs under load
# (beside those it timed out three runs in a row on 7 December, load average 110-134).
LANES=("docker-lab docker-dev" "docker-cluster:test/discovery docker-cluster:test/galera docker-misc")
# The second lane starts once the lab's bring-up is over (the lab suite writes
# LAB_UP_MARKER, done or failed; or the lab project ended; at most 30 minutes): seven VMs
# pulling and starting every image want more than two cores by themselves. Beside them,
# the Galera suite's cold deploy and the lab's stack deploys both timed out (load average
# 100-116 on 7 December), and the misc suites' sub-second timings failed.
export LAB_UP_MARKER="$artifacts/lab-up"
rm -f "$LAB_UP_MARKER" "$artifacts/project-ended-docker-lab"
wait_for_lab_up() {
  local waited=0
  until [ -e "$LAB_UP_MARKER" ] || [ -e "$artifacts/project-ended-docker-lab" ] || [ "$waited" -ge 1800 ]; do
    sleep 5
    waited=$((waited + 5))
  done
  mark "the lab's bring-up over; the second lane starts"
}
# A lane runs every project even after one failed (more to read from one run), and fails
# if any did.
lane() {
  local entry project dir name status=0
  [ "$1" = docker-lab ] || wait_for_lab_up
  for entry in "$@"; do
    project=${entry%%:*}
    dir=${entry#"$project"}
    dir=${dir#:}
    name=$project${dir:+-${dir##*/}}
    # shellcheck disable=SC2086 # no directory: no argument
    if FLOTILLA_REQUIRE_DOCKER=1 npx vitest run --project "$project" $dir --reporter=default --reporter=json \
      --outputFile.json="$artifacts/vitest-$name.json" 2>&1 | sed -u "s/^/[$name] /"; then
      mark "$name passed"
    else
      mark "$name FAILED"
      status=1
    fi
    : >"$artifacts/project-ended-$name"
  done
  return "$status"
}
stop_lanes() {
  local pid
  for pid in "${pids[@]}"; do kill -- "-$pid" 2>/dev/null || true; done
}
pids=()
set -m # each lane its own process group: an interrupted run stops every lane
trap stop_lanes EXIT
for l in "${LANES[@]}"; do
  # shellcheck disable=SC2086 # a lane is a list of project names
  (set -o pipefail; lane $l) &
  pids+=($!)
done
failed=0
for i in "${!pids[@]}"; do
  if ! wait "${pids[$i]}"; then
    mark "lane ${LANES[$i]} FAILED"
    failed=1
  fi
done
trap - EXIT
[ "$failed" = 0 ] || exit 1
mark "finished"
