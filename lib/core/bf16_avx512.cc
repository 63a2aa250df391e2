#include "lib/core/bf16_avx512.h"

#include <algorithm>

#include "lib/core/cpu_kernels.h"
#include "lib/core/dtype.h"
#include "lib/core/reduce_op.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
// GCC 12's AVX-512 intrinsics pass a self-initialised "undefined" vector
// as the masked-off source (`__m512i __Y = __Y;`), which -O3 reports as
// maybe-uninitialized once inlined here; the lanes are never read.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#define TIDAL_HAVE_AVX512_BF16_PATH 1
#define TIDAL_AVX512_BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
#endif

namespace tidal {
namespace {

// Tails and subnormal groups: the portable fold, element by element.
void fold_scalar(uint16_t* out, const uint16_t* a, const uint16_t* b, size_t count,
                 tidal_op_t op) {
  for (size_t i = 0; i < count; ++i) {
    out[i] = float_to_bf16(apply_op<float>(bf16_to_float(a[i]), bf16_to_float(b[i]), op));
  }
}

}  // namespace

#if TIDAL_HAVE_AVX512_BF16_PATH

bool have_avx512_bf16() {
  static const bool native = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bf16");
  }();
  return native && !portable_cpu_kernels();
}

namespace {

// Lanes holding a subnormal: a magnitude, but no exponent bits.
TIDAL_AVX512_BF16 inline __mmask16 subnormal_lanes(__m512 v) {
  const __m512i u = _mm512_castps_si512(v);
  return _mm512_test_epi32_mask(u, _mm512_set1_epi32(0x7fffffff)) &
         _mm512_testn_epi32_mask(u, _mm512_set1_epi32(0x7f800000));
}

// 16 floats to bf16: the instruction, or the formula where a lane is subnormal.
TIDAL_AVX512_BF16 inline __m256i to_bf16(__m512 v) {
  if (subnormal_lanes(v)) {
    alignas(64) float f[16];
    alignas(32) uint16_t h[16];
    _mm512_store_ps(f, v);
    for (int k = 0; k < 16; ++k) h[k] = float_to_bf16(f[k]);
    return _mm256_load_si256(reinterpret_cast<const __m256i*>(h));
  }
  const __m256bh h = _mm512_cvtneps_pbh(v);
  return reinterpret_cast<const __m256i&>(h);
}

// 16 bf16 to floats (exact: the bits shifted into the high half).
TIDAL_AVX512_BF16 inline __m512 widen(const uint16_t* p) {
  const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

// 32 floats times `s` to one 64-byte line of bf16 at `dst` (64-byte
// aligned), stored non-temporally in two halves that meet in the
// write-combining buffer.
TIDAL_AVX512_BF16 inline void stream_bf16_line(const float* src, uint16_t* dst, __m512 s) {
  const __m256i lo = to_bf16(_mm512_mul_ps(_mm512_loadu_ps(src), s));
  const __m256i hi = to_bf16(_mm512_mul_ps(_mm512_loadu_ps(src + 16), s));
  _mm256_stream_si256(reinterpret_cast<__m256i*>(dst), lo);
  _mm256_stream_si256(reinterpret_cast<__m256i*>(dst + 16), hi);
}

// 16 floats from f32 or bf16 elements, and one.
TIDAL_AVX512_BF16 inline __m512 load16(const float* p) { return _mm512_loadu_ps(p); }
TIDAL_AVX512_BF16 inline __m512 load16(const uint16_t* p) { return widen(p); }
inline float load1(const float* p) { return *p; }
inline float load1(const uint16_t* p) { return bf16_to_float(*p); }

// dst[i] = float_to_bf16(float(src[i]) * scale), 16 at a time.
template <typename S>
TIDAL_AVX512_BF16 void scale_to_bf16(const S* src, uint16_t* dst, size_t count, float scale) {
  const __m512 s = _mm512_set1_ps(scale);
  size_t i = 0;
  for (; i + 16 <= count; i += 16) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i),
                        to_bf16(_mm512_mul_ps(load16(src + i), s)));
  }
  for (; i < count; ++i) dst[i] = float_to_bf16(load1(src + i) * scale);
}

