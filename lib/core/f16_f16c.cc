#include "lib/core/f16_f16c.h"

#include <algorithm>

#include "lib/core/cpu_kernels.h"
#include "lib/core/dtype.h"
#include "lib/core/reduce_op.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#include <immintrin.h>
#define TIDAL_HAVE_F16C_PATH 1
#define TIDAL_F16C __attribute__((target("avx2,f16c")))
#endif

namespace tidal {
namespace {

// Tails and NaN groups: the portable fold, element by element.
void fold_scalar(uint16_t* out, const uint16_t* a, const uint16_t* b, size_t count,
                 tidal_op_t op) {
  for (size_t i = 0; i < count; ++i) {
    out[i] = float_to_f16(apply_op<float>(f16_to_float(a[i]), f16_to_float(b[i]), op));
  }
}

void divide_scalar(uint16_t* buf, size_t count, int divisor) {
  for (size_t i = 0; i < count; ++i) {
    buf[i] = float_to_f16(f16_to_float(buf[i]) / static_cast<float>(divisor));
  }
}

float load_scalar(const void* p, tidal_dtype_t t, size_t i) {
  if (t == TIDAL_F32) return static_cast<const float*>(p)[i];
  return f16_to_float(static_cast<const uint16_t*>(p)[i]);
}

void convert_scalar(const void* src, tidal_dtype_t st, void* dst, tidal_dtype_t dt, size_t count,
                    float scale) {
  for (size_t i = 0; i < count; ++i) {
    const float v = load_scalar(src, st, i) * scale;
    if (dt == TIDAL_F32) static_cast<float*>(dst)[i] = v;
    else static_cast<uint16_t*>(dst)[i] = float_to_f16(v);
  }
}

void fp8_scalar(const uint8_t* in, tidal_dtype_t format, float* out, size_t count,
                float scale) {
  for (size_t i = 0; i < count; ++i) {
    out[i] = (format == TIDAL_FP8_E4M3 ? small_float_to_float<4, 3>(in[i])
                                       : small_float_to_float<5, 2>(in[i])) *
             scale;
  }
}

}  // namespace

#if TIDAL_HAVE_F16C_PATH

bool have_f16c() {
  static const bool ok = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("f16c");
  }();
  return ok && !portable_cpu_kernels();
}

