#!/usr/bin/env bash
# Build every image the Docker suites use, once and side by side, before they start (the
# test command runs this in the background while the unit suites run): the Flotilla images
# (images/build.sh, three at a time after s6-base and consul), the lab's machine images
# and the test-only images. The suites and the program build the same Dockerfiles with
# the same arguments later, so theirs are cache hits: no suite depends on images another
# suite happened to build first, and none pays for a cold build inside its own timing.
#
#   scripts/dev/prepare-images.sh        (each build's time is printed; a failed build's log tail too)
set -euo pipefail
cd "$(dirname "$0")/../.."

start=$(date +%s)
bash images/base/bootstrap-debian.sh

# name, then the docker build arguments (classic builder, as the executor's docker:Image and the suites use)
builds=(
  "lab-vm|-t flotilla/lab-vm:lab --build-arg DEBIAN_IMAGE=debian:trixie-slim images/lab-vm"
  "lab-registry|-t flotilla/lab-registry:lab --build-arg DEBIAN_IMAGE=debian:trixie-slim images/lab-registry"
  "swarm-node|--label flotilla.test=1 -t flotilla-test-swarmnode:1 test/swarm/node"
  "bench-load|--label flotilla.test=1 -t flotilla-bench:1 tools/bench/image"
)

pids=()
names=()
logs=()
bash images/build.sh --jobs 3 >/tmp/flotilla-prepare-flotilla.log 2>&1 &
pids+=($!)
names+=(flotilla)
logs+=(/tmp/flotilla-prepare-flotilla.log)
for entry in "${builds[@]}"; do
  name=${entry%%|*}
  read -r -a args <<<"${entry#*|}"
  log=/tmp/flotilla-prepare-$name.log
  (
    t=$(date +%s)
    DOCKER_BUILDKIT=0 docker build -q --force-rm "${args[@]}" >"$log" 2>&1
    echo "prepare-images: built $name in $(($(date +%s) - t)) s" >>"$log"
  ) &
  pids+=($!)
  names+=("$name")
  logs+=("$log")
done

failed=0
for i in "${!pids[@]}"; do
  if wait "${pids[$i]}"; then
    grep -h "built" "${logs[$i]}" | sed 's/^/  /'
  else
    failed=1
    echo "prepare-images: building ${names[$i]} failed; last lines of ${logs[$i]}:" >&2
    tail -n 30 "${logs[$i]}" >&2
  fi
done
[ "$failed" -eq 0 ] || exit 1
echo "prepare-images: every image ready in $(($(date +%s) - start)) s"
