// pack_kernel_cuda.h — the fused CUDA copy: ONE kernel launch runs a whole
// descriptor table that lives in device memory (uploaded once, when the
// bucket is planned). One block per 4096-element tile of the runs (up to
// four times what the GPU runs at once; beyond that blocks stride). Tiles whose
// source and destination are aligned move 16 bytes per load (8 for 16-bit
// casts), four loads in flight per thread.
// Scale and f32 <-> bf16/f16 casts are fused into the same pass.
//
// Plain C++ interface (streams as void*), so host code includes it without
// CUDA headers. Available when TIDAL_HAVE_CUDA is 1.
#pragma once

#include <cstddef>
#include <cstdint>

#include "collectives/kernels/copy_op.h"

namespace tidal {

struct DeviceCopyTable;  // opaque: the table and its tile index on the device

// Uploads descs[0..n) (blocking, at plan time). Returns TIDAL_ERR_NO_MEMORY
// or TIDAL_ERR_TRANSPORT with CUDA's message on failure.
Status cuda_upload_copy_table(const CopyDesc* descs, size_t n, DeviceCopyTable** out);
void cuda_free_copy_table(DeviceCopyTable* table);

// One launch over the whole table on `stream`; never blocks the host.
Status cuda_run_copy_table(const DeviceCopyTable* table, const CopyOp& op, void* stream);

// One launch for a single run given by value (no device table needed).
Status cuda_run_copy(const CopyDesc& desc, const CopyOp& op, void* stream);

// Kernel launches made by this process (for count assertions).
uint64_t cuda_copy_launches();

// Caps the blocks of one launch (blocks then stride over the tiles).
// 0 (the default) = four times the blocks the current GPU runs at once,
// measured on first use; UINT32_MAX = one block per tile. For benchmarks and tests.
void cuda_set_copy_grid_cap(uint32_t blocks);

// Device memory for bucket storage: zero-filled on allocation.
Status cuda_alloc_zeroed(size_t bytes, void** out);
void cuda_free(void* ptr);

}  // namespace tidal

namespace tidal {
// Blocking copy between host and device (either direction).
Status cuda_copy_blocking(void* dst, const void* src, size_t bytes);
}  // namespace tidal
