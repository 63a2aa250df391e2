#!/usr/bin/env bash
# One command for a GPU machine: builds tidal with CUDA + NCCL, runs the GPU
# tests (ctest label gpu) and the GPU benchmarks, and writes a summary into
# OUTDIR. Bounded to about 8 minutes. Uses .deps/root (scripts/gpu-deps.sh)
# for the Debian packages when they are not installed system-wide.
# Usage: scripts/gpu-check.sh OUTDIR
set -uo pipefail
out=${1:?usage: scripts/gpu-check.sh OUTDIR}
cd "$(dirname "$0")/.."
mkdir -p "$out"
summary="$out/gpu-check-summary.txt"
deadline=$((SECONDS + 470))
left() { echo $((deadline - SECONDS > 10 ? deadline - SECONDS : 10)); }
log() { echo "$*" | tee -a "$summary"; }

: > "$summary"
log "# tidal gpu-check $(date -u +%FT%TZ)"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | sed 's/^/# gpu: /' | tee -a "$summary"
prefix=()
if [[ -d .deps/root/usr ]]; then
  prefix=(-DCMAKE_PREFIX_PATH="$PWD/.deps/root/usr;$PWD/.deps/root/usr/lib/x86_64-linux-gnu/cmake")
  export LD_LIBRARY_PATH="$PWD/.deps/root/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
fi
build=build-gpu
timeout "$(left)" cmake -S . -B $build -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DTIDAL_WITH_CUDA=ON -DTIDAL_WITH_MPI=OFF -DTIDAL_WITH_UCX=OFF "${prefix[@]}" \
  > "$out/configure.log" 2>&1 || { log "configure FAILED (see configure.log)"; exit 1; }
timeout "$(left)" cmake --build $build -j "$(nproc)" > "$out/build.log" 2>&1 \
  || { log "build FAILED (see build.log)"; tail -30 "$out/build.log" >> "$summary"; exit 1; }
log "build ok"

(cd $build && timeout "$(left)" ctest -L gpu --output-on-failure) > "$out/gpu-tests.log" 2>&1
log "gpu tests: $(grep -E 'tests passed|tests failed' "$out/gpu-tests.log" | tail -1)"

# GPU benchmarks: each prints its own table; a missing tool is reported, not fatal.
run_bench() {
  local name=$1; shift
  if [[ ! -x $1 ]]; then log "bench $name: not built ($1)"; return; fi
  log "## $name: $*"
  timeout "$(left)" "$@" > "$out/$name.log" 2>&1
  log "   exit $? (full output in $name.log)"
  tail -25 "$out/$name.log" >> "$summary"
}
run_bench all_reduce_perf_nccl $build/bench/perf/all_reduce_perf -g 1 -b 8 -e 256M -f 4 --backend nccl
run_bench all_gather_perf_nccl $build/bench/perf/all_gather_perf -g 1 -b 8 -e 256M -f 4 --backend nccl
for extra in scripts/gpu-check.d/*.sh; do
  [[ -f $extra ]] && source "$extra"
done
log "# done in ${SECONDS}s"
