// bucket_model.cc — the event-driven step simulation.
#include "topology/tuning/bucket_model.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include <fmt/format.h>

namespace tidal {
namespace tuning {

namespace {

bool finite_at_least(double v, double low) { return std::isfinite(v) && v >= low; }

Status invalid(const std::string& message) {
  return Status(TIDAL_ERR_INVALID_ARGUMENT, message);
}

Status validate_layers(const std::vector<GradLayer>& layers) {
  double bytes = 0, seconds = 0;
  for (size_t i = 0; i < layers.size(); ++i) {
    if (!finite_at_least(layers[i].bytes, 0) || !finite_at_least(layers[i].seconds, 0)) {
      return invalid(fmt::format("gradient layer {}: bytes and seconds must be >= 0", i));
    }
    bytes += layers[i].bytes;
    seconds += layers[i].seconds;
  }
  if (!layers.empty() && (bytes <= 0 || seconds <= 0)) {
    return invalid("gradient production profile: total bytes and seconds must be > 0");
  }
  return Status();
}

// The link: admits a collective when fewer than `max_inflight` run, and
// never moves bytes faster than its peak bandwidth (overlapped collectives
// hide each other's latency, not each other's transfer). A bucket launched
// on an idle link takes the alone time from its launch; one queued behind
// another takes the queued time from the admitting end, whichever is later
// (a two-stage pipeline, pack then collective: exact when both stages keep
// their times).
class LinkModel {
 public:
  LinkModel(const CommCurve& queued, const CommCurve& alone, int max_inflight)
      : queued_(queued), alone_(alone), peak_Bps_(queued.peak_bandwidth_Bps()),
        max_inflight_(static_cast<size_t>(max_inflight)) {}

  // Queues a collective of `bytes` launched at `launch`; returns its end,
  // which is no earlier than `not_before`.
  double run(double launch, double bytes, double not_before = 0) {
    const double own = queued_.seconds(bytes);
    double end = std::max(not_before, launch + std::max(own, alone_.seconds(bytes)));
    if (ends_.size() >= max_inflight_) {
      end = std::max(end, ends_[ends_.size() - max_inflight_] + own);
    }
    if (!ends_.empty()) end = std::max(end, ends_.back() + bytes / peak_Bps_);
    ends_.push_back(end);
    busy_s_ += own;
    return end;
  }
  double busy_s() const { return busy_s_; }

 private:
  const CommCurve& queued_;
  const CommCurve& alone_;
  double peak_Bps_;
  size_t max_inflight_;
  std::vector<double> ends_;
  double busy_s_ = 0;
};

// When the gradient byte at offset `end_offset` has been produced.
class GradProduction {
 public:
  explicit GradProduction(const StepInputs& in) : in_(in) {
    double bytes = 0, seconds = 0;
    for (const auto& l : in.grad_layers) {
      bytes += l.bytes;
      seconds += l.seconds;
    }
    byte_scale_ = bytes > 0 ? in.grad_bytes / bytes : 0;
    time_scale_ = seconds > 0 ? in.bwd_s / seconds : 0;
  }
  double ready_at(double end_offset) {
    if (in_.grad_layers.empty()) return in_.bwd_s * std::min(1.0, end_offset / in_.grad_bytes);
    const double tolerance = 1e-9 * in_.grad_bytes;
    while (layer_ < in_.grad_layers.size() &&
           produced_bytes_ + tolerance < end_offset) {
      produced_bytes_ += in_.grad_layers[layer_].bytes * byte_scale_;
      elapsed_s_ += in_.grad_layers[layer_].seconds * time_scale_;
      ++layer_;
    }
    return layer_ == in_.grad_layers.size() ? in_.bwd_s : elapsed_s_;
  }

