# Sourced by scripts/gpu-check.sh: the nccl-tests-compatible drivers on the
# NCCL backend (one GPU: one rank, so the figures are per-call overhead and
# the device copy, not a network).
for coll in all_reduce all_gather reduce_scatter; do
  run_bench ${coll}_perf_nccl "$gpu_log" $build/bench/perf/${coll}_perf -g 1 -b 8 -e 256M -f 4 \
    --backend nccl
done
