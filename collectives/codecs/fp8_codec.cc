#include "collectives/codecs/fp8_codec.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include "collectives/codecs/fp8_scalar.h"
#include "collectives/kernels/cpu/pack_kernel.h"
#include "lib/core/dtype.h"
#include "lib/core/f16_f16c.h"
#include "lib/core/parallel.h"
#include "lib/core/stream_store.h"

namespace tidal {
namespace {

// Values are converted to f32 (and back) through a stack buffer of this
// many elements, so f16 and bf16 go through the vector conversions and the
// FP8 loops see plain floats.
constexpr size_t kChunk = 512;

#if defined(__GNUC__)
#define TIDAL_INLINE_INTO_CLONES inline __attribute__((always_inline))
#else
#define TIDAL_INLINE_INTO_CLONES inline
#endif
// The hot loops are cloned for AVX2 (picked at load time where the CPU has
// it): their integer selects need wider vector ops than baseline x86-64.
// Not under sanitizers (their ifunc resolver runs too early), as in
// collectives/kernels/cpu/pack_kernel.cc.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    !defined(__SANITIZE_THREAD__) && !defined(__SANITIZE_ADDRESS__)
#define TIDAL_CLONE_FOR_AVX2 __attribute__((target_clones("avx2", "default")))
#else
#define TIDAL_CLONE_FOR_AVX2
#endif

bool is_fp8(tidal_dtype_t d) { return d == TIDAL_FP8_E4M3 || d == TIDAL_FP8_E5M2; }

// f32 view of src[0, n): src itself for f32, else converted into `tmp`.
const float* as_floats(const void* src, tidal_dtype_t dtype, size_t n, float* tmp) {
  if (dtype == TIDAL_F32) return static_cast<const float*>(src);
  if (dtype == TIDAL_BF16) {
    const uint16_t* s = static_cast<const uint16_t*>(src);
    for (size_t i = 0; i < n; ++i) tmp[i] = bf16_to_float(s[i]);
  } else if (have_f16c()) {
    f16_convert_f16c(src, TIDAL_F16, tmp, TIDAL_F32, n, 1.0f);
  } else {
    const uint16_t* s = static_cast<const uint16_t*>(src);
    for (size_t i = 0; i < n; ++i) tmp[i] = f16_to_float(s[i]);
  }
  return tmp;
}

void store_floats(const float* v, size_t n, void* dst, tidal_dtype_t dtype) {
  if (dtype == TIDAL_F32) {
    std::memcpy(dst, v, n * 4);
  } else if (dtype == TIDAL_BF16) {
    uint16_t* d = static_cast<uint16_t*>(dst);
    for (size_t i = 0; i < n; ++i) d[i] = float_to_bf16(v[i]);
  } else if (have_f16c()) {
    f16_convert_f16c(v, TIDAL_F32, dst, TIDAL_F16, n, 1.0f);
  } else {
    uint16_t* d = static_cast<uint16_t*>(dst);
    for (size_t i = 0; i < n; ++i) d[i] = float_to_f16(v[i]);
  }
}

// The largest finite |x| of v[0, n) as bits (an integer max vectorises).
TIDAL_INLINE_INTO_CLONES uint32_t finite_amax_bits(const float* v, size_t n, uint32_t amax) {
  for (size_t i = 0; i < n; ++i) amax = std::max(amax, fp8_finite_magnitude_bits(v[i]));
  return amax;
}

template <int EBITS, int MBITS>
TIDAL_INLINE_INTO_CLONES void encode_chunk(const float* v, size_t n, float scale, uint8_t* out) {
  for (size_t i = 0; i < n; ++i) {
    out[i] = static_cast<uint8_t>(fp8_encode_scaled<EBITS, MBITS>(v[i] / scale));
  }
}

// Blocks [b0, b1) of the stream.
TIDAL_CLONE_FOR_AVX2 void encode_blocks(const Fp8Codec& c, const char* src, tidal_dtype_t dtype, size_t count,
                   size_t b0, size_t b1, uint8_t* dst, float* scales, float factor) {
  const size_t es = dtype_size(dtype);
  const float fmax = fp8_max(c.format);
  float tmp[kChunk];
  for (size_t b = b0; b < b1; ++b) {
    const size_t lo = b * c.block, hi = std::min(count, lo + c.block);
    uint32_t amax = 0;
    for (size_t i = lo; i < hi; i += kChunk) {
      const size_t n = std::min(kChunk, hi - i);
      amax = finite_amax_bits(as_floats(src + i * es, dtype, n, tmp), n, amax);
    }
    const float scale = fp8_block_scale(bits_float(amax), fmax, c.pow2_scales);
    for (size_t i = lo; i < hi; i += kChunk) {
      const size_t n = std::min(kChunk, hi - i);
      const float* v = as_floats(src + i * es, dtype, n, tmp);
      if (c.format == TIDAL_FP8_E4M3) encode_chunk<4, 3>(v, n, scale, dst + i);
      else encode_chunk<5, 2>(v, n, scale, dst + i);
    }
    scales[b] = scale * factor;
  }
}

// Elements [lo, hi) of the stream into dst (element lo at dst[0]).
// `streaming`: f32 output goes out with non-temporal stores.
TIDAL_CLONE_FOR_AVX2 void decode_range(const Fp8Codec& c, const uint8_t* src,
                                       const float* scales, size_t lo, size_t hi, char* dst,
                                       tidal_dtype_t dtype, float post, bool streaming) {
  const bool e4m3 = c.format == TIDAL_FP8_E4M3;
  const size_t es = dtype_size(dtype);
  const bool direct = dtype == TIDAL_F32 && !streaming;
  const bool f16c = have_f16c();
  alignas(64) float tmp[kChunk];
  for (size_t i = lo; i < hi;) {
    // One chunk never crosses a block boundary: one multiplier per chunk.
    const size_t block_end = (i / c.block + 1) * c.block;
    const size_t n = std::min({kChunk, hi - i, block_end - i});
    const float m = scales[i / c.block] * post;
    float* out = direct ? reinterpret_cast<float*>(dst + (i - lo) * es) : tmp;
    const uint8_t* in = src + i;
    if (f16c) {
      fp8_to_f32_f16c(in, c.format, out, n, m);
    } else if (e4m3) {
      for (size_t k = 0; k < n; ++k) out[k] = small_float_to_float<4, 3>(in[k]) * m;
    } else {
      for (size_t k = 0; k < n; ++k) out[k] = small_float_to_float<5, 2>(in[k]) * m;
    }
    if (dtype == TIDAL_F32 && streaming) {
      stream_store(dst + (i - lo) * es, tmp, n * sizeof(float));
    } else if (!direct) {
      store_floats(tmp, n, dst + (i - lo) * es, dtype);
    }
    i += n;
  }
  if (streaming) stream_fence();  // streamed lines are visible before the decode counts as done
}

}  // namespace

float fp8_max(tidal_dtype_t format) { return format == TIDAL_FP8_E5M2 ? 57344.0f : 448.0f; }

Status check_fp8_codec(const Fp8Codec& codec, tidal_dtype_t value_dtype) {
  if (!is_fp8(codec.format)) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT,
                  fmt::format("FP8 codec format must be fp8_e4m3 or fp8_e5m2, not {}",
                              tidal_dtype_name(codec.format)));
  }
  if (codec.block == 0) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT, "FP8 codec block must be at least 1 element");
  }
  if (value_dtype != TIDAL_F32 && value_dtype != TIDAL_BF16 && value_dtype != TIDAL_F16) {
    return Status(TIDAL_ERR_UNSUPPORTED,
                  fmt::format("the FP8 codec encodes and decodes f32, bf16 or f16, not {}",
                              tidal_dtype_name(value_dtype)));
  }
  return Status();
}

