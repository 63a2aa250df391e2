// host_allocation.h — page-aligned host memory that the GPU can DMA from:
// cudaHostAlloc when tidal is built with CUDA and a device is usable, else
// an anonymous mapping, optionally locked with mlock. Every call is counted
// so tests can assert that a steady state makes none.
#pragma once

#include <cstddef>
#include <cstdint>

#include "lib/core/status.h"

namespace tidal {

struct HostAllocation {
  void* ptr = nullptr;
  size_t bytes = 0;
  bool cuda_pinned = false;  // from cudaHostAlloc
  bool locked = false;       // mlock succeeded
};

// Allocates `bytes` (rounded up to a page). `want_cuda`: use cudaHostAlloc
// when a device is usable. `lock`: mlock the pages (a failure, e.g. over
// RLIMIT_MEMLOCK, is logged once and the memory stays unlocked).
// TIDAL_ERR_NO_MEMORY when the system refuses.
Status allocate_host(size_t bytes, bool want_cuda, bool lock, HostAllocation* out);
void free_host(HostAllocation* allocation);

// Number of allocate_host calls that succeeded in this process.
uint64_t host_allocation_count();

}  // namespace tidal
