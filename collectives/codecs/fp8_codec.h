// fp8_codec.h — block-scaled FP8 (OCP E4M3 / E5M2): how tidal sends f32,
// bf16 or f16 values in one byte each.
//
// FP8 alone spans too little range for weights (E4M3: 2^-9 .. 448), so
// values travel in blocks of `block` consecutive elements, each block with
// one f32 scale:
//
//   amax    = the largest finite |x| of the block
//   scale   = amax / FP8_MAX   (1 when amax is 0; never below 2^-126;
//             with pow2_scales rounded up to a power of two)
//   byte[i] = fp8(x[i] / scale)   round to nearest even; a finite value
//             that rounds past FP8_MAX saturates to it; NaN stays NaN;
//             +-inf is +-inf in E5M2 and NaN in E4M3 (it has no infinity)
//   x'[i]   = float(byte[i]) * scale * post
//
// The division (not a multiply by 1/scale) makes the bytes those of the
// reference `(x / scale).astype(ml_dtypes.float8_*)` bit for bit; the tests
// check that against numpy and ml_dtypes.
#pragma once

#include <cstddef>
#include <cstdint>

#include "lib/core/status.h"
#include "tidal/tidal.h"

namespace tidal {

struct Fp8Codec {
  tidal_dtype_t format = TIDAL_FP8_E4M3;
  size_t block = 128;        // elements per scale
  bool pow2_scales = false;  // scales are powers of two (MX style)
};

// OK for a known FP8 format and block >= 1; `value_dtype` (what is encoded
// or decoded) must be f32, bf16 or f16.
Status check_fp8_codec(const Fp8Codec& codec, tidal_dtype_t value_dtype);

// Scales for `count` elements: ceil(count / block).
inline size_t fp8_scale_count(size_t count, size_t block) {
  return block == 0 ? 0 : count / block + (count % block != 0);  // no overflow near SIZE_MAX
}

// The largest finite value of `format` (448 or 57344).
float fp8_max(tidal_dtype_t format);

// Encodes src[0, count) (value_dtype) into dst (count bytes) and scales
// (fp8_scale_count floats); every scale is multiplied by `scale_factor`
// after the bytes are chosen (a fused pre-scale: decoding gives x * factor).
// Large inputs are split across the copy workers, block-aligned.
void fp8_encode(const Fp8Codec& codec, const void* src, tidal_dtype_t value_dtype, size_t count,
                uint8_t* dst, float* scales, float scale_factor = 1.0f);

// Decodes elements [first, first + count) of an encoded stream: reads
// src[first ..], whose element k belongs to scales[k / block], and writes
// dst[0, count) in value_dtype: float(byte) * (scale * post).
void fp8_decode(const Fp8Codec& codec, const uint8_t* src, const float* scales, size_t first,
                size_t count, void* dst, tidal_dtype_t value_dtype, float post = 1.0f);
// The same on the calling thread alone; `streaming`: write f32 output
// with non-temporal stores (for decodes much larger than the caches; fp8_decode
// chooses it from kStreamingCopyBytes).
void fp8_decode_serial(const Fp8Codec& codec, const uint8_t* src, const float* scales,
                       size_t first, size_t count, void* dst, tidal_dtype_t value_dtype,
                       float post = 1.0f, bool streaming = false);

// From this many elements an encode or decode is split across the workers.
constexpr size_t kFp8ParallelElements = size_t(1) << 20;

}  // namespace tidal
