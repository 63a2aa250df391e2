// fp8_codec_cuda.h — the block-scaled FP8 codec (fp8_codec.h) on device
// memory: the same bytes and scales as the CPU codec, because both run the
// scalar steps of fp8_scalar.h (and IEEE division: tidal's CUDA code is
// never built with fast math).
//
// Encode: one warp per scale block (the block's amax by a warp reduction,
// then its bytes); warps stride over the blocks. Decode: a table of runs
// (Fp8Run, as the CPU decode table has them) uploaded once, run by ONE
// launch; tiles of 4096 elements, like the pack kernel's.
//
// NaN outputs are NaN but their bits are the GPU's (a product with a NaN
// gives 0x7fffffff in f32 there, the CPU keeps the quiet NaN it got).
//
// Plain C++ interface (streams as void*), so host code includes it without
// CUDA headers. Available when TIDAL_HAVE_CUDA is 1.
#pragma once

#include <cstddef>
#include <cstdint>

#include "collectives/codecs/fp8_codec.h"
#include "collectives/codecs/fp8_decode_table.h"

namespace tidal {

// Encodes src[0, count) (value_dtype: f32, bf16 or f16; device memory) into
// dst (count bytes) and scales (fp8_scale_count floats, each multiplied by
// scale_factor), on `stream`; never blocks the host.
Status cuda_fp8_encode(const Fp8Codec& codec, const void* src, tidal_dtype_t value_dtype,
                       size_t count, uint8_t* dst, float* scales, float scale_factor,
                       void* stream);

struct DeviceFp8Table;  // opaque: the runs and their tile index on the device

// Uploads runs[0..n) (blocking, at plan time).
Status cuda_upload_fp8_table(const Fp8Run* runs, size_t n, DeviceFp8Table** out);
void cuda_free_fp8_table(DeviceFp8Table* table);

// Decodes every run into value_dtype, times `post`: one launch on `stream`.
Status cuda_run_fp8_table(const DeviceFp8Table* table, const Fp8Codec& codec,
                          tidal_dtype_t value_dtype, float post, void* stream);

// Codec kernel launches made by this process (for count assertions).
uint64_t cuda_fp8_launches();

}  // namespace tidal
