// bucket_tuner.cc — candidate sweep, refinement and the explanation.
#include "topology/tuning/bucket_tuner.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>


namespace tidal {
namespace tuning {

namespace {

constexpr double kDdpDefaultBytes = 25.0 * 1024 * 1024;
constexpr int kRefineSteps = 24;

Status validate_options(const TuneOptions& o) {
  bool ok = std::isfinite(o.min_bucket_bytes) && o.min_bucket_bytes > 0 &&
            std::isfinite(o.max_bucket_bytes) && o.max_bucket_bytes >= 0 &&
            o.points_per_octave >= 1 && o.points_per_octave <= 64 &&
            std::isfinite(o.tie_tolerance) && o.tie_tolerance >= 0 &&
            std::isfinite(o.granularity_bytes) && o.granularity_bytes >= 0;
  for (double c : o.candidates) ok = ok && std::isfinite(c) && c > 0;
  if (!ok) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT,
                  "tuner options: sizes must be > 0, points per octave 1..64, "
                  "tolerance and granularity >= 0");
  }
  return Status();
}

// The alpha-beta view of the gradient curve: its own fit, or a fit of its
// measured points that minimises relative errors (an ordinary fit lets the
// largest sizes decide alpha). Needs two distinct sizes and a positive slope.
bool alpha_beta_of(const CommCurve& curve, double* alpha, double* beta) {
  if (curve.is_alpha_beta()) {
    *alpha = curve.alpha_s();
    *beta = curve.beta_Bps();
    return true;
  }
  double sw = 0, sx = 0, sxx = 0, st = 0, sxt = 0;
  for (const auto& p : curve.points()) {
    double w = 1 / (p.seconds * p.seconds);
    sw += w;
    sx += w * p.bytes;
    sxx += w * p.bytes * p.bytes;
    st += w * p.seconds;
    sxt += w * p.bytes * p.seconds;
  }
  double det = sw * sxx - sx * sx;
  if (curve.points().size() < 2 || !(det > 0)) return false;
  double a = (st * sxx - sx * sxt) / det;
  double slope = (sw * sxt - sx * st) / det;
  if (a < 0) {  // a negative latency is noise: refit through the origin
    a = 0;
    slope = sxt / sxx;
  }
  if (!(slope > 0) || !std::isfinite(slope)) return false;
  *alpha = a;
  *beta = 1 / slope;
  return true;
}

// Among predictions whose exposed time is within the tolerance of the
// lowest, the one with the largest bucket (fewer collectives, less exposed
// to per-bucket costs the profile missed). Exposed, not iteration, time:
// a tolerance on the iteration would swamp a small exposed time.
const StepPrediction& pick(const std::vector<StepPrediction>& preds, double tolerance) {
  double lowest = preds.front().exposed_s;
  for (const auto& p : preds) lowest = std::min(lowest, p.exposed_s);
  const StepPrediction* chosen = nullptr;
  for (const auto& p : preds) {
    if (p.exposed_s <= lowest * (1 + tolerance) &&
        (!chosen || p.bucket_bytes > chosen->bucket_bytes)) {
      chosen = &p;
    }
  }
  return *chosen;
}

// Evaluates sizes between the sweep neighbours of the best candidate
// (`best` among `curve`), appending them to `evaluated`.
Status refine(const StepInputs& in, const CommProfile& profile, const TuneOptions& o,
              const std::vector<StepPrediction>& curve, const StepPrediction& best,
              std::vector<StepPrediction>* evaluated) {
  auto it = std::find_if(curve.begin(), curve.end(), [&](const StepPrediction& p) {
    return p.bucket_bytes == best.bucket_bytes;
  });
  size_t i = static_cast<size_t>(it - curve.begin());
  double lo = curve[i == 0 ? 0 : i - 1].bucket_bytes;
  double hi = curve[std::min(curve.size() - 1, i + 1)].bucket_bytes;
  for (int k = 0; k <= kRefineSteps && hi > lo; ++k) {
    double b = std::exp(std::log(lo) + (std::log(hi) - std::log(lo)) * k / kRefineSteps);
    if (o.granularity_bytes > 0 && b > o.granularity_bytes) {
      b = std::round(b / o.granularity_bytes) * o.granularity_bytes;
    }
    StepPrediction p;
    TIDAL_RETURN_IF_ERROR(predict_step(in, profile, b, &p));
    evaluated->push_back(p);
  }
  return Status();
}

std::string explain(const StepInputs& in, const TuneResult& r) {
  double phi = in.grad_bytes;
  std::string text = fmt::format(
      "Backward produces {} of gradients in {:.1f} ms ({:.2f} GB/s). ", format_bytes(phi),
      in.bwd_s * 1e3, phi / in.bwd_s / 1e9);
  if (r.has_closed_form) {
    const auto& cf = r.closed_form;
    text += fmt::format(
        "An alpha-beta fit of the profile gives {:.2f} GB/s and {:.0f} us per bucket "
        "collective, so moving phi takes at least {:.1f} ms: ", r.fit_beta_Bps / 1e9,
        r.fit_alpha_s * 1e6,
        phi / r.fit_beta_Bps * 1e3);
    if (cf.regime == Regime::kThroughputBound && cf.chain_bytes < 1024) {
      text += fmt::format("communication cannot hide under backward (throughput-bound) and "
                          "the per-bucket latency is too small to matter: at least {:.1f} ms "
                          "stay exposed whatever the size, the rest is the per-bucket costs "
                          "the profile shows at small sizes. ",
                          (phi / r.fit_beta_Bps - in.bwd_s) * 1e3);
    } else if (cf.keep_pace_bytes < 1024) {
      text += "the per-bucket latency is too small to matter, so any size keeps pace and the "
              "exposed time is the tail after the last gradients (and the per-bucket costs "
              "the profile shows at small sizes). ";
    } else if (cf.regime == Regime::kThroughputBound) {
      text += fmt::format("communication cannot hide under backward (throughput-bound); the "
                          "bucket trades per-bucket latency against the wait for the first "
                          "bucket, optimum near phi*sqrt(alpha/T_bwd) = {}. ",
                          format_bytes(cf.chain_bytes));
    } else {
      text += fmt::format("buckets of at least {} keep pace with gradient production, and "
                          "larger ones only lengthen the last bucket's tail ({} regime, "
                          "closed-form optimum {}). ", format_bytes(cf.keep_pace_bytes),
                          regime_name(cf.regime), format_bytes(cf.bucket_bytes));
    }
  }
  text += fmt::format(
      "The event-driven model picks {} ({} gradient buckets): {:.2f} ms exposed, {:.2f} ms "
      "per iteration, against {:.2f} ms exposed with DDP's 25 MiB.",
      format_bytes(r.best.bucket_bytes), r.best.grad_buckets, r.best.exposed_s * 1e3,
      r.best.iteration_s * 1e3, r.ddp_default.exposed_s * 1e3);
  if (in.gather_bytes > 0) {
    text += fmt::format(" Of the exposed time, {:.2f} ms are forward stalls on the ZeRO-3 "
                        "all-gather prefetch (depth {}).", r.best.fwd_exposed_s * 1e3,
                        in.prefetch_depth);
  }
  return text;
}

}  // namespace

