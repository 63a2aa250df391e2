#!/usr/bin/env bash
# One command for a GPU machine: builds tidal with CUDA + NCCL (only the
# targets the checks need), runs the GPU tests (ctest label gpu), the CUDA
# memory checker on the kernel tests, the GPU benchmarks, and, while time
# is left, the host benchmarks on that machine's (quiet) CPUs. Bounded by
# TIDAL_GPU_CHECK_S seconds (default 420). Writes at most seven files into
# OUTDIR: gpu-check-summary.txt, configure.log, build.log, gpu-tests.log,
# sanitizer.log, gpu-benches.log, host-benches.log.
# Uses .deps/root (scripts/gpu-deps.sh) for the Debian packages when they
# are not installed system-wide, and finds NCCL in the CUDA toolkit or in
# the nvidia-nccl Python wheel.
# Usage: [TIDAL_GPU_CHECK_ONLY=NAME] [TIDAL_GPU_CHECK_TESTS=0] scripts/gpu-check.sh OUTDIR
set -uo pipefail
out=${1:?usage: scripts/gpu-check.sh OUTDIR}
cd "$(dirname "$0")/.."
mkdir -p "$out"
summary="$out/gpu-check-summary.txt"
deadline=$((SECONDS + ${TIDAL_GPU_CHECK_S:-420}))
left() { echo $((deadline - SECONDS > 5 ? deadline - SECONDS : 5)); }
log() { echo "$*" | tee -a "$summary"; }

: > "$summary"
log "# tidal gpu-check $(date -u +%FT%TZ) commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv,noheader 2>&1 \
  | sed 's/^/# gpu: /' | tee -a "$summary"
log "# host: $(nproc) cpus, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
log "# nvcc: $(nvcc --version 2>/dev/null | tail -1), cmake: $(cmake --version | head -1)"

prefix=()
if [[ -d .deps/root/usr ]]; then
  prefix=(-DCMAKE_PREFIX_PATH="$PWD/.deps/root/usr")
  export LD_LIBRARY_PATH="$PWD/.deps/root/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
fi
if [[ -z ${NCCL_HOME:-} && ! -f /usr/local/cuda/include/nccl.h ]]; then
  header=$(find /usr/local /opt /usr/lib -name nccl.h -path '*nccl/include*' 2>/dev/null | head -1)
  [[ -n $header ]] && export NCCL_HOME=$(dirname "$(dirname "$header")")
fi
if [[ -n ${NCCL_HOME:-} ]]; then
  export LD_LIBRARY_PATH="$NCCL_HOME/lib:${LD_LIBRARY_PATH:-}"
  log "# nccl: $NCCL_HOME"
fi

build=build-gpu
timeout "$(left)" cmake -S . -B $build -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DTIDAL_WITH_CUDA=ON -DTIDAL_WITH_MPI=OFF -DTIDAL_WITH_UCX=OFF -DTIDAL_BUILD_EXAMPLES=OFF \
  "${prefix[@]}" > "$out/configure.log" 2>&1 \
  || { log "configure FAILED"; tail -30 "$out/configure.log" | tee -a "$summary"; exit 1; }
targets=(nccl_test schedules_gpu_test checkpoint_gpu_test cuda_pack_kernel_test
         cuda_overlap_hooks_test cuda_fp8_codec_test cuda_fp8_gather_test all_reduce_perf all_gather_perf reduce_scatter_perf
         tidal-bench-pack-cuda tidal-ckpt-gpu-bench
         tidal-bench-pack tidal-bench-overlap tidal-bench-fp8-gather tidal-ckpt-bench tidal-sim
         tidal-bench-after-idle)
timeout "$(left)" cmake --build $build -j "$(nproc)" --target "${targets[@]}" \
  > "$out/build.log" 2>&1 \
  || { log "build FAILED"; grep -m20 -B2 -A8 'error' "$out/build.log" | tee -a "$summary"; exit 1; }
log "build ok at ${SECONDS}s"

if [[ ${TIDAL_GPU_CHECK_TESTS:-1} == 0 ]]; then  # benches only (a re-run after a full check)
  log "gpu tests: skipped (TIDAL_GPU_CHECK_TESTS=0)"
else
  (cd $build && timeout "$(left)" ctest -L gpu --output-on-failure) > "$out/gpu-tests.log" 2>&1
  log "gpu tests: $(grep -E 'tests passed|tests failed' "$out/gpu-tests.log" | tail -1)"
  grep -E 'Failed|\*\*\*' "$out/gpu-tests.log" | head -20 | tee -a "$summary"

  # The CUDA memory checker on the kernels and the hooks (no NCCL in the
  # kernel tests).
  if command -v compute-sanitizer > /dev/null; then
    for t in "bucketing/cuda_pack_kernel_test --gtest_filter=CudaPackKernel.Plain*" \
             "codecs/cuda_fp8_codec_test" "bucketing/cuda_overlap_hooks_test"; do
      echo "## compute-sanitizer --tool memcheck $t" >> "$out/sanitizer.log"
      # shellcheck disable=SC2086
      timeout $(( $(left) < 60 ? $(left) : 60 )) compute-sanitizer --tool memcheck \
        --error-exitcode 3 $build/tests/$t >> "$out/sanitizer.log" 2>&1
      log "memcheck ${t%% *}: exit $? ($(grep 'ERROR SUMMARY' "$out/sanitizer.log" | tail -1))"
    done
  fi
fi

# Benchmarks: each appends its table to one log; a missing tool is reported.
run_bench() {  # name log-file command...
  local name=$1 file=$2; shift 2
  if [[ ! -x $1 ]]; then log "bench $name: not built ($1)"; return; fi
  if (( deadline - SECONDS < 20 )); then log "bench $name: skipped (out of time)"; return; fi
  echo "## $name: $* (at ${SECONDS}s)" >> "$file"
  timeout "$(left)" "$@" >> "$file" 2>&1
  log "bench $name: exit $? at ${SECONDS}s"
}
gpu_log="$out/gpu-benches.log" host_log="$out/host-benches.log"
# TIDAL_GPU_CHECK_ONLY=bucketing (say) runs only scripts/gpu-check.d/bucketing.sh.
for extra in scripts/gpu-check.d/${TIDAL_GPU_CHECK_ONLY:-*}.sh; do
  [[ -f $extra ]] && source "$extra"
done
log "# done in ${SECONDS}s"
