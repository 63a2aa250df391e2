#include "collectives/bucketing/bucket_storage.h"

#include <cstdint>
#include <cstdlib>

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
  // 64-byte aligned so every shard (a 16-byte multiple) can use vector
  // loads. From calloc, which hands out a large block as fresh zero pages
  // without touching them: storage no call writes (a direct bucket's, on
  // local threads) costs address space, not memory. The block's own
  // address is kept just below the aligned one, for free_bucket_storage.
  constexpr size_t kAlign = 64, kExtra = kAlign + sizeof(void*);
  if (bytes > SIZE_MAX - kExtra) {
    return Status(TIDAL_ERR_NO_MEMORY, fmt::format("bucket storage of {} bytes", bytes));
  }
  void* raw = std::calloc(1, bytes + kExtra);
  if (!raw) return Status(TIDAL_ERR_NO_MEMORY, fmt::format("bucket storage of {} bytes", bytes));
  const uintptr_t aligned =
      (reinterpret_cast<uintptr_t>(raw) + sizeof(void*) + kAlign - 1) & ~uintptr_t(kAlign - 1);
  reinterpret_cast<void**>(aligned)[-1] = raw;
  *out = reinterpret_cast<void*>(aligned);
  return Status();
}

void free_bucket_storage(bool device, void* ptr) {
  if (!ptr) return;
#if TIDAL_HAVE_CUDA
  if (device) return cuda_free(ptr);
#endif
  (void)device;
  std::free(static_cast<void**>(ptr)[-1]);
}

}  // namespace tidal