namespace {

TIDAL_F16C inline __m256 load8(const void* p, tidal_dtype_t t) {
  if (t == TIDAL_F32) return _mm256_loadu_ps(static_cast<const float*>(p));
  return _mm256_cvtph_ps(_mm_loadu_si128(static_cast<const __m128i*>(p)));
}

TIDAL_F16C inline bool any_nan(__m256 v) {
  return _mm256_movemask_ps(_mm256_cmp_ps(v, v, _CMP_UNORD_Q)) != 0;
}

TIDAL_F16C inline void store8_f16(uint16_t* p, __m256 v) {
  _mm_storeu_si128(reinterpret_cast<__m128i*>(p),
                   _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}

// MAX is `a < b ? b : a`, which vmaxps(b, a) computes (it returns its
// second operand when they are unordered or equal); MIN likewise.
template <tidal_op_t Op>
TIDAL_F16C void fold_loop(uint16_t* out, const uint16_t* a, const uint16_t* b, size_t count) {
  size_t i = 0;
  for (; i + 8 <= count; i += 8) {
    const __m256 x = load8(a + i, TIDAL_F16), y = load8(b + i, TIDAL_F16);
    __m256 r;
    if (Op == TIDAL_PROD) r = _mm256_mul_ps(x, y);
    else if (Op == TIDAL_MAX) r = _mm256_max_ps(y, x);
    else if (Op == TIDAL_MIN) r = _mm256_min_ps(y, x);
    else r = _mm256_add_ps(x, y);
    if (any_nan(r)) fold_scalar(out + i, a + i, b + i, 8, Op);
    else store8_f16(out + i, r);
  }
  fold_scalar(out + i, a + i, b + i, count - i, Op);
}

}  // namespace

void f16_fold_f16c(uint16_t* out, const uint16_t* a, const uint16_t* b, size_t count,
                   tidal_op_t op) {
  with_op(op, [&](auto o) { fold_loop<decltype(o)::value>(out, a, b, count); });
}

TIDAL_F16C
void f16_divide_f16c(uint16_t* buf, size_t count, int divisor) {
  const __m256 d = _mm256_set1_ps(static_cast<float>(divisor));
  size_t i = 0;
  for (; i + 8 <= count; i += 8) {
    const __m256 r = _mm256_div_ps(load8(buf + i, TIDAL_F16), d);
    if (any_nan(r)) divide_scalar(buf + i, 8, divisor);
    else store8_f16(buf + i, r);
  }
  divide_scalar(buf + i, count - i, divisor);
}

TIDAL_F16C
void f16_convert_f16c(const void* src, tidal_dtype_t st, void* dst, tidal_dtype_t dt,
                      size_t count, float scale) {
  const size_t ses = st == TIDAL_F32 ? 4 : 2, des = dt == TIDAL_F32 ? 4 : 2;
  const auto* s = static_cast<const char*>(src);
  auto* d = static_cast<char*>(dst);
  const __m256 k = _mm256_set1_ps(scale);
  size_t i = 0;
  for (; i + 8 <= count; i += 8) {
    const __m256 r = _mm256_mul_ps(load8(s + i * ses, st), k);
    if (any_nan(r)) {
      convert_scalar(s + i * ses, st, d + i * des, dt, 8, scale);
    } else if (dt == TIDAL_F32) {
      _mm256_storeu_ps(reinterpret_cast<float*>(d + i * des), r);
    } else {
      store8_f16(reinterpret_cast<uint16_t*>(d + i * des), r);
    }
  }
  convert_scalar(s + i * ses, st, d + i * des, dt, count - i, scale);
}

// 16 bytes per step: widen to 16-bit lanes, place the bits as an f16 (a
// NaN as the canonical f16 NaN, so the f32 NaN is small_float_to_float's),
// convert, and scale: E4M3 first by 2^8 (exact), then by `scale`, so the
// one rounding is that of the portable value * scale (scale * 2^8 itself
// could overflow).
TIDAL_F16C
void fp8_to_f32_f16c(const uint8_t* in, tidal_dtype_t format, float* out, size_t count,
                     float scale) {
  const bool e4m3 = format == TIDAL_FP8_E4M3;
  const __m256 k = _mm256_set1_ps(scale), lift = _mm256_set1_ps(e4m3 ? 256.0f : 1.0f);
  const __m256i mag_mask = _mm256_set1_epi16(0x7f), f16_nan = _mm256_set1_epi16(0x7e00);
  // Magnitudes at or above this are NaN: E4M3 0x7f only; E5M2 0x7d..0x7f.
  const __m256i nan_from = _mm256_set1_epi16(e4m3 ? 0x7e : 0x7c);
  size_t i = 0;
  for (; i + 16 <= count; i += 16) {
    const __m256i w = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i)));
    const __m256i mag = _mm256_and_si256(w, mag_mask);
    __m256i h;
    if (e4m3) {
      const __m256i sign = _mm256_slli_epi16(_mm256_andnot_si256(mag_mask, w), 8);
      h = _mm256_or_si256(sign, _mm256_slli_epi16(mag, 7));
    } else {
      h = _mm256_slli_epi16(w, 8);
    }
    h = _mm256_blendv_epi8(h, f16_nan, _mm256_cmpgt_epi16(mag, nan_from));
    const __m256 lo = _mm256_mul_ps(_mm256_cvtph_ps(_mm256_castsi256_si128(h)), lift);
    const __m256 hi = _mm256_mul_ps(_mm256_cvtph_ps(_mm256_extracti128_si256(h, 1)), lift);
    _mm256_storeu_ps(out + i, _mm256_mul_ps(lo, k));
    _mm256_storeu_ps(out + i + 8, _mm256_mul_ps(hi, k));
  }
  fp8_scalar(in + i, format, out + i, count - i, scale);
}