void fp8_encode(const Fp8Codec& codec, const void* src, tidal_dtype_t value_dtype, size_t count,
                uint8_t* dst, float* scales, float scale_factor) {
  const size_t blocks = fp8_scale_count(count, codec.block);
  const char* s = static_cast<const char*>(src);
  const size_t parts = std::min({parallel_width(), blocks, count / (kFp8ParallelElements / 2)});
  if (parts <= 1) {
    encode_blocks(codec, s, value_dtype, count, 0, blocks, dst, scales, scale_factor);
    return;
  }
  const size_t per = (blocks + parts - 1) / parts;
  run_parallel(parts, [&](size_t p) {
    const size_t b0 = std::min(blocks, p * per), b1 = std::min(blocks, b0 + per);
    encode_blocks(codec, s, value_dtype, count, b0, b1, dst, scales, scale_factor);
  });
}

void fp8_decode_serial(const Fp8Codec& codec, const uint8_t* src, const float* scales,
                       size_t first, size_t count, void* dst, tidal_dtype_t value_dtype,
                       float post, bool streaming) {
  decode_range(codec, src, scales, first, first + count, static_cast<char*>(dst), value_dtype,
               post, streaming);
}

void fp8_decode(const Fp8Codec& codec, const uint8_t* src, const float* scales, size_t first,
                size_t count, void* dst, tidal_dtype_t value_dtype, float post) {
  char* d = static_cast<char*>(dst);
  const size_t es = dtype_size(value_dtype);
  const bool streaming = count * es >= kStreamingCopyBytes;
  const size_t parts = std::min(parallel_width(), count / (kFp8ParallelElements / 2));
  if (parts <= 1) {
    decode_range(codec, src, scales, first, first + count, d, value_dtype, post, streaming);
    return;
  }
  const size_t step = (count / parts + 63) / 64 * 64;
  run_parallel(parts, [&](size_t p) {
    const size_t lo = std::min(count, p * step);
    const size_t hi = p + 1 == parts ? count : std::min(count, lo + step);
    if (lo < hi) {
      decode_range(codec, src, scales, first + lo, first + hi, d + lo * es, value_dtype, post,
                   streaming);
    }
  });
}

}  // namespace tidal
