// grad_reducer.h — the backward overlap hook. The framework marks each
// gradient ready as backward produces it (any thread, any order); when a
// bucket's every tensor is ready, its pack + reduce-scatter (or, ZeRO-1,
// all-reduce) is queued at once, so communication runs under the rest of
// backward. wait() ends the step.
//
// Collective order: buckets are launched strictly in plan order on every
// rank. A bucket that completes early (its gradients arrived out of the
// planned order on this rank) is held until every earlier bucket has been
// launched. Ranks whose arrival orders differ therefore still issue the same
// collectives in the same sequence — only the moment of launch differs.
//
// Where packing runs: on host memory (not zero-copy) the thread whose
// mark_ready completes a bucket packs it at once, outside the lock, before
// the bucket joins the launch queue — so packing bucket k+1 overlaps the
// collective of bucket k on the progress thread. A step falls back to packs
// on the progress thread (ordered after earlier work) when the list still
// has queued work from before the step, and when the options ask for it.
// Device lists always pack with a kernel on the communication stream.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include "collectives/bucketing/tensor_list.h"

namespace tidal {

struct ReducerOptions {
  bool all_reduce = false;  // ZeRO-1 / DDP: all-reduce instead of reduce-scatter
  tidal_op_t op = TIDAL_SUM;
  BucketScales scales;
  int schedule = TIDAL_SCHEDULE_UNSET;
  bool pack_on_marking_thread = true;  // host lists only; see above
};

class GradReducer {
 public:
  // `list` must outlive the reducer. Allocates the flat shard buffer.
  static Status create(TensorList& list, const ReducerOptions& options,
                       std::unique_ptr<GradReducer>* out);
  ~GradReducer();

  // Thread-safe. Errors: index out of range, marked twice in one step.
  Status mark_ready(size_t tensor);
  // Takes effect at the start of the next step (or now, between steps).
  Status set_sync(bool sync);
  // Ends the step: waits for every launched bucket. Fails (without
  // blocking or ending the step) when some gradient was not marked. With a
  // CUDA stream, makes that stream wait instead of the host (host
  // communicators always wait on the host).
  Status wait(void* stream = nullptr);

  void* shard() const { return shard_; }
  size_t shard_bytes() const { return list_.plan().shard_bytes; }
  BucketCounters& counters() { return counters_; }
  // The list (or its communicator) is gone: free without draining.
  void forget_list() { list_alive_ = false; }

 private:
  GradReducer(TensorList& list, const ReducerOptions& options);
  void reset_step_locked();
  void start_step_locked();
  Status launch_ready_buckets_locked();

  TensorList& list_;
  const ReducerOptions options_;
  void* shard_ = nullptr;
  std::mutex mu_;
  std::vector<uint8_t> ready_;         // per tensor, this step
  std::condition_variable packs_done_;
  std::vector<size_t> pending_;        // per bucket: tensors not yet ready (or packing)
  std::vector<size_t> tensors_in_;     // per bucket: distinct tensors
  // Per tensor, the buckets holding it. Not a range: with several dtypes,
  // other groups' buckets sit between a split tensor's buckets.
  std::vector<std::vector<size_t>> buckets_of_;
  size_t marked_ = 0;
  size_t next_launch_ = 0;
  size_t packing_ = 0;          // packs running on marking threads
  bool pack_now_ = false;       // this step packs on the marking threads
  std::vector<char> direct_;    // per bucket: its collective runs in place, no pack
  bool sync_ = true, next_sync_ = true, step_started_ = false;
  Status launch_error_;
  RequestPtr last_;
  BucketCounters counters_;
  const bool device_;
  bool list_alive_ = true;
};

}  // namespace tidal
