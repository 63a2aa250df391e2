// sync_save.h — the blocking save: hash, write straight from the caller's
// (host) tensors, fsync, rename. The baseline the async writer is measured
// against, and the simple path for small files.
#pragma once

#include "lib/checkpoint/save_job.h"
#include "lib/core/status.h"

namespace tidal {
namespace ckpt {

// Writes request.path crash-safely; returns once it is durable. Host
// tensors only (TIDAL_ERR_INVALID_ARGUMENT for device memory).
Status save_file_sync(const SaveRequest& request);

}  // namespace ckpt
}  // namespace tidal
