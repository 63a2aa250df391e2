// comm_profile.h — T_comm(b): the time of ONE bucket's collective of b bytes
// on a given communicator and schedule, per collective kind. Either a
// measured profile (points interpolated piecewise linearly in log-log
// space) or an alpha-beta fit (alpha + b / beta).
//
// `bytes` follows the cost model's convention (topology/cost/cost_model.h):
// the full bucket, i.e. the input of reduce-scatter, the gathered output of
// all-gather, the buffer of all-reduce.
#pragma once

#include <array>
#include <cstddef>
#include <vector>

#include "lib/core/status.h"

namespace tidal {
namespace tuning {

enum class CommKind { kReduceScatter = 0, kAllGather = 1, kAllReduce = 2 };
constexpr int kNumCommKinds = 3;
const char* comm_kind_name(CommKind kind);

struct ProfilePoint {
  double bytes = 0;
  double seconds = 0;
};

// One collective kind's curve.
class CommCurve {
 public:
  // Adds a measured point (bytes > 0, seconds > 0, finite). A second point
  // at the same size replaces the first.
  Status add_point(double bytes, double seconds);
  // Switches the curve to alpha + bytes / beta (alpha >= 0, beta > 0).
  Status set_alpha_beta(double alpha_s, double beta_Bps);

  bool empty() const { return !alpha_beta_ && points_.empty(); }
  bool is_alpha_beta() const { return alpha_beta_; }
  double alpha_s() const { return alpha_s_; }
  double beta_Bps() const { return beta_Bps_; }
  const std::vector<ProfilePoint>& points() const { return points_; }

  // T_comm(bytes). Measured curves: log-log interpolation between points;
  // below the smallest point the smallest point's time (a latency floor);
  // above the largest, the largest point's bandwidth (time grows linearly).
  // A single point acts as a latency floor up to its size and a bandwidth
  // beyond it. Precondition: !empty() and bytes > 0.
  double seconds(double bytes) const;
  // The sustained bandwidth a stream of large buckets gets: beta for a fit,
  // the best bytes/seconds over the points of a measured curve.
  double peak_bandwidth_Bps() const;

 private:
  bool alpha_beta_ = false;
  double alpha_s_ = 0, beta_Bps_ = 0;
  std::vector<ProfilePoint> points_;  // sorted by bytes
};

// Two curves per collective kind:
//  - queued (`curve`): the time per bucket of a stream of buckets queued
//    back to back, what a bucket costs when the one before it is still
//    running (its pack overlaps that one's collective);
//  - alone (`alone`, optional): the time of one bucket with nothing queued
//    before it, ready to done (its pack, the collective's start-up, the
//    collective): what the last bucket of a step pays after its gradients
//    are ready. Without it the queued curve stands for both.
// and one more, optional, for the gradient kinds:
//  - pack (`pack`): the time the thread that marks gradients ready spends
//    packing a bucket it completes (a host list's grad reducer packs there);
//    later marks wait for it. Without it marking costs nothing.
// A kind without a curve borrows another's (reduce-scatter and all-gather
// move the same bytes on a ring; all-reduce is their sum): see curve_for.
class CommProfile {
 public:
  CommCurve& curve(CommKind kind) { return curves_[static_cast<int>(kind)]; }
  const CommCurve& curve(CommKind kind) const { return curves_[static_cast<int>(kind)]; }
  CommCurve& alone(CommKind kind) { return alone_[static_cast<int>(kind)]; }
  const CommCurve& alone(CommKind kind) const { return alone_[static_cast<int>(kind)]; }
  CommCurve& pack(CommKind kind) { return pack_[static_cast<int>(kind)]; }
  const CommCurve& pack(CommKind kind) const { return pack_[static_cast<int>(kind)]; }
  bool empty() const;
  // The curve to use for `kind`: its own; else for RS/AG the other one of
  // the pair; else none (an error naming the kind).
  Status curve_for(CommKind kind, const CommCurve** out) const;
  // Every curve for `kind`, borrowed from the kind that lends the queued
  // one (curve_for): `alone` is the queued curve where that kind has no
  // alone curve; `pack` is null where it has no pack curve.
  struct Curves {
    const CommCurve* queued = nullptr;
    const CommCurve* alone = nullptr;
    const CommCurve* pack = nullptr;
  };
  Status curves_for(CommKind kind, Curves* out) const;

 private:
  std::array<CommCurve, kNumCommKinds> curves_;
  std::array<CommCurve, kNumCommKinds> alone_;
  std::array<CommCurve, kNumCommKinds> pack_;
};

}  // namespace tuning
}  // namespace tidal
