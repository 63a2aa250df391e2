// batch_loader.cc — the prefetching producer thread.
#include "lib/memory/batch_loader.h"

#include <utility>

namespace tidal {

BatchLoader::BatchLoader(PinnedPool* pool, size_t batch_bytes, int depth, uint64_t batch_count,
                         BatchFill fill)
    : pool_(pool),
      batch_bytes_(batch_bytes),
      depth_(depth < 1 ? 1 : static_cast<size_t>(depth)),
      batch_count_(batch_count),
      fill_(std::move(fill)) {
  thread_ = std::thread([this] { run(); });
}

BatchLoader::~BatchLoader() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
  for (StagedBatch& b : ready_) pool_->release(b.data);
}

void BatchLoader::run() {
  for (uint64_t index = 0; batch_count_ == 0 || index < batch_count_; ++index) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      changed_.wait(lock, [this] { return stopping_ || ready_.size() < depth_; });
      if (stopping_) break;
    }
    void* buffer = nullptr;
    Status s = pool_->allocate(batch_bytes_, &buffer);
    if (s.ok()) {
      s = fill_(index, buffer, batch_bytes_);
      if (!s.ok()) pool_->release(buffer);
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (!s.ok()) {
      error_ = s.with_context("batch loader");
      break;
    }
    ready_.push_back(StagedBatch{buffer, batch_bytes_, index});
    changed_.notify_all();
  }
  std::lock_guard<std::mutex> lock(mu_);
  finished_ = true;
  changed_.notify_all();
}

Status BatchLoader::next(StagedBatch* out) {
  std::unique_lock<std::mutex> lock(mu_);
  changed_.wait(lock, [this] { return !ready_.empty() || finished_; });
  if (!ready_.empty()) {
    *out = ready_.front();
    ready_.pop_front();
    changed_.notify_all();
    return Status();
  }
  *out = StagedBatch();
  return error_;
}

}  // namespace tidal
