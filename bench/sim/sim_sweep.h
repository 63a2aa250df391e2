// sim_sweep.h — what tidal-sim computes from the cost model: a size sweep
// of every algorithm on one cluster (time, algbw, busbw), and the scaling
// efficiency of a data-parallel step as the GPU count grows.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "lib/core/status.h"
#include "topology/cost/cost_model.h"

namespace tidal {
namespace sim {

const std::vector<cost::Algorithm>& all_algorithms();

// Splits `nodes` into two near-equal factors ({16, 8} for 128) for the
// ndring layout; a prime count stays one dim.
std::vector<int> default_node_dims(int nodes);

// The machine each algorithm runs on: ndring sees `node_dims`, the others
// the plain two-tier cluster (ring, torus2d and tree ignore outer dims
// beyond the node boundary's tier anyway).
struct SimMachines {
  cost::Machine two_tier;
  cost::Machine nd;
  const cost::Machine& for_algorithm(cost::Algorithm a) const {
    return a == cost::Algorithm::kNdRing ? nd : two_tier;
  }
};
Status make_machines(const cost::Cluster& cluster, const std::vector<int>& node_dims,
                     SimMachines* out);

struct SweepRow {
  double bytes = 0;
  std::vector<double> seconds;  // per algorithm, in all_algorithms() order
};

// Sizes from min to max multiplying by `factor` (> 1).
Status sweep_sizes(const SimMachines& machines, cost::Collective coll, double min_bytes,
                   double max_bytes, double factor, std::vector<SweepRow>* rows);

// nccl-tests-style table on `out`; CSV (one row per size x algorithm).
void print_sweep(const std::vector<SweepRow>& rows, cost::Collective coll, int world,
                 std::FILE* out);
Status write_sweep_csv(const std::vector<SweepRow>& rows, cost::Collective coll, int world,
                       const std::string& path);

// One data-parallel step: `compute_s` of compute per step, of which the
// backward pass (`overlap` of it) can hide communication; the gradients
// (`model_bytes`) are all-reduced in buckets of `bucket_bytes`. The last
// bucket is always exposed.
struct DataParallelStep {
  double compute_s = 0.3;
  double overlap = 2.0 / 3.0;
  double model_bytes = 1.35e9;  // DiT-XL/2: 675M parameters in bf16
  double bucket_bytes = 25.0 * (1 << 20);
};
Status validate(const DataParallelStep& step);

struct ScalingRow {
  int gpus = 0;
  std::vector<double> comm_s;      // per algorithm: all buckets, back to back
  std::vector<double> efficiency;  // compute / (compute + exposed comm)
};

// GPU counts from one node up to max_gpus, doubling the node count.
Status scaling_sweep(const cost::Cluster& cluster, const DataParallelStep& step,
                     int max_gpus, std::vector<ScalingRow>* rows);
void print_scaling(const std::vector<ScalingRow>& rows, const DataParallelStep& step,
                   std::FILE* out);
Status write_scaling_csv(const std::vector<ScalingRow>& rows, const std::string& path);

}  // namespace sim
}  // namespace tidal
