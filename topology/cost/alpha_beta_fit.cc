#include "topology/cost/alpha_beta_fit.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace tidal {
namespace cost {

Status fit_alpha_beta(const std::vector<TimedTransfer>& points, AlphaBetaFit* out) {
  // Weights 1/t^2 minimise the relative error, so a 64 KiB point counts as
  // much as a 16 MiB one (plain least squares would fit the largest only).
  double sw = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (const TimedTransfer& p : points) {
    if (!std::isfinite(p.bytes) || !std::isfinite(p.seconds) || p.bytes < 0 || p.seconds <= 0) {
      return Status(TIDAL_ERR_INVALID_ARGUMENT,
                    fmt::format("fit: bad point ({} bytes, {} s)", p.bytes, p.seconds));
    }
    const double w = 1.0 / (p.seconds * p.seconds);
    sw += w;
    sx += w * p.bytes;
    sy += w * p.seconds;
    sxx += w * p.bytes * p.bytes;
    sxy += w * p.bytes * p.seconds;
  }
  const double spread = sw * sxx - sx * sx;
  if (points.size() < 2 || spread <= sw * sxx * 1e-12) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT, "fit: needs at least two distinct sizes");
  }
  const double slope = (sw * sxy - sx * sy) / spread;
  if (slope <= 0) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT,
                  "fit: time does not grow with size (too noisy, or sizes too small)");
  }
  const double intercept = std::max(0.0, (sy - slope * sx) / sw);
  double ss_res = 0, ss_tot = 0, worst = 0;
  const double mean = sy / sw;
  for (const TimedTransfer& p : points) {
    const double w = 1.0 / (p.seconds * p.seconds);
    const double fitted = intercept + slope * p.bytes;
    ss_res += w * (p.seconds - fitted) * (p.seconds - fitted);
    ss_tot += w * (p.seconds - mean) * (p.seconds - mean);
    worst = std::max(worst, std::fabs(fitted - p.seconds) / p.seconds);
  }
  out->tier.alpha_s = intercept;
  out->tier.beta_Bps = 1.0 / slope;
  out->r_squared = ss_tot > 0 ? 1.0 - ss_res / ss_tot : 1.0;
  out->max_rel_error = worst;
  return Status();
}

Status probe_and_fit(const Probe& probe, int max_attempts, AlphaBetaFit* fit,
                     std::vector<TimedTransfer>* points, int* attempts) {
  *attempts = 0;
  if (max_attempts < 1) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT,
                  fmt::format("fit: max_attempts {} must be at least 1", max_attempts));
  }
  Status fitted;
  while (*attempts < max_attempts) {
    ++*attempts;
    points->clear();
    TIDAL_RETURN_IF_ERROR(probe(points));
    fitted = fit_alpha_beta(*points, fit);
    if (fitted.ok()) break;
  }
  return fitted;
}

}  // namespace cost
}  // namespace tidal