namespace {

// Folds in chunks: decode both inputs (F16C), fold in f32, encode back with
// the mask-select encoder (a loop that vectorises: no decode table, whose
// gathers would make it slower than the scalar loop).
constexpr size_t kFp8Chunk = 256;

template <tidal_op_t Op, bool kE4M3>
TIDAL_F16C void fp8_fold_loop(uint8_t* out, const uint8_t* a, const uint8_t* b, size_t count) {
  const tidal_dtype_t format = kE4M3 ? TIDAL_FP8_E4M3 : TIDAL_FP8_E5M2;
  alignas(32) float x[kFp8Chunk], y[kFp8Chunk];
  for (size_t i = 0; i < count; i += kFp8Chunk) {
    const size_t n = std::min(kFp8Chunk, count - i);
    fp8_to_f32_f16c(a + i, format, x, n, 1.0f);  // read both before out (it may alias)
    fp8_to_f32_f16c(b + i, format, y, n, 1.0f);
    for (size_t k = 0; k < n; ++k) {
      const float r = apply_op<float>(x[k], y[k], Op);
      out[i + k] = kE4M3 ? float_to_e4m3<true>(r) : float_to_e5m2<true>(r);
    }
  }
}

}  // namespace

void fp8_fold_f16c(uint8_t* out, const uint8_t* a, const uint8_t* b, size_t count,
                   tidal_dtype_t format, tidal_op_t op) {
  with_op(op, [&](auto o) {
    if (format == TIDAL_FP8_E4M3) fp8_fold_loop<decltype(o)::value, true>(out, a, b, count);
    else fp8_fold_loop<decltype(o)::value, false>(out, a, b, count);
  });
}

TIDAL_F16C
void fp8_divide_f16c(uint8_t* buf, size_t count, tidal_dtype_t format, int divisor) {
  const float d = static_cast<float>(divisor);
  alignas(32) float x[kFp8Chunk];
  for (size_t i = 0; i < count; i += kFp8Chunk) {
    const size_t n = std::min(kFp8Chunk, count - i);
    fp8_to_f32_f16c(buf + i, format, x, n, 1.0f);
    if (format == TIDAL_FP8_E4M3) {
      for (size_t k = 0; k < n; ++k) buf[i + k] = float_to_e4m3<true>(x[k] / d);
    } else {
      for (size_t k = 0; k < n; ++k) buf[i + k] = float_to_e5m2<true>(x[k] / d);
    }
  }
}

#else  // no F16C path: callers check have_f16c() and never get here

bool have_f16c() { return false; }

void f16_fold_f16c(uint16_t* out, const uint16_t* a, const uint16_t* b, size_t count,
                   tidal_op_t op) {
  fold_scalar(out, a, b, count, op);
}

void f16_divide_f16c(uint16_t* buf, size_t count, int divisor) {
  divide_scalar(buf, count, divisor);
}

void f16_convert_f16c(const void* src, tidal_dtype_t st, void* dst, tidal_dtype_t dt,
                      size_t count, float scale) {
  convert_scalar(src, st, dst, dt, count, scale);
}

void fp8_to_f32_f16c(const uint8_t* in, tidal_dtype_t format, float* out, size_t count,
                     float scale) {
  fp8_scalar(in, format, out, count, scale);
}

void fp8_fold_f16c(uint8_t* out, const uint8_t* a, const uint8_t* b, size_t count,
                   tidal_dtype_t format, tidal_op_t op) {
  for (size_t i = 0; i < count; ++i) {
    const bool e4m3 = format == TIDAL_FP8_E4M3;
    const float x = e4m3 ? e4m3_to_float(a[i]) : e5m2_to_float(a[i]);
    const float y = e4m3 ? e4m3_to_float(b[i]) : e5m2_to_float(b[i]);
    const float r = apply_op<float>(x, y, op);
    out[i] = e4m3 ? float_to_e4m3(r) : float_to_e5m2(r);
  }
}

void fp8_divide_f16c(uint8_t* buf, size_t count, tidal_dtype_t format, int divisor) {
  for (size_t i = 0; i < count; ++i) {
    const bool e4m3 = format == TIDAL_FP8_E4M3;
    const float x = (e4m3 ? e4m3_to_float(buf[i]) : e5m2_to_float(buf[i])) / divisor;
    buf[i] = e4m3 ? float_to_e4m3(x) : float_to_e5m2(x);
  }
}

#endif

}  // namespace tidal
