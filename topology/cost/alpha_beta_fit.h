// alpha_beta_fit.h — least-squares fit of time = alpha + bytes / beta to
// measured (bytes, seconds) points, as `tidal-sim --fit` does for each tier.
#pragma once

#include <functional>
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

// Fills `points` with `probe` and fits them; while the fit refuses the
// points (a preempted probe can time a larger size no slower than a smaller
// one), clears them and probes again, `max_attempts` runs in all. A probe
// error ends it at once. `*attempts` says how many runs were made; on
// failure the last refusal is returned. Ranks that see the same points
// (slowest-rank times) retry in step.
using Probe = std::function<Status(std::vector<TimedTransfer>*)>;
Status probe_and_fit(const Probe& probe, int max_attempts, AlphaBetaFit* fit,
                     std::vector<TimedTransfer>* points, int* attempts);

}  // namespace cost
}  // namespace tidal
