#include "bench/perf/perf_device.h"

#include <cstdio>

#include "tidal/tidal.h"

#if TIDAL_HAVE_CUDA
#include <cuda_runtime_api.h>
#endif

namespace tidal_perf {

#if TIDAL_HAVE_CUDA

namespace {
bool cuda_ok(cudaError_t e, const char* what, std::string* error) {
  if (e == cudaSuccess) return true;
  if (error) *error = std::string(what) + " failed: " + cudaGetErrorString(e);
  cudaGetLastError();
  return false;
}
}  // namespace

bool device_count(int* count, std::string* error) {
  *count = 0;
  if (!cuda_ok(cudaGetDeviceCount(count), "cudaGetDeviceCount", error)) return false;
  if (*count == 0) {
    *error = "no CUDA device found";
    return false;
  }
  return true;
}

bool device_select(int device, std::string* error) {
  return cuda_ok(cudaSetDevice(device), "cudaSetDevice", error);
}

bool device_alloc(size_t bytes, void** ptr, std::string* error) {
  *ptr = nullptr;
  return cuda_ok(cudaMalloc(ptr, bytes ? bytes : 1), "cudaMalloc", error);
}

void device_free(void* ptr) {
  if (ptr) cudaFree(ptr);
}

// The device synchronisations matter: a cudaMemcpy from pageable memory
// may return before its DMA lands, and the legacy default stream it runs on
// does not order the communicators' non-blocking streams, so without them a
// collective could read stale input or the check could read stale output.
bool device_upload(void* device_dst, const void* host_src, size_t bytes, std::string* error) {
  return cuda_ok(cudaMemcpy(device_dst, host_src, bytes, cudaMemcpyHostToDevice),
                 "cudaMemcpy to device", error) &&
         cuda_ok(cudaDeviceSynchronize(), "cudaDeviceSynchronize after upload", error);
}

bool device_download(void* host_dst, const void* device_src, size_t bytes, std::string* error) {
  return cuda_ok(cudaDeviceSynchronize(), "cudaDeviceSynchronize before download", error) &&
         cuda_ok(cudaMemcpy(host_dst, device_src, bytes, cudaMemcpyDeviceToHost),
                 "cudaMemcpy to host", error);
}

std::string device_description(int device) {
  cudaDeviceProp prop;
  if (cudaGetDeviceProperties(&prop, device) != cudaSuccess) {
    cudaGetLastError();
    return "[unknown] unknown device";
  }
  char text[512];
  std::snprintf(text, sizeof text, "[%04x:%02x:%02x] %s", prop.pciDomainID, prop.pciBusID,
                prop.pciDeviceID, prop.name);
  return text;
}

#else  // !TIDAL_HAVE_CUDA

namespace {
const char kNoCuda[] = "this libtidal was built without CUDA (TIDAL_HAVE_CUDA is 0)";
}

bool device_count(int* count, std::string* error) {
  *count = 0;
  *error = kNoCuda;
  return false;
}
bool device_select(int, std::string* error) { return (*error = kNoCuda, false); }
bool device_alloc(size_t, void** ptr, std::string* error) {
  *ptr = nullptr;
  *error = kNoCuda;
  return false;
}
void device_free(void*) {}
bool device_upload(void*, const void*, size_t, std::string* error) {
  return (*error = kNoCuda, false);
}
bool device_download(void*, const void*, size_t, std::string* error) {
  return (*error = kNoCuda, false);
}
std::string device_description(int) { return "[none] no CUDA in this build"; }

#endif

}  // namespace tidal_perf
