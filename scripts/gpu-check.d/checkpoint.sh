# Sourced by scripts/gpu-check.sh: async checkpoint snapshot from device
# memory (D2H on a side stream) vs the pinned-copy bound.
run_bench ckpt_gpu "$gpu_log" $build/bench/ckpt/tidal-ckpt-gpu-bench --state-mib 1024 --reps 5
