// alpha_beta_fit.h — least-squares fit of time = alpha + bytes / beta to
// measured (bytes, seconds) points, as `tidal-sim --fit` does for each tier.
#pragma once

#include <vector>

#include "lib/core/status.h"
#include "topology/cost/cost_model.h"

namespace tidal {
namespace cost {

struct TimedTransfer {
  double bytes = 0;    // per message
  double seconds = 0;  // one message (or one ring-shift step)
};

struct AlphaBetaFit {
  LinkTier tier;              // alpha_s, beta_Bps
  double r_squared = 0;       // of the weighted linear fit
  double max_rel_error = 0;   // worst |fit - measured| / measured
};

// Least squares of seconds on bytes weighted by 1/seconds^2 (minimises the
// relative error): slope = 1/beta, intercept = alpha (clamped at 0: a
// negative intercept is measurement noise). Needs at least two distinct
// sizes and a positive slope. r_squared is the weighted one.
Status fit_alpha_beta(const std::vector<TimedTransfer>& points, AlphaBetaFit* out);

}  // namespace cost
}  // namespace tidal
