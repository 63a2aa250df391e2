// refinement_plan.cc — sizes, synthetic backward and summaries for the
// measurements of tidal/tune.h.
#include "topology/tuning/refinement_plan.h"

#include <algorithm>
#include <cmath>

namespace tidal {
namespace tuning {

size_t stream_length(size_t bucket_bytes, size_t stream_bytes) {
  if (stream_bytes == 0) stream_bytes = kDefaultStreamBytes;
  return std::max<size_t>(
      1, std::min<size_t>(kMaxStreamBuckets, stream_bytes / std::max<size_t>(bucket_bytes, 1)));
}

SyntheticBackward synthetic_backward(const StepInputs& in, int num_tensors) {
  std::vector<GradLayer> layers = in.grad_layers;  // backward order
  if (layers.empty()) layers.assign(static_cast<size_t>(std::max(num_tensors, 1)), {1.0, 1.0});
  double bytes = 0, seconds = 0;
  for (const auto& l : layers) {
    bytes += l.bytes;
    seconds += l.seconds;
  }
  SyntheticBackward m;
  double elapsed = 0;
  for (const auto& l : layers) {
    elapsed += seconds > 0 ? l.seconds / seconds * in.bwd_s : 0;
    auto count = static_cast<size_t>(std::llround(l.bytes / bytes * in.grad_bytes / 4));
    if (count == 0) continue;
    m.counts.push_back(count);
    m.ready_s.push_back(elapsed);
  }
  std::reverse(m.counts.begin(), m.counts.end());  // forward order
  std::reverse(m.ready_s.begin(), m.ready_s.end());
  return m;
}

double round_to_granularity(double bytes, double granularity) {
  if (granularity <= 0) return bytes;
  return std::max(granularity, std::round(bytes / granularity) * granularity);
}

std::vector<size_t> refinement_sizes(double pick, double phi, int neighbours,
                                     const std::vector<size_t>& given, double granularity) {
  std::vector<size_t> sizes = given;
  auto tidy = [&sizes] {
    std::sort(sizes.begin(), sizes.end());
    sizes.erase(std::unique(sizes.begin(), sizes.end()), sizes.end());
  };
  if (!sizes.empty()) {
    sizes.push_back(static_cast<size_t>(pick));
    tidy();
    return sizes;
  }
  const double largest = std::max(phi, granularity);
  auto add = [&](double b) {
    sizes.push_back(static_cast<size_t>(round_to_granularity(std::min(largest, b), granularity)));
    tidy();
  };
  for (int k = -neighbours; k <= neighbours; ++k) add(pick * std::ldexp(1.0, k));
  // A pick at the cap (or the floor) would lose the sizes past it: the
  // window slides the other way so 2 * neighbours + 1 sizes are measured
  // wherever that many fit.
  const size_t wanted = static_cast<size_t>(2 * std::max(neighbours, 0) + 1);
  double low = pick * std::ldexp(1.0, -neighbours), high = pick * std::ldexp(1.0, neighbours);
  while (sizes.size() < wanted && low / 2 >= std::max(granularity, 1.0)) add(low /= 2);
  while (sizes.size() < wanted && high * 2 <= largest) add(high *= 2);
  return sizes;
}

std::vector<size_t> auto_profile_sizes(size_t model_bytes) {
  std::vector<size_t> sizes;
  const size_t top = std::min(model_bytes, size_t(256) << 20);
  for (size_t b = size_t(256) << 10; b < top; b *= 4) sizes.push_back(b);
  sizes.push_back(top);
  return sizes;
}

double bandwidth_knee(const std::vector<size_t>& sizes, const std::vector<double>& seconds,
                      double fraction) {
  double peak = 0;
  for (size_t i = 0; i < sizes.size(); ++i) peak = std::max(peak, sizes[i] / seconds[i]);
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (sizes[i] / seconds[i] >= fraction * peak) return double(sizes[i]);
  }
  return double(sizes.back());
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

}  // namespace tuning
}  // namespace tidal
