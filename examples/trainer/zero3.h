// zero3.h — ZeRO-3-style sharding of a libtorch model over tidal: every
// call the trainer makes to tidal for gradients, optimizer state and
// parameters, in one place.
//
//   gradients:  a tensor list over per-parameter gradient buffers and a
//               grad reducer; each parameter's autograd hook copies its
//               gradient and calls tidal_grad_ready, so buckets are
//               averaged (reduce-scattered) while backward still runs;
//   optimizer:  AdamW over this rank's flat shard only (the reducer's
//               gradient shard, the gatherer's master-parameter shard: two
//               lists with the same element layout, so they line up);
//   parameters: a param gatherer over the model's own parameter memory
//               all-gathers the updated shards (f32, bf16 or FP8),
//               prefetched in forward order and waited for per layer.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "sharded_adamw.h"
#include "tidal/bucket.h"
#include "tidal/overlap.h"

namespace trainer {

// Throws std::runtime_error with tidal's message when rc is an error.
void check(tidal_status_t rc, const char* what);

struct Zero3Options {
  size_t bucket_bytes = 64 << 10;  // in f32 bytes (gather lists scale it to their dtype)
  int gather_dtype = -1;           // -1 (f32), TIDAL_BF16 or TIDAL_FP8_E4M3
  bool overlap = true;             // reduce buckets during backward (else after it)
  AdamWOptions adamw;
};

class Zero3 {
 public:
  // Collective: every rank constructs it with the same model (same initial
  // weights). `layers`: each layer's parameter index range, forward order.
  Zero3(tidal_comm_t comm, std::vector<torch::Tensor> params,
        std::vector<std::pair<size_t, size_t>> layers, const Zero3Options& options);
  ~Zero3();
  Zero3(const Zero3&) = delete;
  Zero3& operator=(const Zero3&) = delete;

  // Before forward: queue every bucket's gather, in forward order.
  void prefetch_all();
  // Before the layer whose parameters start at index `first`: wait for them.
  void wait_layer(size_t first);
  // After loss.backward(): wait for the gradient shard, step the optimizer
  // on it, and mark the parameters stale (the next forward gathers again).
  void step();
  // Wait for every bucket: the model holds the current parameters.
  void gather_all();

  tidal_bucket_counters_t gradient_counters() const;
  tidal_bucket_counters_t parameter_counters() const;

 private:
  const Zero3Options options_;
  std::vector<torch::Tensor> params_, grads_;
  std::vector<std::pair<size_t, size_t>> layers_, layer_buckets_;
  tidal_tensor_list_t grad_list_ = nullptr, param_list_ = nullptr;
  tidal_grad_reducer_t reducer_ = nullptr;
  tidal_param_gatherer_t gatherer_ = nullptr;
  std::vector<float> master_;  // this rank's shard of the parameters (f32)
  float* grad_shard_ = nullptr;
  size_t buckets_ = 0;
  std::unique_ptr<ShardedAdamW> adamw_;
};

}  // namespace trainer
