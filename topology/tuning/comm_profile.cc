// comm_profile.cc — interpolation of measured bucket times and the
// alpha-beta form.
#include "topology/tuning/comm_profile.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace tidal {
namespace tuning {

const char* comm_kind_name(CommKind kind) {
  switch (kind) {
    case CommKind::kReduceScatter: return "reduce_scatter";
    case CommKind::kAllGather: return "all_gather";
    case CommKind::kAllReduce: return "all_reduce";
  }
  return "unknown";
}

namespace {
bool positive_finite(double v) { return std::isfinite(v) && v > 0; }
}  // namespace

Status CommCurve::add_point(double bytes, double seconds) {
  if (!positive_finite(bytes) || !positive_finite(seconds)) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT,
                  fmt::format("profile point ({} bytes, {} s): both must be positive and "
                              "finite", bytes, seconds));
  }
  auto at = std::lower_bound(points_.begin(), points_.end(), bytes,
                             [](const ProfilePoint& p, double b) { return p.bytes < b; });
  if (at != points_.end() && at->bytes == bytes) {
    at->seconds = seconds;
  } else {
    points_.insert(at, ProfilePoint{bytes, seconds});
  }
  alpha_beta_ = false;
  return Status();
}

Status CommCurve::set_alpha_beta(double alpha_s, double beta_Bps) {
  if (!std::isfinite(alpha_s) || alpha_s < 0 || !positive_finite(beta_Bps)) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT,
                  fmt::format("alpha-beta fit: alpha {} s must be >= 0 and beta {} B/s > 0",
                              alpha_s, beta_Bps));
  }
  alpha_beta_ = true;
  alpha_s_ = alpha_s;
  beta_Bps_ = beta_Bps;
  points_.clear();
  return Status();
}

double CommCurve::seconds(double bytes) const {
  if (alpha_beta_) return alpha_s_ + bytes / beta_Bps_;
  const ProfilePoint& lo = points_.front();
  const ProfilePoint& hi = points_.back();
  if (bytes <= lo.bytes) return lo.seconds;
  if (bytes >= hi.bytes) return hi.seconds * (bytes / hi.bytes);
  auto upper = std::upper_bound(points_.begin(), points_.end(), bytes,
                                [](double b, const ProfilePoint& p) { return b < p.bytes; });
  const ProfilePoint& b = *upper;
  const ProfilePoint& a = *(upper - 1);
  double t = (std::log(bytes) - std::log(a.bytes)) / (std::log(b.bytes) - std::log(a.bytes));
  return std::exp(std::log(a.seconds) + t * (std::log(b.seconds) - std::log(a.seconds)));
}

double CommCurve::peak_bandwidth_Bps() const {
  if (alpha_beta_) return beta_Bps_;
  double best = 0;
  for (const auto& p : points_) best = std::max(best, p.bytes / p.seconds);
  return best;
}

bool CommProfile::empty() const {
  for (const auto& c : curves_) {
    if (!c.empty()) return false;
  }
  return true;
}

Status CommProfile::curve_for(CommKind kind, const CommCurve** out) const {
  const CommCurve& own = curve(kind);
  if (!own.empty()) {
    *out = &own;
    return Status();
  }
  if (kind != CommKind::kAllReduce) {
    CommKind partner =
        kind == CommKind::kReduceScatter ? CommKind::kAllGather : CommKind::kReduceScatter;
    if (!curve(partner).empty()) {
      *out = &curve(partner);
      return Status();
    }
  }
  return Status(TIDAL_ERR_INVALID_ARGUMENT,
                fmt::format("the communication profile has no {} curve (empty profile?)",
                            comm_kind_name(kind)));
}

Status CommProfile::curves_for(CommKind kind, Curves* out) const {
  Curves c;
  TIDAL_RETURN_IF_ERROR(curve_for(kind, &c.queued));
  const CommKind lender = static_cast<CommKind>(c.queued - curves_.data());
  c.alone = alone(lender).empty() ? c.queued : &alone(lender);
  c.pack = pack(lender).empty() ? nullptr : &pack(lender);
  *out = c;
  return Status();
}

}  // namespace tuning
}  // namespace tidal
