# Sourced last by scripts/gpu-check.sh: host-memory benchmarks on the GPU
# machine's CPUs (many cores, nothing else running), while time is left.
run_bench host_pack "$host_log" $build/bench/bucketing/tidal-bench-pack \
  --model DiT-B/2 --model DiT-XL/2 --reps 5
run_bench host_overlap "$host_log" $build/bench/bucketing/tidal-bench-overlap \
  --ranks 4 --bucket-mib 4 --reps 5
run_bench host_ckpt "$host_log" $build/bench/ckpt/tidal-ckpt-bench --reps 2 \
  --sections throughput stall
run_bench host_fp8_gather "$host_log" $build/bench/bucketing/tidal-bench-fp8-gather \
  --ranks 8 --model DiT-B/2 --bucket-mib 16 --reps 3
# Does a bucket after a long idle slow down on a dedicated host too? (On the
# shared 2-vCPU VM a plain memcpy did, as much: docs/benchmarks/tuner.md.)
run_bench host_after_idle "$host_log" $build/bench/bucketing/tidal-bench-after-idle \
  --ranks 4 --reps 15
