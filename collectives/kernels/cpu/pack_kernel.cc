#include "collectives/kernels/cpu/pack_kernel.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "lib/core/bf16_avx512.h"
#include "lib/core/dtype.h"
#include "lib/core/f16_f16c.h"
#include "lib/core/parallel.h"

#if defined(__x86_64__) || defined(__SSE2__)
#include <emmintrin.h>
#define TIDAL_HAVE_STREAMING_STORES 1
#endif

namespace tidal {
namespace {

#if TIDAL_HAVE_STREAMING_STORES
// 64 bytes from src to dst (64-byte aligned) with non-temporal stores.
inline void stream_line(char* dst, const char* src) {
  __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src));
  __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 16));
  __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 32));
  __m128i d = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 48));
  _mm_stream_si128(reinterpret_cast<__m128i*>(dst), a);
  _mm_stream_si128(reinterpret_cast<__m128i*>(dst + 16), b);
  _mm_stream_si128(reinterpret_cast<__m128i*>(dst + 32), c);
  _mm_stream_si128(reinterpret_cast<__m128i*>(dst + 48), d);
}
#endif

// memcpy with non-temporal (streaming) stores, for copies much larger than
// the caches: they would otherwise read every destination line before
// writing it. Blocks of 4 pages are copied interleaved, a line of each page
// in turn, so four read streams are in flight at once — what glibc's
// memcpy does for one huge copy (its "large_memcpy_4x"), but not for the
// many bucket-sized pieces of a pack, which it copies with ordinary stores:
// measured here (2-vCPU Xeon VM, 521 MB in 25 MiB pieces, one thread):
// memcpy per piece 5.4 GB/s, a plain streaming loop 6.7 GB/s, this 9.0 GB/s,
// one memcpy of the whole 9.0 GB/s.
void stream_copy(void* dst_v, const void* src_v, size_t bytes) {
#if TIDAL_HAVE_STREAMING_STORES
  char* dst = static_cast<char*>(dst_v);
  const char* src = static_cast<const char*>(src_v);
  const size_t head = std::min(bytes, (64 - reinterpret_cast<uintptr_t>(dst) % 64) % 64);
  std::memcpy(dst, src, head);
  dst += head;
  src += head;
  bytes -= head;
  constexpr size_t kPage = 4096, kBlock = 4 * kPage;
  size_t i = 0;
  for (; i + kBlock <= bytes; i += kBlock) {
    for (size_t line = 0; line < kPage; line += 64) {
      for (size_t page = 0; page < kBlock; page += kPage) {
        const char* from = src + i + page + line;
        _mm_prefetch(from + 128, _MM_HINT_T0);
        stream_line(dst + i + page + line, from);
      }
    }
  }
  for (; i + 64 <= bytes; i += 64) stream_line(dst + i, src + i);
  std::memcpy(dst + i, src + i, bytes - i);
  _mm_sfence();  // streamed lines are visible before the copy counts as done
#else
  std::memcpy(dst_v, src_v, bytes);
#endif
}

#if defined(__GNUC__)
#define TIDAL_INLINE_INTO_CLONES inline __attribute__((always_inline))
#else
#define TIDAL_INLINE_INTO_CLONES inline
#endif

