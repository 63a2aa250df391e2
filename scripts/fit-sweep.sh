#!/usr/bin/env bash
# fit-sweep.sh — the cost-model check of docs/cost-model.md: `tidal-sim --fit`
# on local threads, MPI and UCX with 2 and 4 ranks, twice each, one run after
# another, every output in OUT_DIR (one file per run, load average first).
#   scripts/fit-sweep.sh [BUILD_DIR=build] [OUT_DIR=fit-sweep]
set -euo pipefail
build=${1:-build}
out=${2:-fit-sweep}
sim="$build/bench/sim/tidal-sim"
[[ -x "$sim" ]] || { echo "fit-sweep: no $sim (build first)" >&2; exit 2; }
mkdir -p "$out"
export UCX_MEM_MMAP_HOOK_MODE=none
for round in 1 2; do
  for config in "local 2" "mpi 2" "ucx 2" "local 4" "mpi 4" "ucx 4"; do
    read -r backend ranks <<<"$config"
    file="$out/$backend-$ranks-r$round.txt"
    echo "# $(date -u +%H:%M:%S) load $(cut -d' ' -f1 /proc/loadavg)" >"$file"
    if [[ $backend == local ]]; then
      timeout 300 "$sim" --fit --backend local --ranks "$ranks" >>"$file" 2>&1 || true
    else
      timeout 300 mpiexec -n "$ranks" "$sim" --fit --backend "$backend" >>"$file" 2>&1 || true
    fi
    echo "$file: $(grep -c '%' "$file") rows"
  done
done
