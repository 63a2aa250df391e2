// closed_form.cc — the alpha-beta optimum (see closed_form.h).
#include "topology/tuning/closed_form.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace tidal {
namespace tuning {

const char* regime_name(Regime regime) {
  switch (regime) {
    case Regime::kKeepsPace: return "keeps-pace";
    case Regime::kLatencyBound: return "latency-bound";
    case Regime::kThroughputBound: return "throughput-bound";
  }
  return "unknown";
}

double closed_form_exposed(double alpha_s, double beta_Bps, double phi_bytes, double bwd_s,
                           double bucket_bytes) {
  double comm = alpha_s + bucket_bytes / beta_Bps;
  double tau = bwd_s * bucket_bytes / phi_bytes;
  if (comm <= tau) return comm;
  double n = phi_bytes / bucket_bytes;
  return tau + n * comm - bwd_s;
}

Status closed_form_optimum(double alpha_s, double beta_Bps, double phi_bytes, double bwd_s,
                           ClosedFormOptimum* out) {
  bool ok = std::isfinite(alpha_s) && alpha_s >= 0 && std::isfinite(beta_Bps) && beta_Bps > 0 &&
            std::isfinite(phi_bytes) && phi_bytes > 0 && std::isfinite(bwd_s) && bwd_s > 0;
  if (!ok) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT,
                  fmt::format("closed form needs alpha >= 0, beta > 0, phi > 0, T_bwd > 0 "
                              "(got {}, {}, {}, {})", alpha_s, beta_Bps, phi_bytes, bwd_s));
  }
  ClosedFormOptimum r;
  double slack = bwd_s - phi_bytes / beta_Bps;
  r.chain_bytes = phi_bytes * std::sqrt(alpha_s / bwd_s);
  if (slack > 0) {
    r.keep_pace_bytes = alpha_s * phi_bytes / slack;
    r.regime = r.keep_pace_bytes <= r.chain_bytes ? Regime::kKeepsPace : Regime::kLatencyBound;
    r.bucket_bytes = std::min(r.keep_pace_bytes, r.chain_bytes);
  } else {
    r.keep_pace_bytes = std::numeric_limits<double>::infinity();
    r.regime = Regime::kThroughputBound;
    r.bucket_bytes = r.chain_bytes;
  }
  // alpha = 0 makes every size keep pace: the smallest bucket is best;
  // report a tiny positive size rather than 0.
  r.bucket_bytes = std::clamp(r.bucket_bytes, 1.0, phi_bytes);
  r.exposed_s = closed_form_exposed(alpha_s, beta_Bps, phi_bytes, bwd_s, r.bucket_bytes);
  *out = r;
  return Status();
}

}  // namespace tuning
}  // namespace tidal