// dst[i] = convert(src[i] * scale) for `count` elements. Inlined into each
// clone of copy_run, so it is compiled for that clone's instruction set.
TIDAL_INLINE_INTO_CLONES void convert_range(const void* src_v, void* dst_v, size_t count,
                                            const CopyOp& op) {
  const float s = op.scale;
  auto in = [&](size_t i) -> float {
    switch (op.src_dtype) {
      case TIDAL_F32: return static_cast<const float*>(src_v)[i];
      case TIDAL_BF16: return bf16_to_float(static_cast<const uint16_t*>(src_v)[i]);
      default: return f16_to_float(static_cast<const uint16_t*>(src_v)[i]);
    }
  };
  const bool f16_cast = (op.src_dtype == TIDAL_F16 || op.dst_dtype == TIDAL_F16) &&
                        op.src_dtype != TIDAL_BF16 && op.dst_dtype != TIDAL_BF16;
  if (f16_cast && have_f16c()) {
    f16_convert_f16c(src_v, op.src_dtype, dst_v, op.dst_dtype, count, s);
    return;
  }
  if (op.src_dtype == TIDAL_F64) {
    const double* src = static_cast<const double*>(src_v);
    double* dst = static_cast<double*>(dst_v);
    for (size_t i = 0; i < count; ++i) dst[i] = src[i] * static_cast<double>(s);
  } else if (op.src_dtype == TIDAL_F32 && op.dst_dtype == TIDAL_F32) {
    const float* src = static_cast<const float*>(src_v);
    float* dst = static_cast<float*>(dst_v);
    for (size_t i = 0; i < count; ++i) dst[i] = src[i] * s;
  } else if (op.src_dtype == TIDAL_F32 && op.dst_dtype == TIDAL_BF16) {
    const float* src = static_cast<const float*>(src_v);
    uint16_t* dst = static_cast<uint16_t*>(dst_v);
    if (have_avx512_bf16()) {
      f32_to_bf16_avx512(src, dst, count, s);
      return;
    }
    for (size_t i = 0; i < count; ++i) dst[i] = float_to_bf16(src[i] * s);
  } else if (op.src_dtype == TIDAL_BF16 && op.dst_dtype == TIDAL_BF16 && have_avx512_bf16()) {
    bf16_scale_avx512(static_cast<const uint16_t*>(src_v), static_cast<uint16_t*>(dst_v), count,
                      s);
  } else if (op.src_dtype == TIDAL_BF16 && op.dst_dtype == TIDAL_F32) {
    const uint16_t* src = static_cast<const uint16_t*>(src_v);
    float* dst = static_cast<float*>(dst_v);
    for (size_t i = 0; i < count; ++i) dst[i] = bf16_to_float(src[i]) * s;
  } else if (op.dst_dtype == TIDAL_F32) {  // f16 -> f32
    float* dst = static_cast<float*>(dst_v);
    for (size_t i = 0; i < count; ++i) dst[i] = in(i) * s;
  } else {  // to bf16 or f16 from f32, bf16 or f16
    uint16_t* dst = static_cast<uint16_t*>(dst_v);
    const bool to_bf16 = op.dst_dtype == TIDAL_BF16;
    for (size_t i = 0; i < count; ++i) {
      float v = in(i) * s;
      dst[i] = to_bf16 ? float_to_bf16(v) : float_to_f16(v);
    }
  }
}

#if TIDAL_HAVE_STREAMING_STORES
// convert_range for runs much larger than the caches, the way stream_copy
// copies: the source is read in blocks of 4 pages, 256 bytes of each page
// in turn (four read streams in flight), converted into an L1-sized buffer
// and streamed out with non-temporal stores. DiT-B/2 on the 2-vCPU test VM,
// two threads: bf16 -> f32 unpack 0.83-1.06x of the memcpy bound (plain
// loop: 0.60-0.68x), f32 -> bf16 pack 0.53-0.65x (0.46-0.51x).
TIDAL_INLINE_INTO_CLONES void stream_convert(const void* src_v, void* dst_v, size_t count,
                                             const CopyOp& op) {
  const size_t ses = dtype_size(op.src_dtype), des = dtype_size(op.dst_dtype);
  const char* src = static_cast<const char*>(src_v);
  char* dst = static_cast<char*>(dst_v);
  constexpr size_t kPage = 4096, kChunk = 256;
  alignas(64) char staged[4 * kPage * 2];  // one block's output; des <= 2 * ses
  if (des > 2 * ses || reinterpret_cast<uintptr_t>(dst) % des != 0) {
    convert_range(src_v, dst_v, count, op);
    return;
  }
  const size_t head =
      std::min(count, (64 - reinterpret_cast<uintptr_t>(dst) % 64) % 64 / des);
  convert_range(src, dst, head, op);
  src += head * ses;
  dst += head * des;
  count -= head;
  const size_t page_elems = kPage / ses, chunk_elems = kChunk / ses, block = 4 * page_elems;
  size_t i = 0;
  for (; i + block <= count; i += block) {
    for (size_t e = 0; e < page_elems; e += chunk_elems) {
      for (size_t page = 0; page < 4; ++page) {
        const size_t at = page * page_elems + e;
        convert_range(src + (i + at) * ses, staged + at * des, chunk_elems, op);
      }
    }
    for (size_t b = 0; b < block * des; b += 64) stream_line(dst + i * des + b, staged + b);
  }
  convert_range(src + i * ses, dst + i * des, count - i, op);
  _mm_sfence();  // streamed lines are visible before the copy counts as done
}
#endif

