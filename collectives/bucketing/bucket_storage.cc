#include "collectives/bucketing/bucket_storage.h"

#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "tidal/version.h"

#if TIDAL_HAVE_CUDA
#include "collectives/kernels/cuda/pack_kernel_cuda.h"
#endif

namespace tidal {

Status alloc_bucket_storage(bool device, size_t bytes, void** out) {
  if (device) {
#if TIDAL_HAVE_CUDA
    return cuda_alloc_zeroed(bytes, out);
#else
    return Status(TIDAL_ERR_UNSUPPORTED, "device buckets in a build without CUDA");
#endif
  }
  // 64-byte aligned so every shard (a 16-byte multiple) can use vector loads.
  const size_t rounded = (bytes + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, rounded ? rounded : 64);
  if (!p) return Status(TIDAL_ERR_NO_MEMORY, fmt::format("bucket storage of {} bytes", bytes));
  std::memset(p, 0, rounded);
  *out = p;
  return Status();
}

void free_bucket_storage(bool device, void* ptr) {
  if (!ptr) return;
#if TIDAL_HAVE_CUDA
  if (device) return cuda_free(ptr);
#endif
  (void)device;
  std::free(ptr);
}

}  // namespace tidal
