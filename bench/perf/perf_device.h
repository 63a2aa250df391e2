// perf_device.h — the little CUDA the harness needs for the nccl backend:
// choosing a device, device buffers and copies to and from the host. In a
// build without CUDA every call fails with a message that says so.
#pragma once

#include <cstddef>
#include <string>

namespace tidal_perf {

// Number of CUDA devices; false with *error when none is usable.
bool device_count(int* count, std::string* error);
bool device_select(int device, std::string* error);
bool device_alloc(size_t bytes, void** ptr, std::string* error);
void device_free(void* ptr);
bool device_upload(void* device_dst, const void* host_src, size_t bytes, std::string* error);
bool device_download(void* host_dst, const void* device_src, size_t bytes, std::string* error);
// "[0000:3b:00] NVIDIA H200" for the "Using devices" block.
std::string device_description(int device);

}  // namespace tidal_perf
