// refinement_plan.h — the pure parts of measuring: which sizes to time, the
// synthetic backward's gradient tensors and their due times, and how
// repeated timings are summarised. The C API (lib/api/api_tune.cc) runs
// them on a communicator.
#pragma once

#include <cstddef>
#include <vector>

#include "topology/tuning/bucket_model.h"

namespace tidal {
namespace tuning {

// Buckets timed back to back per profile size: the reducer's queue runs a
// stream of buckets, so T_comm(b) is a stream's time per bucket, not one
// isolated call's wake-up latency. The stream covers `stream_bytes` (every
// size moves the same working set; default 64 MiB), at most
// kMaxStreamBuckets buckets.
constexpr size_t kDefaultStreamBytes = size_t(64) << 20;
constexpr size_t kMaxStreamBuckets = 4096;
size_t stream_length(size_t bucket_bytes, size_t stream_bytes = kDefaultStreamBytes);

// The synthetic model a refinement step runs: gradient tensors in forward
// order (element counts of 4-byte floats) and when backward produces each,
// in seconds after backward starts. From the layer profile, else
// `num_tensors` equal tensors produced uniformly. Layers without bytes
// produce no tensor (their time still passes).
struct SyntheticBackward {
  std::vector<size_t> counts;
  std::vector<double> ready_s;
};
SyntheticBackward synthetic_backward(const StepInputs& inputs, int num_tensors);

// Sizes a refinement measures: `given` plus the pick when not empty; else
// pick * 2^k for k in [-neighbours, neighbours], capped at max(phi,
// granularity); where the cap or the granularity swallows some of them,
// the window slides away from it so 2 * neighbours + 1 sizes are measured
// where that many fit. Rounded to the granularity, sorted, unique.
std::vector<size_t> refinement_sizes(double pick, double phi, int neighbours,
                                     const std::vector<size_t>& given, double granularity);

// A multiple of `granularity` (at least one).
double round_to_granularity(double bytes, double granularity);

// The profile `TIDAL_BUCKET_BYTES=auto` measures: 256 KiB, x4 ..., up to
// min(model_bytes, 256 MiB), which is always the last size.
std::vector<size_t> auto_profile_sizes(size_t model_bytes);

// The smallest size whose bandwidth bytes/seconds reaches `fraction` of
// the best (sizes ascending, same length as seconds, not empty).
double bandwidth_knee(const std::vector<size_t>& sizes, const std::vector<double>& seconds,
                      double fraction);

// The median (the mean of the middle two for an even count); 0 when empty.
double median(std::vector<double> values);

}  // namespace tuning
}  // namespace tidal
