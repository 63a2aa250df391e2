// bucket_storage.h — zero-filled memory for bucket arenas and shard
// buffers: 64-byte aligned host memory (large blocks as untouched zero
// pages, faulted in only where written), or device memory on a CUDA
// communicator.
#pragma once

#include <cstddef>

#include "lib/core/status.h"

namespace tidal {

Status alloc_bucket_storage(bool device, size_t bytes, void** out);
void free_bucket_storage(bool device, void* ptr);

}  // namespace tidal
