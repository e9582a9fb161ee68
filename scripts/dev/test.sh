#!/usr/bin/env bash
# The test command (`npm test`), exactly what CI runs (.ci/run). In order:
#  1. the machine: the Debian packages the suites drive, a running Docker engine, the base
#     image (scripts/dev/setup-machine.sh);
#  2. every image the Docker suites use, built in the background (prepare-images.sh) while
#  3. typecheck, lint and the unit and Pulumi mock suites run: a failure there shows first;
#  4. the suites that run real software under Docker: the lab alone, then the others in two
#     lanes side by side, each one file at a time (vitest.config.mts; CI jobs on separate
#     machines run projects of their own); a missing engine fails instead of skipping.
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

# The Docker suites, each project one file at a time (vitest.config.mts), in two phases:
#  1. the lab alone: its nine VM containers want more than the build machine's two cores
#     by themselves (2.6 cores measured on 7 December). Beside it, every other suite was
#     starved: the lab's rows, the Galera cold deploy and the misc suites' sub-second
#     timings all failed there (load average 100-142), and one run spent 84 minutes in it.
#  2. the rest in two lanes side by side, balanced (cluster 19.4 min; dev 9.8 + misc 7.8 in
#     the green run of 6 December), the Galera suite's cold deploy beside the dev suites.
# The unit suites stay before both: a unit failure shows in about 3 minutes. A lane runs
# every entry even after one failed (more to read from one run), and fails if any did.
# Each lane's lines carry its entry's name; each entry's JSON report (per-file times) goes
# to test/artifacts/.
bash scripts/host/local-swarm.sh >/dev/null # once: the lanes share the host's Swarm
# A lane entry is a project, or PROJECT:DIR for that project's suites under DIR only.
LAB_LANE="docker-lab"
LANES=("docker-cluster:test/discovery docker-cluster:test/galera" "docker-dev docker-misc")
lane() {
  local entry project dir name status=0
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
  done
  return "$status"
}
failed=0
(set -o pipefail; lane $LAB_LANE) || failed=1
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
for i in "${!pids[@]}"; do
  if ! wait "${pids[$i]}"; then
    mark "lane ${LANES[$i]} FAILED"
    failed=1
  fi
done
trap - EXIT
[ "$failed" = 0 ] || exit 1
mark "finished"
