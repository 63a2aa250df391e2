// cuda_status.h — a CUDA runtime error as a tidal Status, for the kernels'
// host code: out of memory is TIDAL_ERR_NO_MEMORY, anything else
// TIDAL_ERR_TRANSPORT, with what failed and CUDA's text. CUDA sources only.
#pragma once

#include <string>

#include <cuda_runtime_api.h>

#include "lib/core/status.h"

namespace tidal {

inline Status cuda_error(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return Status();
  return Status(e == cudaErrorMemoryAllocation ? TIDAL_ERR_NO_MEMORY : TIDAL_ERR_TRANSPORT,
                std::string(what) + ": " + cudaGetErrorString(e));
}

}  // namespace tidal
