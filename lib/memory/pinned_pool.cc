// pinned_pool.cc — size classes, bump carving from reserves, per-class free
// lists, and fenced release.
#include "lib/memory/pinned_pool.h"

#include <fmt/format.h>

#include "lib/core/memory_kind.h"
#include "tidal/version.h"

#if TIDAL_HAVE_CUDA
#include <cuda_runtime_api.h>
#endif

namespace tidal {

namespace {
constexpr size_t kMinBlock = 256;
constexpr size_t kAlignment = 256;

size_t align_up(size_t v, size_t a) { return (v + a - 1) / a * a; }
}  // namespace

size_t pinned_size_class(size_t bytes) {
  if (bytes <= kMinBlock) return kMinBlock;
  size_t base = size_t(1) << (63 - __builtin_clzll(static_cast<unsigned long long>(bytes)));
  size_t step = base / 4;
  return align_up(bytes, step);
}

Status PinnedPool::create(const PinnedPoolConfig& config, std::unique_ptr<PinnedPool>* out) {
  std::unique_ptr<PinnedPool> pool(new PinnedPool());
  pool->config_ = config;
  pool->cuda_pinned_ = config.use_cuda && cuda_device_usable(nullptr);
  if (config.preallocate_bytes > 0) TIDAL_RETURN_IF_ERROR(pool->reserve(config.preallocate_bytes));
  *out = std::move(pool);
  return Status();
}

PinnedPool::~PinnedPool() {
  for (Pending& p : pending_) delete p.fence;
#if TIDAL_HAVE_CUDA
  for (Pending& p : pending_)
    if (p.event) cudaEventDestroy(static_cast<cudaEvent_t>(p.event));
  for (void* e : idle_events_) cudaEventDestroy(static_cast<cudaEvent_t>(e));
#endif
  for (HostAllocation& r : reserves_) free_host(&r);
}

Status PinnedPool::reserve(size_t bytes) {
  HostAllocation a;
  TIDAL_RETURN_IF_ERROR(allocate_host(bytes, cuda_pinned_, config_.lock_memory, &a));
  reserves_.push_back(a);
  bump_ = static_cast<char*>(a.ptr);
  bump_end_ = bump_ + a.bytes;
  counters_.host_allocations++;
  counters_.bytes_reserved += a.bytes;
  return Status();
}

// Carves `size` bytes from the newest reserve, growing when allowed. The
// tail of an outgrown reserve is abandoned (bounded by one block).
Status PinnedPool::carve(size_t size, char** out) {
  if (static_cast<size_t>(bump_end_ - bump_) < size) {
    if (config_.growth_bytes == 0)
      return Status(TIDAL_ERR_NO_MEMORY,
                    fmt::format("pinned pool: {} bytes reserved, {} in use; no room for a {}-byte "
                                "block and growth is off",
                                counters_.bytes_reserved, counters_.bytes_in_use, size));
    TIDAL_RETURN_IF_ERROR(reserve(std::max(size, config_.growth_bytes)));
  }
  *out = bump_;
  bump_ += size;
  counters_.bytes_carved += size;
  return Status();
}

void PinnedPool::poll_pending_locked() {
  for (auto it = pending_.begin(); it != pending_.end();) {
    bool done = false;
    if (it->fence) {
      done = it->fence->signaled();
      if (done) delete it->fence;
    }
#if TIDAL_HAVE_CUDA
    if (it->event) {
      cudaError_t e = cudaEventQuery(static_cast<cudaEvent_t>(it->event));
      done = e != cudaErrorNotReady;  // an error also ends the wait: nothing will signal later
      if (e != cudaSuccess && e != cudaErrorNotReady) cudaGetLastError();
      if (done) idle_events_.push_back(it->event);
    }
#endif
    if (!done) {
      counters_.fence_waits++;
      ++it;
      continue;
    }
    free_by_size_[it->block.size].push_back(it->block.ptr);
    it = pending_.erase(it);
  }
  counters_.pending_blocks = pending_.size();
}

void PinnedPool::hand_out_locked(const Block& block, void** ptr) {
  in_use_[block.ptr] = block;
  counters_.bytes_in_use += block.size;
  counters_.requested_in_use += block.requested;
  counters_.high_water = std::max(counters_.high_water, counters_.bytes_in_use);
  *ptr = block.ptr;
}

Status PinnedPool::allocate(size_t bytes, void** ptr) {
  if (!ptr) return Status(TIDAL_ERR_INVALID_ARGUMENT, "pinned pool: ptr is NULL");
  if (bytes == 0) return Status(TIDAL_ERR_INVALID_ARGUMENT, "pinned pool: zero-byte allocation");
  if (bytes > (size_t(1) << 50))
    return Status(TIDAL_ERR_INVALID_ARGUMENT, fmt::format("pinned pool: {} bytes is too large", bytes));
  size_t size = align_up(pinned_size_class(bytes), kAlignment);
  std::lock_guard<std::mutex> lock(mu_);
  if (!pending_.empty()) poll_pending_locked();
  auto& cached = free_by_size_[size];
  if (!cached.empty()) {
    Block block{cached.back(), size, bytes};
    cached.pop_back();
    counters_.hits++;
    hand_out_locked(block, ptr);
    return Status();
  }
  char* fresh = nullptr;
  TIDAL_RETURN_IF_ERROR(carve(size, &fresh));
  counters_.misses++;
  hand_out_locked(Block{fresh, size, bytes}, ptr);
  return Status();
}

Status PinnedPool::take_in_use_locked(void* ptr, Block* out) {
  auto it = in_use_.find(ptr);
  if (it == in_use_.end())
    return Status(TIDAL_ERR_INVALID_ARGUMENT,
                  fmt::format("pinned pool: {} was not allocated by this pool or is already released", ptr));
  *out = it->second;
  in_use_.erase(it);
  counters_.bytes_in_use -= out->size;
  counters_.requested_in_use -= out->requested;
  return Status();
}

Status PinnedPool::release(void* ptr) {
  std::lock_guard<std::mutex> lock(mu_);
  Block block;
  TIDAL_RETURN_IF_ERROR(take_in_use_locked(ptr, &block));
  free_by_size_[block.size].push_back(block.ptr);
  return Status();
}

Status PinnedPool::release_after_fence(void* ptr, CpuFence* fence) {
  if (!fence) return Status(TIDAL_ERR_INVALID_ARGUMENT, "pinned pool: fence is NULL");
  std::lock_guard<std::mutex> lock(mu_);
  Block block;
  TIDAL_RETURN_IF_ERROR(take_in_use_locked(ptr, &block));
  pending_.push_back(Pending{block, fence, nullptr});
  counters_.pending_blocks = pending_.size();
  return Status();
}

void* PinnedPool::acquire_event_locked() {
#if TIDAL_HAVE_CUDA
  if (!idle_events_.empty()) {
    void* e = idle_events_.back();
    idle_events_.pop_back();
    return e;
  }
  cudaEvent_t e = nullptr;
  if (cudaEventCreateWithFlags(&e, cudaEventDisableTiming) != cudaSuccess) {
    cudaGetLastError();
    return nullptr;
  }
  return e;
#else
  return nullptr;
#endif
}

Status PinnedPool::release_after_stream(void* ptr, void* cuda_stream) {
  std::string why;
  if (!cuda_device_usable(&why))
    return Status(TIDAL_ERR_UNSUPPORTED, "pinned pool: stream-ordered release needs CUDA: " + why);
#if TIDAL_HAVE_CUDA
  std::lock_guard<std::mutex> lock(mu_);
  if (!in_use_.count(ptr))
    return Status(TIDAL_ERR_INVALID_ARGUMENT, fmt::format("pinned pool: {} is not in use", ptr));
  void* event = acquire_event_locked();
  if (!event) return Status(TIDAL_ERR_TRANSPORT, "pinned pool: cudaEventCreate failed");
  cudaError_t e = cudaEventRecord(static_cast<cudaEvent_t>(event), static_cast<cudaStream_t>(cuda_stream));
  if (e != cudaSuccess) {
    cudaGetLastError();
    idle_events_.push_back(event);
    return Status(TIDAL_ERR_INVALID_ARGUMENT,
                  std::string("pinned pool: cudaEventRecord on the stream failed: ") + cudaGetErrorString(e));
  }
  Block block;
  TIDAL_RETURN_IF_ERROR(take_in_use_locked(ptr, &block));
  pending_.push_back(Pending{block, nullptr, event});
  counters_.pending_blocks = pending_.size();
  return Status();
#else
  (void)ptr;
  (void)cuda_stream;
  return Status(TIDAL_ERR_UNSUPPORTED, "pinned pool: built without CUDA");
#endif
}

size_t PinnedPool::block_bytes(const void* ptr) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = in_use_.find(ptr);
  return it == in_use_.end() ? 0 : it->second.size;
}

PinnedPoolCounters PinnedPool::counters() const {
  std::lock_guard<std::mutex> lock(mu_);
  return counters_;
}

}  // namespace tidal