 private:
  const StepInputs& in_;
  double byte_scale_ = 0, time_scale_ = 0;
  size_t layer_ = 0;
  double produced_bytes_ = 0, elapsed_s_ = 0;
};

// The layers' bytes in the order buckets are cut: backward order for the
// gradients, registration order for the forward's gathers.
std::vector<double> layer_bytes(const StepInputs& in, bool forward) {
  std::vector<double> bytes;
  for (const GradLayer& l : in.grad_layers) bytes.push_back(l.bytes);
  if (forward) std::reverse(bytes.begin(), bytes.end());
  return bytes;
}

// The marking thread packs each bucket whose last gradient it marks (a
// host list's grad reducer); the marks after it wait until it is done.
double simulate_backward(const StepInputs& in, const CommProfile::Curves& curves, double b,
                         StepPrediction* out) {
  LinkModel link(*curves.queued, *curves.alone, in.max_inflight);
  GradProduction production(in);
  std::vector<double> sizes =
      bucket_sizes(in.grad_bytes, b, in.first_bucket_bytes, layer_bytes(in, false));
  double offset = 0, last_end = 0, marker_free = 0;
  for (double size : sizes) {
    offset += size;
    const double ready = std::max(production.ready_at(offset), marker_free);
    marker_free = ready + (curves.pack ? curves.pack->seconds(size) : 0.0);
    last_end = link.run(ready, size, marker_free);
  }
  out->grad_buckets = sizes.size();
  out->comm_busy_s += link.busy_s();
  return std::max(0.0, last_end - in.bwd_s);
}

// Forward with prefetch: returns the compute's total stall time.
double simulate_forward(const StepInputs& in, const CommProfile::Curves& curves, double b,
                        StepPrediction* out) {
  LinkModel link(*curves.queued, *curves.alone, in.max_inflight);
  std::vector<double> sizes =
      bucket_sizes(in.gather_bytes, b, in.first_bucket_bytes, layer_bytes(in, true));
  const size_t n = sizes.size(), depth = static_cast<size_t>(in.prefetch_depth);
  std::vector<double> acquired(n, 0.0), ends(n, 0.0);
  size_t launched = 0;
  double compute_at = 0;  // when the compute reaches bucket j
  for (size_t j = 0; j < n; ++j) {
    // The gatherer's layer helper: bucket 0 is gathered on demand; once
    // bucket j-1 is acquired, buckets up to j-1+depth are prefetched.
    // Without prefetch (depth 0) bucket j is gathered when it is needed.
    size_t window_end = depth == 0 || j == 0 ? j + 1 : std::min(n, j + depth);
    double launch_at = depth == 0 || j == 0 ? compute_at : acquired[j - 1];
    for (; launched < window_end; ++launched) ends[launched] = link.run(launch_at, sizes[launched]);
    acquired[j] = std::max(compute_at, ends[j]);
    compute_at = acquired[j] + in.fwd_s * sizes[j] / in.gather_bytes;
  }
  out->gather_buckets = n;
  out->comm_busy_s += link.busy_s();
  return std::max(0.0, compute_at - in.fwd_s);
}

}  // namespace

std::vector<double> bucket_sizes(double total, double bucket_bytes, double first_bucket_bytes,
                                 const std::vector<double>& tensor_bytes) {
  // Where each tensor starts along the cut, scaled so the tensors sum to `total`.
  double listed = 0;
  for (double t : tensor_bytes) listed += t;
  const double scale = listed > 0 ? total / listed : 0;
  std::vector<std::pair<double, double>> starts;  // (start, size)
  double at = 0;
  for (double t : tensor_bytes) {
    starts.emplace_back(at, t * scale);
    at += t * scale;
  }
  const double tolerance = 1e-9 * total;
  std::vector<double> sizes;
  for (double done = 0; total - done > tolerance;) {
    const double lim = sizes.empty() && first_bucket_bytes > 0
                           ? std::min(first_bucket_bytes, bucket_bytes)
                           : bucket_bytes;
    double end = std::min(done + lim, total);
    // The planner's early end: the last tensor starting inside the bucket,
    // if it is at least a bucket and the bucket at least half full.
    auto it = std::partition_point(starts.begin(), starts.end(), [&](const auto& t) {
      return t.first < end - tolerance;
    });
    if (end < total - tolerance && it != starts.begin()) {
      const auto& t = *(it - 1);
      if (t.first > done + tolerance && t.first + t.second > end + tolerance &&
          t.second >= bucket_bytes - tolerance && 2 * (t.first - done) >= lim) {
        end = t.first;
      }
    }
    sizes.push_back(end - done);
    done = end;
  }
  // The planner's balanced tail: a remainder under half a bucket shares
  // the full bucket before it, the last one taking the smaller half.
  const size_t n = sizes.size();
  if (n >= 2 && sizes[n - 2] == bucket_bytes && 2 * sizes[n - 1] < bucket_bytes) {
    const double pair = sizes[n - 2] + sizes[n - 1];
    sizes[n - 2] = sizes[n - 1] = pair / 2;
  }
  return sizes;
}

Status validate(const StepInputs& in, const CommProfile& profile) {
  if (!finite_at_least(in.grad_bytes, 0) || in.grad_bytes <= 0) {
    return invalid(fmt::format("phi (gradient bytes per step) must be > 0, got {}",
                               in.grad_bytes));
  }
  if (!finite_at_least(in.bwd_s, 0) || in.bwd_s <= 0) {
    return invalid(fmt::format("backward time must be > 0 s, got {}", in.bwd_s));
  }
  if (in.grad_bytes > kMaxModelBytes || in.gather_bytes > kMaxModelBytes) {
    return invalid(fmt::format("{} gradient and {} gathered bytes per step are beyond the "
                               "model (at most 256 TiB)", in.grad_bytes, in.gather_bytes));
  }
  if (in.grad_kind == CommKind::kAllGather) {
    return invalid("the gradient collective must be reduce_scatter or all_reduce");
  }
  if (!finite_at_least(in.gather_bytes, 0) || !finite_at_least(in.fwd_s, 0)) {
    return invalid("gather bytes and forward time must be >= 0");
  }
  if (in.gather_bytes > 0 && in.fwd_s <= 0) {
    return invalid("a forward all-gather (ZeRO-3) needs a forward time > 0");
  }
  if (in.prefetch_depth < 0 || in.max_inflight < 1) {
    return invalid(fmt::format("prefetch depth {} must be >= 0 and buckets in flight {} >= 1",
                               in.prefetch_depth, in.max_inflight));
  }
  if (!finite_at_least(in.first_bucket_bytes, 0)) {
    return invalid("the first bucket size must be >= 0");
  }
  TIDAL_RETURN_IF_ERROR(validate_layers(in.grad_layers));
  if (profile.empty()) return invalid("the communication profile is empty");
  const CommCurve* curve = nullptr;
  TIDAL_RETURN_IF_ERROR(profile.curve_for(in.grad_kind, &curve));
  if (in.gather_bytes > 0) TIDAL_RETURN_IF_ERROR(profile.curve_for(CommKind::kAllGather, &curve));
  return Status();
}

Status predict_step(const StepInputs& in, const CommProfile& profile, double bucket_bytes,
                    StepPrediction* out) {
  TIDAL_RETURN_IF_ERROR(validate(in, profile));
  if (!std::isfinite(bucket_bytes) || bucket_bytes <= 0) {
    return invalid(fmt::format("bucket size must be > 0, got {}", bucket_bytes));
  }
  const double buckets = std::ceil(std::max(in.grad_bytes, in.gather_bytes) / bucket_bytes);
  if (buckets > kMaxModelBuckets) {
    return invalid(fmt::format("buckets of {} bytes cut {} bytes into {} buckets; the model "
                               "simulates at most 16M per pass (use larger buckets)",
                               bucket_bytes, std::max(in.grad_bytes, in.gather_bytes), buckets));
  }
  StepPrediction p;
  p.bucket_bytes = bucket_bytes;
  CommProfile::Curves grad;
  TIDAL_RETURN_IF_ERROR(profile.curves_for(in.grad_kind, &grad));
  p.bwd_exposed_s = simulate_backward(in, grad, bucket_bytes, &p);
  if (in.gather_bytes > 0) {
    CommProfile::Curves gather;
    TIDAL_RETURN_IF_ERROR(profile.curves_for(CommKind::kAllGather, &gather));
    p.fwd_exposed_s = simulate_forward(in, gather, bucket_bytes, &p);
  }
  p.exposed_s = p.bwd_exposed_s + p.fwd_exposed_s;
  p.iteration_s = in.fwd_s + in.bwd_s + p.exposed_s;
  *out = p;
  return Status();
}

}  // namespace tuning
}  // namespace tidal