std::string format_bytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024 && u < 4) {
    bytes /= 1024;
    ++u;
  }
  if (std::fabs(bytes - std::round(bytes)) < 0.05) return fmt::format("{:.0f} {}", bytes, units[u]);
  return fmt::format("{:.1f} {}", bytes, units[u]);
}

Status candidate_sizes(const StepInputs& in, const TuneOptions& o, std::vector<double>* sizes) {
  TIDAL_RETURN_IF_ERROR(validate_options(o));
  std::vector<double> out = o.candidates;
  if (out.empty()) {
    double hi = o.max_bucket_bytes > 0 ? o.max_bucket_bytes
                                       : std::max(in.grad_bytes, in.gather_bytes);
    // No smaller than the model simulates (kMaxModelBuckets per pass).
    const double floor = std::ceil(std::max(in.grad_bytes, in.gather_bytes) / kMaxModelBuckets);
    double lo = std::min(std::max(o.min_bucket_bytes, floor), hi);
    double step = std::pow(2.0, 1.0 / o.points_per_octave);
    for (double b = lo; b < hi * (1 - 1e-9); b *= step) out.push_back(std::round(b));
    out.push_back(hi);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  *sizes = out;
  return Status();
}

Status tune_bucket_size(const StepInputs& in, const CommProfile& profile, const TuneOptions& o,
                        TuneResult* out) {
  TIDAL_RETURN_IF_ERROR(validate(in, profile));
  std::vector<double> sizes;
  TIDAL_RETURN_IF_ERROR(candidate_sizes(in, o, &sizes));
  TuneResult r;
  for (double b : sizes) {
    StepPrediction p;
    TIDAL_RETURN_IF_ERROR(predict_step(in, profile, b, &p));
    r.curve.push_back(p);
  }
  // Refine around the strict optimum, then apply the tie rule to every
  // size evaluated, so the tolerance is measured from the true lowest.
  std::vector<StepPrediction> evaluated = r.curve;
  if (o.candidates.empty()) {
    TIDAL_RETURN_IF_ERROR(refine(in, profile, o, r.curve, pick(r.curve, 0), &evaluated));
  }
  r.best = pick(evaluated, o.tie_tolerance);
  auto at = std::lower_bound(r.curve.begin(), r.curve.end(), r.best.bucket_bytes,
                             [](const StepPrediction& p, double b) { return p.bucket_bytes < b; });
  if (at == r.curve.end() || at->bucket_bytes != r.best.bucket_bytes) r.curve.insert(at, r.best);
  TIDAL_RETURN_IF_ERROR(predict_step(in, profile, kDdpDefaultBytes, &r.ddp_default));
  const CommCurve* grad_curve = nullptr;
  TIDAL_RETURN_IF_ERROR(profile.curve_for(in.grad_kind, &grad_curve));
  if (alpha_beta_of(*grad_curve, &r.fit_alpha_s, &r.fit_beta_Bps)) {
    r.has_closed_form = closed_form_optimum(r.fit_alpha_s, r.fit_beta_Bps, in.grad_bytes,
                                            in.bwd_s, &r.closed_form).ok();
  }
  r.reasoning = explain(in, r);
  *out = std::move(r);
  return Status();
}

}  // namespace tuning
}  // namespace tidal
