// param_gatherer.h — the forward overlap hook. prefetch(b) queues the
// all-gather (and fused unpack into the full parameters) of bucket b;
// wait(b) blocks until it is done; the bucket then stays gathered (later
// waits return at once) until release(b) says its full parameters were
// freed, so the next prefetch gathers it again. At most `depth` buckets (and, when set,
// `max_inflight_bytes` bytes — like FSDP's limit_all_gathers) are in flight:
// a prefetch beyond that is deferred and launched, in prefetch order, as
// earlier buckets are waited for. Every rank makes the same calls, and the
// policy depends only on that call sequence, so every rank launches the
// same all-gathers in the same order.
#pragma once

#include <deque>
#include <memory>
#include <mutex>
#include <vector>

#include "collectives/bucketing/tensor_list.h"

namespace tidal {

struct GathererOptions {
  size_t depth = 2;               // buckets in flight at most (>= 1)
  size_t max_inflight_bytes = 0;  // 0 = no byte cap; one bucket always may run
  BucketScales scales;
  int schedule = TIDAL_SCHEDULE_UNSET;
};

class ParamGatherer {
 public:
  // `list` and `shard` (this rank's parameter shards, plan().shard_bytes
  // bytes) must outlive the gatherer.
  static Status create(TensorList& list, const void* shard, const GathererOptions& options,
                       std::unique_ptr<ParamGatherer>* out);
  ~ParamGatherer();

  Status prefetch(size_t bucket);
  // With a CUDA stream, makes that stream wait instead of the host.
  Status wait(size_t bucket, void* stream = nullptr);
  // "About to run the layer made of tensors [first, last]": waits for the
  // buckets holding them, then prefetches the next `depth` buckets.
  Status gather_layer(size_t first_tensor, size_t last_tensor);
  // The bucket's full parameters are stale (resharded): gather it again
  // next time. Fails if it is in flight. release_all: every gathered one.
  Status release(size_t bucket);
  void release_all();

  BucketCounters& counters() { return counters_; }
  void forget_list() { list_alive_ = false; }

 private:
  enum class State : uint8_t { kIdle, kDeferred, kInFlight, kGathered };
  ParamGatherer(TensorList& list, const void* shard, const GathererOptions& options);
  Status check_bucket(size_t bucket) const;
  size_t bucket_bytes(size_t bucket) const;
  bool may_launch_locked(size_t bucket) const;
  Status launch_locked(size_t bucket);
  Status launch_deferred_locked(bool ignore_limits, size_t until);

  TensorList& list_;
  const void* shard_;
  const GathererOptions options_;
  std::mutex mu_;
  std::vector<State> state_;
  std::vector<RequestPtr> request_;
  std::deque<size_t> deferred_;
  size_t inflight_ = 0, inflight_bytes_ = 0;
  BucketCounters counters_;
  bool list_alive_ = true;
};

}  // namespace tidal
