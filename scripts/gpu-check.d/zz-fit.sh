# Sourced by scripts/gpu-check.sh: the cost model's fit and check on the GPU
# machine's quiet CPUs (local thread ranks: 2 and 4 have cores to themselves
# there, unlike on a 2-core VM). docs/cost-model.md.
for ranks in 2 4; do
  run_bench fit_local_$ranks "$host_log" $build/bench/sim/tidal-sim --fit --backend local \
    --ranks $ranks
done
