// closed_form.h — the optimum bucket size when T_comm(b) = alpha + b / beta,
// gradients are produced uniformly, one bucket is in flight and there is no
// smaller first bucket (docs/tuning.md derives it).
//
// With n = phi / b buckets ready every tau = T_bwd * b / phi seconds:
//  - keeps pace (T_comm(b) <= tau): exposed = alpha + b / beta, growing in
//    b. The smallest such b is  b0 = alpha * phi / (T_bwd - phi / beta),
//    defined when T_bwd > phi / beta.
//  - falls behind (T_comm(b) > tau): the link never idles after the first
//    bucket, exposed = T_bwd * b / phi + alpha * phi / b + phi / beta - T_bwd,
//    convex with its minimum at  b1 = phi * sqrt(alpha / T_bwd).
// Optimum: min(b0, b1) when T_bwd > phi / beta (b0 unless the slack is
// smaller than sqrt(alpha * T_bwd)); b1 otherwise (throughput-bound).
// Clamped to phi (a single bucket).
#pragma once

#include "lib/core/status.h"

namespace tidal {
namespace tuning {

enum class Regime {
  kKeepsPace,         // optimum b0: comm keeps pace with gradient production
  kLatencyBound,      // T_bwd > phi/beta but the slack is small: optimum b1 < b0
  kThroughputBound,   // T_bwd <= phi/beta: comm cannot hide; optimum b1
};
const char* regime_name(Regime regime);

struct ClosedFormOptimum {
  Regime regime = Regime::kKeepsPace;
  double keep_pace_bytes = 0;   // b0 (infinity when throughput-bound)
  double chain_bytes = 0;       // b1
  double bucket_bytes = 0;      // the optimum, <= phi
  double exposed_s = 0;         // predicted exposed time at the optimum
};

// Errors: alpha < 0, beta <= 0, phi <= 0, T_bwd <= 0 (or not finite).
Status closed_form_optimum(double alpha_s, double beta_Bps, double phi_bytes, double bwd_s,
                           ClosedFormOptimum* out);

// Exposed time of the same model for any b in (0, phi] (continuous n).
double closed_form_exposed(double alpha_s, double beta_Bps, double phi_bytes, double bwd_s,
                           double bucket_bytes);

}  // namespace tuning
}  // namespace tidal
