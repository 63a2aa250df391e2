#include "collectives/kernels/cpu/bf16_convert.h"

#include <algorithm>

#include "lib/core/dtype.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#include <immintrin.h>
#define TIDAL_HAVE_AVX512_BF16_PATH 1
#endif

namespace tidal {

#if TIDAL_HAVE_AVX512_BF16_PATH

bool have_native_bf16_convert() {
  static const bool native = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bf16");
  }();
  return native;
}

__attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
void f32_to_bf16_native(const float* src, uint16_t* dst, size_t count, float scale) {
  const __m512 s = _mm512_set1_ps(scale);
  const __m512i magnitude = _mm512_set1_epi32(0x7fffffff);
  const __m512i exponent = _mm512_set1_epi32(0x7f800000);
  size_t i = 0;
  for (; i + 16 <= count; i += 16) {
    const __m512 v = _mm512_mul_ps(_mm512_loadu_ps(src + i), s);
    const __m512i u = _mm512_castps_si512(v);
    // Subnormal lanes: a magnitude, but no exponent bits.
    const __mmask16 subnormal =
        _mm512_test_epi32_mask(u, magnitude) & _mm512_testn_epi32_mask(u, exponent);
    if (subnormal) {
      for (size_t k = i; k < i + 16; ++k) dst[k] = float_to_bf16(src[k] * scale);
      continue;
    }
    const __m256bh h = _mm512_cvtneps_pbh(v);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), reinterpret_cast<const __m256i&>(h));
  }
  for (; i < count; ++i) dst[i] = float_to_bf16(src[i] * scale);
}

// 32 floats times `scale` to one 64-byte line of bf16 at `dst` (64-byte
// aligned), stored non-temporally.
__attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
inline void stream_bf16_line(const float* src, uint16_t* dst, __m512 s) {
  const __m512i magnitude = _mm512_set1_epi32(0x7fffffff);
  const __m512i exponent = _mm512_set1_epi32(0x7f800000);
  const __m512 a = _mm512_mul_ps(_mm512_loadu_ps(src), s);
  const __m512 b = _mm512_mul_ps(_mm512_loadu_ps(src + 16), s);
  const __m512i ua = _mm512_castps_si512(a), ub = _mm512_castps_si512(b);
  const __mmask16 subnormal =
      (_mm512_test_epi32_mask(ua, magnitude) & _mm512_testn_epi32_mask(ua, exponent)) |
      (_mm512_test_epi32_mask(ub, magnitude) & _mm512_testn_epi32_mask(ub, exponent));
  __m256i lo, hi;
  if (subnormal) {
    alignas(64) float scaled[32];
    alignas(64) uint16_t staged[32];
    _mm512_store_ps(scaled, a);
    _mm512_store_ps(scaled + 16, b);
    for (int k = 0; k < 32; ++k) staged[k] = float_to_bf16(scaled[k]);
    lo = _mm256_load_si256(reinterpret_cast<const __m256i*>(staged));
    hi = _mm256_load_si256(reinterpret_cast<const __m256i*>(staged + 16));
  } else {
    const __m256bh l = _mm512_cvtneps_pbh(a), h = _mm512_cvtneps_pbh(b);
    lo = reinterpret_cast<const __m256i&>(l);
    hi = reinterpret_cast<const __m256i&>(h);
  }
  // Two halves of one line: they meet in the write-combining buffer.
  _mm256_stream_si256(reinterpret_cast<__m256i*>(dst), lo);
  _mm256_stream_si256(reinterpret_cast<__m256i*>(dst + 16), hi);
}

__attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
void f32_to_bf16_native_streaming(const float* src, uint16_t* dst, size_t count,
                                  float scale) {
  if (reinterpret_cast<uintptr_t>(dst) % 2 != 0) {  // never reaches a line boundary
    f32_to_bf16_native(src, dst, count, scale);
    return;
  }
  const size_t head =
      std::min(count, (64 - reinterpret_cast<uintptr_t>(dst) % 64) % 64 / sizeof(uint16_t));
  f32_to_bf16_native(src, dst, head, scale);
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
  f32_to_bf16_native(src + i, dst + i, count - i, scale);
  _mm_sfence();  // streamed lines are visible before the copy counts as done
}

#else

bool have_native_bf16_convert() { return false; }

void f32_to_bf16_native_streaming(const float* src, uint16_t* dst, size_t count,
                                  float scale) {
  f32_to_bf16_native(src, dst, count, scale);
}

void f32_to_bf16_native(const float* src, uint16_t* dst, size_t count, float scale) {
  for (size_t i = 0; i < count; ++i) dst[i] = float_to_bf16(src[i] * scale);
}

#endif

}  // namespace tidal
