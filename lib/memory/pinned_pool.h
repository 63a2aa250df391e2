// pinned_pool.h — a preallocated pool of pinned (or page-aligned) host
// buffers for data loading and staging. Requests round up to size classes
// four per power of two, so a block wastes at most 25% of its request
// (never the 2x of power-of-two rounding). A released buffer is reused only
// after the fence recorded for its last reader has completed: a CPU fence
// the reader signals, or a CUDA event recorded on the copying stream.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "lib/core/status.h"
#include "lib/memory/host_allocation.h"

namespace tidal {

// The block size serving a request of `bytes`: bytes <= 256 take 256; else
// the request rounded up to a quarter of its power of two (<= 1.25x).
size_t pinned_size_class(size_t bytes);

// A one-shot CPU fence: the reader of a buffer signals it when done.
class CpuFence {
 public:
  void signal() { signaled_.store(true, std::memory_order_release); }
  bool signaled() const { return signaled_.load(std::memory_order_acquire); }

 private:
  std::atomic<bool> signaled_{false};
};

struct PinnedPoolConfig {
  size_t preallocate_bytes = 64u << 20;  // reserved at creation
  size_t growth_bytes = 64u << 20;       // each later reservation (0: no growth)
  bool use_cuda = true;                  // cudaHostAlloc when a device is usable
  bool lock_memory = false;              // mlock plain host memory
};

struct PinnedPoolCounters {
  uint64_t hits = 0;              // served from a cached block
  uint64_t misses = 0;            // needed a new block carved from the reserve
  uint64_t host_allocations = 0;  // reservations made (creation included)
  uint64_t fence_waits = 0;       // blocks found still fenced when polled
  uint64_t bytes_in_use = 0;      // block bytes handed out now
  uint64_t requested_in_use = 0;  // requested bytes handed out now
  uint64_t high_water = 0;        // max bytes_in_use
  uint64_t bytes_reserved = 0;    // all reservations
  uint64_t bytes_carved = 0;      // reserved bytes turned into blocks
  uint64_t pending_blocks = 0;    // released, waiting for their fence
};

class PinnedPool {
 public:
  static Status create(const PinnedPoolConfig& config, std::unique_ptr<PinnedPool>* out);
  ~PinnedPool();
  PinnedPool(const PinnedPool&) = delete;
  PinnedPool& operator=(const PinnedPool&) = delete;

  // A block of at least `bytes`, 256-byte aligned. Never blocks.
  // TIDAL_ERR_NO_MEMORY when the reserve is spent and growth is off.
  Status allocate(size_t bytes, void** ptr);
  // The buffer may be reused at once.
  Status release(void* ptr);
  // The buffer is reused only after `fence` is signaled. The pool takes
  // ownership of the fence and deletes it once it has seen it signaled.
  Status release_after_fence(void* ptr, CpuFence* fence);
  // The buffer is reused only after the work queued on `cuda_stream` (a
  // cudaStream_t; nullptr is the legacy default stream) so far completes.
  // TIDAL_ERR_UNSUPPORTED without a usable CUDA device.
  Status release_after_stream(void* ptr, void* cuda_stream);

  // Usable bytes of the block at `ptr`, or 0 if the pool did not hand it out.
  size_t block_bytes(const void* ptr) const;
  PinnedPoolCounters counters() const;
  bool cuda_pinned() const { return cuda_pinned_; }

 private:
  struct Block {
    char* ptr;
    size_t size;
    size_t requested;
  };
  struct Pending {
    Block block;
    CpuFence* fence;  // or
    void* event;      // a cudaEvent_t
  };

  PinnedPool() = default;
  Status reserve(size_t bytes);
  Status carve(size_t size, char** out);
  void poll_pending_locked();
  Status take_in_use_locked(void* ptr, Block* out);
  void hand_out_locked(const Block& block, void** ptr);
  void* acquire_event_locked();

  PinnedPoolConfig config_;
  bool cuda_pinned_ = false;
  mutable std::mutex mu_;
  std::vector<HostAllocation> reserves_;
  char* bump_ = nullptr;  // next free byte of the newest reserve
  char* bump_end_ = nullptr;
  std::map<size_t, std::vector<char*>> free_by_size_;
  std::unordered_map<const void*, Block> in_use_;
  std::deque<Pending> pending_;
  std::vector<void*> idle_events_;
  PinnedPoolCounters counters_;
};

}  // namespace tidal
