# Sourced by scripts/gpu-check.sh: fused CUDA pack kernel vs per-tensor
# cudaMemcpyAsync vs the device-to-device bound, on the DiT parameter lists.
run_bench bucketing_pack_cuda "$gpu_log" $build/bench/bucketing/tidal-bench-pack-cuda \
  --model DiT-S/2 --model DiT-B/2 --model DiT-XL/2 --reps 10