// One loop per op, the op's instruction picked to match apply_op(): MAX is
// `a < b ? b : a`, which vmaxps(b, a) computes (it returns its second
// operand when they are unordered or equal); MIN likewise.
template <tidal_op_t Op>
TIDAL_AVX512_BF16 void fold_loop(uint16_t* out, const uint16_t* a, const uint16_t* b,
                                 size_t count) {
  size_t i = 0;
  for (; i + 16 <= count; i += 16) {
    const __m512 x = widen(a + i), y = widen(b + i);
    __m512 r;
    if (Op == TIDAL_PROD) r = _mm512_mul_ps(x, y);
    else if (Op == TIDAL_MAX) r = _mm512_max_ps(y, x);
    else if (Op == TIDAL_MIN) r = _mm512_min_ps(y, x);
    else r = _mm512_add_ps(x, y);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), to_bf16(r));
  }
  fold_scalar(out + i, a + i, b + i, count - i, Op);
}

}  // namespace

TIDAL_AVX512_BF16
void f32_to_bf16_avx512(const float* src, uint16_t* dst, size_t count, float scale) {
  scale_to_bf16(src, dst, count, scale);
}

TIDAL_AVX512_BF16
void f32_to_bf16_avx512_streaming(const float* src, uint16_t* dst, size_t count, float scale) {
  if (reinterpret_cast<uintptr_t>(dst) % 2 != 0) {  // never reaches a line boundary
    f32_to_bf16_avx512(src, dst, count, scale);
    return;
  }
  const size_t head =
      std::min(count, (64 - reinterpret_cast<uintptr_t>(dst) % 64) % 64 / sizeof(uint16_t));
  f32_to_bf16_avx512(src, dst, head, scale);
  src += head;
  dst += head;
  count -= head;
  const __m512 s = _mm512_set1_ps(scale);
  constexpr size_t kPage = 4096 / sizeof(float), kLine = 32;
  size_t i = 0;
  for (; i + 4 * kPage <= count; i += 4 * kPage) {
    for (size_t e = 0; e < kPage; e += kLine) {
      for (size_t page = 0; page < 4 * kPage; page += kPage) {
        stream_bf16_line(src + i + page + e, dst + i + page + e, s);
      }
    }
  }
  for (; i + kLine <= count; i += kLine) stream_bf16_line(src + i, dst + i, s);
  f32_to_bf16_avx512(src + i, dst + i, count - i, scale);
  _mm_sfence();  // streamed lines are visible before the copy counts as done
}

void bf16_fold_avx512(uint16_t* out, const uint16_t* a, const uint16_t* b, size_t count,
                      tidal_op_t op) {
  with_op(op, [&](auto o) { fold_loop<decltype(o)::value>(out, a, b, count); });
}

TIDAL_AVX512_BF16
void bf16_scale_avx512(const uint16_t* src, uint16_t* dst, size_t count, float scale) {
  scale_to_bf16(src, dst, count, scale);
}

TIDAL_AVX512_BF16
void bf16_divide_avx512(uint16_t* buf, size_t count, int divisor) {
  const float d = static_cast<float>(divisor);
  const __m512 dv = _mm512_set1_ps(d);
  size_t i = 0;
  for (; i + 16 <= count; i += 16) {
    const __m256i h = to_bf16(_mm512_div_ps(widen(buf + i), dv));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(buf + i), h);
  }
  for (; i < count; ++i) buf[i] = float_to_bf16(bf16_to_float(buf[i]) / d);
}

#else  // no AVX512-BF16 path: callers check have_avx512_bf16() and never get here

bool have_avx512_bf16() { return false; }

void f32_to_bf16_avx512(const float* src, uint16_t* dst, size_t count, float scale) {
  for (size_t i = 0; i < count; ++i) dst[i] = float_to_bf16(src[i] * scale);
}

void f32_to_bf16_avx512_streaming(const float* src, uint16_t* dst, size_t count, float scale) {
  f32_to_bf16_avx512(src, dst, count, scale);
}

void bf16_fold_avx512(uint16_t* out, const uint16_t* a, const uint16_t* b, size_t count,
                      tidal_op_t op) {
  fold_scalar(out, a, b, count, op);
}

void bf16_scale_avx512(const uint16_t* src, uint16_t* dst, size_t count, float scale) {
  for (size_t i = 0; i < count; ++i) dst[i] = float_to_bf16(bf16_to_float(src[i]) * scale);
}

void bf16_divide_avx512(uint16_t* buf, size_t count, int divisor) {
  for (size_t i = 0; i < count; ++i) {
    buf[i] = float_to_bf16(bf16_to_float(buf[i]) / static_cast<float>(divisor));
  }
}

#endif

}  // namespace tidal
