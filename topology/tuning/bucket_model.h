// bucket_model.h — the event-driven model of one training step's exposed
// communication as a function of the bucket size (docs/tuning.md).
//
// Backward produces phi_grad bytes of gradients over T_bwd (uniformly, or
// following a per-layer production profile). They are cut into buckets of
// b bytes (an optional smaller first bucket); a bucket's collective is
// queued when its last byte is produced, and starts when the link admits
// it (at most `max_inflight` bucket collectives at once, and the link moves
// at most its peak bandwidth). Exposed backward time = end of the last
// bucket's collective - end of backward.
//
// ZeRO-3 adds the forward all-gather of phi_gather bytes with prefetch:
// bucket j is launched when bucket j - depth was acquired by the compute,
// and compute stalls until the bucket it needs has landed.
//
// Iteration time = T_fwd + forward stalls + T_bwd + exposed backward time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "lib/core/status.h"
#include "topology/tuning/comm_profile.h"

namespace tidal {
namespace tuning {

// One layer of backward, in backward order: after `seconds` of compute it
// has produced `bytes` of gradients. Only the shape matters: the layers'
// seconds are scaled to sum to T_bwd and their bytes to phi_grad.
struct GradLayer {
  double bytes = 0;
  double seconds = 0;
};

struct StepInputs {
  double grad_bytes = 0;                // phi of the backward collective (> 0)
  CommKind grad_kind = CommKind::kReduceScatter;  // or kAllReduce (ZeRO-1/DDP)
  double bwd_s = 0;                     // backward compute of one step (> 0)
  std::vector<GradLayer> grad_layers;   // empty: uniform production
  double gather_bytes = 0;              // ZeRO-3 forward all-gather phi (0: none)
  double fwd_s = 0;                     // forward compute (>= 0; > 0 with a gather)
  int prefetch_depth = 1;               // forward buckets gathered ahead (>= 0)
  int max_inflight = 1;                 // bucket collectives the link overlaps (>= 1)
  double first_bucket_bytes = 0;        // 0: every bucket is b bytes
};

// Checks the inputs, and that `profile` has the curves they need.
Status validate(const StepInputs& inputs, const CommProfile& profile);

// What the model simulates at most: phi and the gathered bytes (256 TiB per
// step, a 64-trillion-parameter f32 model), and buckets per pass (16M).
constexpr double kMaxModelBytes = double(uint64_t(1) << 48);
constexpr double kMaxModelBuckets = double(1 << 24);

struct StepPrediction {
  double bucket_bytes = 0;
  size_t grad_buckets = 0;
  size_t gather_buckets = 0;
  double bwd_exposed_s = 0;    // end of last gradient bucket - end of backward
  double fwd_exposed_s = 0;    // forward stalls waiting for gathers
  double exposed_s = 0;        // the sum
  double iteration_s = 0;      // fwd + bwd + exposed
  double comm_busy_s = 0;      // sum of the bucket collectives' own times
};

// Predicts one step with buckets of `bucket_bytes` (> 0). Validates first.
Status predict_step(const StepInputs& inputs, const CommProfile& profile,
                    double bucket_bytes, StepPrediction* out);

// The bucket sizes of a list of `total` bytes: a first bucket of
// min(first, b, total) when first > 0, then buckets of b, the last one the
// remainder — or, when that remainder is under b/2 and follows a full
// bucket, the two sharing their bytes equally (the planner's balanced tail).
// Given the tensors (or layers) in cutting order (`tensor_bytes`, scaled to
// sum to `total`), a bucket at least half full ends where a tensor of at
// least b starts rather than take its first bytes, as the planner does.
std::vector<double> bucket_sizes(double total, double bucket_bytes, double first_bucket_bytes,
                                 const std::vector<double>& tensor_bytes = {});

}  // namespace tuning
}  // namespace tidal
