#!/usr/bin/env bash
# The test command (`npm test`), exactly what CI runs (.ci/run). In order:
#  1. the machine: the Debian packages the suites drive, a running Docker engine, the base
#     image (scripts/dev/setup-machine.sh);
#  2. every image the Docker suites use, built in the background (prepare-images.sh) while
#  3. typecheck, lint and the unit and Pulumi mock suites run: a failure there shows first;
#  4. the suites that run real software under Docker, in lanes side by side, each lane
#     one file at a time (vitest.config.mts; CI jobs on separate machines run one lane
#     each); a missing engine fails instead of skipping.
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

# The Docker suites: the lanes of vitest.config.mts side by side, each lane one file at a
# time. Three lanes fit this machine because each owns its own deployment and names and
# the image builds happened above; measured on the 2-core build machine, lab and cluster
# side by side took 19.3 min where in sequence they took 33 (README, "CI"). Each lane's
# lines carry its name; its JSON report (per-file times) goes to test/artifacts/.
bash scripts/host/local-swarm.sh >/dev/null # once: the lanes share the host's Swarm
LANES=(docker-lab docker-cluster "docker-dev docker-misc")
pids=()
set -m # each lane its own process group: an interrupted run stops every lane
trap 'for p in "${pids[@]}"; do kill -- "-$p" 2>/dev/null || true; done' EXIT
for lane in "${LANES[@]}"; do
  name=${lane%% *}
  args=()
  for p in $lane; do args+=(--project "$p"); done
  (
    set -o pipefail
    FLOTILLA_REQUIRE_DOCKER=1 npx vitest run "${args[@]}" --reporter=default --reporter=json \
      --outputFile.json="$artifacts/vitest-$name.json" 2>&1 | sed -u "s/^/[$name] /"
  ) &
  pids+=($!)
done
failed=0
for i in "${!pids[@]}"; do
  if wait "${pids[$i]}"; then mark "lane ${LANES[$i]} passed"; else
    mark "lane ${LANES[$i]} FAILED"
    failed=1
  fi
done
trap - EXIT
[ "$failed" = 0 ] || exit 1
mark "finished"
