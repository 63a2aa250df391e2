// bucket_tuner.h — picks the bucket size: the event-driven model
// (bucket_model.h) evaluated over a geometric sweep of candidates, the best
// one refined between its neighbours, and a one-paragraph explanation that
// places the inputs in the closed-form regimes (closed_form.h).
#pragma once

#include <string>
#include <vector>

#include "lib/core/status.h"
#include "topology/tuning/bucket_model.h"
#include "topology/tuning/closed_form.h"

namespace tidal {
namespace tuning {

struct TuneOptions {
  double min_bucket_bytes = 256.0 * 1024;  // smallest candidate (> 0)
  double max_bucket_bytes = 0;              // largest; 0 = the largest phi
  int points_per_octave = 2;                // candidates per doubling (>= 1)
  std::vector<double> candidates;           // explicit sizes (override the sweep)
  double tie_tolerance = 0.01;              // within this fraction of the lowest
                                            // exposed time, prefer the larger bucket
  double granularity_bytes = 64.0 * 1024;   // the pick is rounded to a multiple
};

struct TuneResult {
  std::vector<StepPrediction> curve;  // one per candidate, by size
  StepPrediction best;                // the pick (also in `curve`)
  ClosedFormOptimum closed_form;      // of the alpha-beta fit of the gradient curve
  bool has_closed_form = false;
  double fit_alpha_s = 0, fit_beta_Bps = 0;
  StepPrediction ddp_default;         // 25 MiB, DDP's default, for comparison
  std::string reasoning;              // one paragraph
};

// The candidate sizes `options` describes for `inputs` (sorted, unique).
Status candidate_sizes(const StepInputs& inputs, const TuneOptions& options,
                       std::vector<double>* sizes);

Status tune_bucket_size(const StepInputs& inputs, const CommProfile& profile,
                        const TuneOptions& options, TuneResult* out);

// "256 KiB", "25 MiB", "1.5 GiB".
std::string format_bytes(double bytes);

}  // namespace tuning
}  // namespace tidal
