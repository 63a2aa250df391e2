#include "lib/core/memory_kind.h"

#include <mutex>

#include "tidal/version.h"

#if TIDAL_HAVE_CUDA
#include <cuda_runtime_api.h>
#endif

namespace tidal {

bool cuda_device_usable(std::string* why) {
#if TIDAL_HAVE_CUDA
  static std::once_flag once;
  static bool usable = false;
  static std::string reason;
  std::call_once(once, [] {
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
      reason = std::string("no usable CUDA device: ") + cudaGetErrorString(e);
      cudaGetLastError();  // clear the sticky-free error
    } else if (n == 0) {
      reason = "no CUDA device found";
    } else {
      usable = true;
    }
  });
  if (!usable && why) *why = reason;
  return usable;
#else
  if (why) *why = "tidal was built without CUDA";
  return false;
#endif
}

PointerKind pointer_kind(const void* ptr) {
#if TIDAL_HAVE_CUDA
  if (!ptr || !cuda_device_usable(nullptr)) return PointerKind::kHost;
  cudaPointerAttributes attr;
  if (cudaPointerGetAttributes(&attr, ptr) != cudaSuccess) {
    cudaGetLastError();
    return PointerKind::kHost;
  }
  return (attr.type == cudaMemoryTypeDevice || attr.type == cudaMemoryTypeManaged)
             ? PointerKind::kDevice
             : PointerKind::kHost;
#else
  (void)ptr;
  return PointerKind::kHost;
#endif
}

}  // namespace tidal
