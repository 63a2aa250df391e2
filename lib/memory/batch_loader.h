// batch_loader.h — stages data-loader batches through a PinnedPool with a
// prefetch depth: a background thread fills up to `depth` batches ahead,
// the training loop takes them in order and hands each back with the fence
// (or CUDA stream) of the copy that reads it. Once the pool has as many
// blocks as batches in flight, no step calls the host allocator.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "lib/core/status.h"
#include "lib/memory/pinned_pool.h"

namespace tidal {

// Fills batch `index` into `buffer` (`bytes` long); a failed Status stops
// the loader and is returned by the next next().
using BatchFill = std::function<Status(uint64_t index, void* buffer, size_t bytes)>;

struct StagedBatch {
  void* data = nullptr;  // nullptr once every batch was delivered
  size_t bytes = 0;
  uint64_t index = 0;
};

class BatchLoader {
 public:
  // `pool` must outlive the loader. batch_count 0 means endless.
  BatchLoader(PinnedPool* pool, size_t batch_bytes, int depth, uint64_t batch_count, BatchFill fill);
  ~BatchLoader();  // stops the thread; undelivered batches go back to the pool
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  // Blocks until the next batch is filled. At the end, out->data is nullptr.
  Status next(StagedBatch* out);

 private:
  void run();

  PinnedPool* pool_;
  size_t batch_bytes_;
  size_t depth_;
  uint64_t batch_count_;
  BatchFill fill_;
  std::mutex mu_;
  std::condition_variable changed_;
  std::deque<StagedBatch> ready_;
  Status error_;
  bool finished_ = false;  // the producer has stopped (end or error)
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace tidal
