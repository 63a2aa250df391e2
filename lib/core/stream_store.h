// stream_store.h — copies with non-temporal stores, for outputs far larger
// than the caches: a plain copy would first read every destination line
// into the cache (a read-for-ownership) only to overwrite it, and the
// output would evict what the next pass needs. Call stream_fence() before
// another thread may read what was stored.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <emmintrin.h>
#define TIDAL_HAVE_STREAM_STORE 1
#else
#define TIDAL_HAVE_STREAM_STORE 0
#endif

namespace tidal {

// From a working set of this many bytes a pass streams its stores.
constexpr size_t kStreamStoreBytes = size_t(8) << 20;

inline void stream_store(void* dst_v, const void* src_v, size_t bytes) {
  char* dst = static_cast<char*>(dst_v);
  const char* src = static_cast<const char*>(src_v);
  size_t i = 0;
#if TIDAL_HAVE_STREAM_STORE
  const size_t head = (16 - reinterpret_cast<uintptr_t>(dst) % 16) % 16;
  if (head < bytes) {
    std::memcpy(dst, src, head);
    for (i = head; i + 16 <= bytes; i += 16) {
      _mm_stream_si128(reinterpret_cast<__m128i*>(dst + i),
                       _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i)));
    }
  }
#endif
  std::memcpy(dst + i, src + i, bytes - i);
}

// memcpy, or stream_store when `streaming` (the caller fences once after
// its last copy).
inline void copy_out(void* dst, const void* src, size_t bytes, bool streaming) {
  if (streaming) stream_store(dst, src, bytes);
  else std::memcpy(dst, src, bytes);
}

// Orders the streamed stores before this thread's later stores (the
// release that tells a peer the output is ready).
inline void stream_fence() {
#if TIDAL_HAVE_STREAM_STORE
  _mm_sfence();
#endif
}

}  // namespace tidal
