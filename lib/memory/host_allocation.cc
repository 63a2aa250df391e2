// host_allocation.cc — cudaHostAlloc or mmap (+ mlock).
#include "lib/memory/host_allocation.h"

#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "lib/core/log.h"
#include "lib/core/memory_kind.h"
#include "tidal/version.h"

#if TIDAL_HAVE_CUDA
#include <cuda_runtime_api.h>
#endif

namespace tidal {

namespace {
std::atomic<uint64_t> g_allocations{0};

size_t round_to_page(size_t bytes) {
  size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return (bytes + page - 1) / page * page;
}
}  // namespace

uint64_t host_allocation_count() { return g_allocations.load(); }

Status allocate_host(size_t bytes, bool want_cuda, bool lock, HostAllocation* out) {
  *out = HostAllocation();
  if (bytes == 0) return Status(TIDAL_ERR_INVALID_ARGUMENT, "allocate_host: zero bytes");
  size_t rounded = round_to_page(bytes);
#if TIDAL_HAVE_CUDA
  if (want_cuda && cuda_device_usable(nullptr)) {
    void* p = nullptr;
    cudaError_t e = cudaHostAlloc(&p, rounded, cudaHostAllocDefault);
    if (e != cudaSuccess) {
      cudaGetLastError();
      return Status(TIDAL_ERR_NO_MEMORY, fmt::format("cudaHostAlloc of {} bytes: {}", rounded,
                                                     cudaGetErrorString(e)));
    }
    *out = HostAllocation{p, rounded, true, true};
    g_allocations.fetch_add(1);
    return Status();
  }
#else
  (void)want_cuda;
#endif
  // MAP_POPULATE faults the pages in now, so "preallocated" memory costs
  // no page faults on the first batch or the first checkpoint.
  void* p = mmap(nullptr, rounded, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (p == MAP_FAILED)
    return Status(TIDAL_ERR_NO_MEMORY, fmt::format("mmap of {} bytes: {}", rounded, strerror(errno)));
  bool locked = false;
  if (lock) {
    locked = mlock(p, rounded) == 0;
    static std::atomic<bool> warned{false};
    if (!locked && !warned.exchange(true))
      log_warn(-1, "mlock of {} bytes failed ({}); host memory stays pageable", rounded, strerror(errno));
  }
  *out = HostAllocation{p, rounded, false, locked};
  g_allocations.fetch_add(1);
  return Status();
}

void free_host(HostAllocation* allocation) {
  if (!allocation->ptr) return;
#if TIDAL_HAVE_CUDA
  if (allocation->cuda_pinned) {
    cudaFreeHost(allocation->ptr);
    *allocation = HostAllocation();
    return;
  }
#endif
  if (allocation->locked) munlock(allocation->ptr, allocation->bytes);
  munmap(allocation->ptr, allocation->bytes);
  *allocation = HostAllocation();
}

}  // namespace tidal
