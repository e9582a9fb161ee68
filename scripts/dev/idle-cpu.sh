#!/bin/bash
# What a deployment costs while nothing happens: the CPU each running container used over
# SECONDS (default 60), read off the kernel's per-container accounting, then the host's busy
# and kernel cores and new processes a second over the same span (health checks' `runc`
# and every short process show there, not in a container). Prints figures; asserts nothing.
#   scripts/dev/idle-cpu.sh [SECONDS]
# Deploy first (e.g. `npm run demo -- --stack dev`) and send no traffic while it measures.
set -euo pipefail
seconds=${1:-60}
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || { echo "idle-cpu: SECONDS must be a whole number above 0, not '$seconds'" >&2; exit 2; }

# A container's CPU time in ns: cgroup v1 (cpuacct) or v2 (cpu.stat, in µs).
usage() {
  local v1=/sys/fs/cgroup/cpuacct/docker/$1/cpuacct.usage v2
  if [[ -r $v1 ]]; then cat "$v1"; return; fi
  for v2 in "/sys/fs/cgroup/system.slice/docker-$1.scope/cpu.stat" "/sys/fs/cgroup/docker/$1/cpu.stat"; do
    [[ -r $v2 ]] && { awk '$1 == "usage_usec" { print $2 * 1000 }' "$v2"; return; }
  done
  echo 0
}
# busy and kernel jiffies, all jiffies, forks so far
host() { awk '$1 == "cpu" { print $2 + $3 + $4, $4, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 } $1 == "processes" { print $2 }' /proc/stat | tr '\n' ' '; }

declare -A before
mapfile -t ids < <(docker ps -q --no-trunc)
[[ ${#ids[@]} -gt 0 ]] || { echo "idle-cpu: no container runs; deploy something first" >&2; exit 1; }
for id in "${ids[@]}"; do before[$id]=$(usage "$id"); done
read -r busy0 sys0 all0 forks0 <<<"$(host)"
sleep "$seconds"
read -r busy1 sys1 all1 forks1 <<<"$(host)"

total=0
rows=()
for id in "${ids[@]}"; do
  used=$(($(usage "$id") - before[$id]))
  total=$((total + used))
  rows+=("$(awk -v ns="$used" -v s="$seconds" 'BEGIN { printf "%6.3f", ns / 1e9 / s }') $(docker inspect -f '{{.Name}}' "$id" 2>/dev/null | cut -c2-)")
done
printf 'cores  container (over %s s)\n' "$seconds"
printf '%s\n' "${rows[@]}" | sort -rn
awk -v t="$total" -v s="$seconds" -v n="${#ids[@]}" 'BEGIN { printf "%6.3f  all %d containers\n", t / 1e9 / s, n }'
awk -v b=$((busy1 - busy0)) -v k=$((sys1 - sys0)) -v a=$((all1 - all0)) -v c="$(nproc)" -v f=$((forks1 - forks0)) -v s="$seconds" \
  'BEGIN { printf "host: %.3f of %d cores busy (%.3f in the kernel), %.0f new processes/s\n", b / a * c, c, k / a * c, f / s }'