// One run of `count` elements. Cloned for AVX2 (picked at load time where
// the CPU has it): the conversions need wide integer ops that baseline
// x86-64 (SSE2) lacks. Not under sanitizers: their instrumented ifunc
// resolver would run before the sanitizer runtime is initialised.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    !defined(__SANITIZE_THREAD__) && !defined(__SANITIZE_ADDRESS__)
__attribute__((target_clones("avx2", "default")))
#endif
void copy_run(const void* src_v, void* dst_v, size_t count, const CopyOp& op, bool streaming) {
  const size_t es = dtype_size(op.src_dtype);
  if (op.plain()) {
    if (src_v == dst_v) return;
    if (streaming) stream_copy(dst_v, src_v, count * es);
    else std::memcpy(dst_v, src_v, count * es);
    return;
  }
#if TIDAL_HAVE_STREAMING_STORES
  if (streaming && src_v != dst_v && op.src_dtype == TIDAL_F32 && op.dst_dtype == TIDAL_BF16 &&
      have_avx512_bf16()) {
    f32_to_bf16_avx512_streaming(static_cast<const float*>(src_v), static_cast<uint16_t*>(dst_v),
                                 count, op.scale);
    return;
  }
  if (streaming && src_v != dst_v) {
    stream_convert(src_v, dst_v, count, op);
    return;
  }
#endif
  convert_range(src_v, dst_v, count, op);
}

// Copies elements [begin, end) of the table's concatenated runs.
void copy_range(const CopyDesc* descs, const size_t* prefix, size_t n, size_t begin,
                size_t end, const CopyOp& op, bool streaming) {
  const size_t ses = dtype_size(op.src_dtype), des = dtype_size(op.dst_dtype);
  // The run holding `begin`: the last run whose prefix is <= begin.
  size_t d = static_cast<size_t>(std::upper_bound(prefix, prefix + n + 1, begin) - prefix) - 1;
  for (size_t pos = begin; pos < end && d < n; ++d) {
    const size_t run_lo = pos - prefix[d];
    const size_t run_hi = std::min(end, prefix[d + 1]) - prefix[d];
    if (run_hi > run_lo) {
      copy_run(static_cast<const char*>(descs[d].src) + run_lo * ses,
               static_cast<char*>(descs[d].dst) + run_lo * des, run_hi - run_lo, op, streaming);
    }
    pos = prefix[d + 1];
  }
}

}  // namespace

void cpu_run_copy_table(const CopyDesc* descs, const size_t* prefix, size_t n,
                        const CopyOp& op) {
  const size_t total = prefix[n];
  const size_t bytes = total * std::max(dtype_size(op.src_dtype), dtype_size(op.dst_dtype));
  const bool streaming = bytes >= kStreamingCopyBytes;
  size_t parts = std::min(parallel_width(), bytes / (kParallelCopyBytes / 2));
  if (parts <= 1) {
    copy_range(descs, prefix, n, 0, total, op, streaming);
    return;
  }
  // Equal element ranges, rounded to 64 elements so parts do not share
  // cache lines at their seams.
  const size_t step = (total / parts + 63) / 64 * 64;
  run_parallel(parts, [&](size_t p) {
    size_t lo = std::min(total, p * step), hi = p + 1 == parts ? total : std::min(total, lo + step);
    if (lo < hi) copy_range(descs, prefix, n, lo, hi, op, streaming);
  });
}

}  // namespace tidal
