// tune_scaling.h — `tidal-tune --simulate`: the tuner at scale. For each GPU
// count, the per-bucket time T_comm(b) of the gradient reduce-scatter comes
// from the alpha-beta cost model (topology/cost) for ring and torus2d on a
// cluster of 8-GPU nodes; the tuner then picks the bucket size. Shows how
// the best bucket moves with the world size (weak scaling: the per-GPU
// backward time stays fixed).
#pragma once

#include <string>
#include <vector>

#include "lib/core/status.h"
#include "topology/cost/cost_model.h"
#include "topology/tuning/bucket_model.h"

namespace tidal {
namespace tune {

struct ScalingRow {
  int gpus = 0;
  std::string algorithm;
  double best_bytes = 0;
  double exposed_s = 0, iteration_s = 0;
  double ddp_exposed_s = 0;        // at 25 MiB
  double keep_pace_bytes = 0;      // closed form b0 (inf: throughput-bound)
};

// GPU counts: every power of two from cluster.gpus_per_node to max_gpus.
Status scaling_sweep(const cost::Cluster& cluster, const tuning::StepInputs& inputs,
                     int max_gpus, std::vector<ScalingRow>* rows);

void print_scaling(const std::vector<ScalingRow>& rows, std::FILE* out);
Status write_scaling_csv(const std::vector<ScalingRow>& rows, const std::string& path);
// Best bucket size vs GPUs, one line per algorithm (gnuplot; the CSV rows
// alternate ring, torus2d).
Status write_scaling_plot(const std::string& csv, const std::string& png,
                          const std::string& title);

}  // namespace tune
}  // namespace tidal
