// buffer_runs.h — a collective's buffer given as runs of memory in element
// order instead of one contiguous block: a bucket whose tensors stay where
// they live. A transport whose ranks read each other's memory (local
// threads) reduces straight out of such runs and gathers straight into
// them, so the bucket needs no pack or unpack pass (Transport::
// reads_peer_memory).
#pragma once

#include <algorithm>
#include <cstddef>

namespace tidal {

struct BufferRuns {
  // Run i holds elements [prefix[i], prefix[i+1]) of the logical buffer at
  // base[i]; a null base is padding: it reads as zeros and writes to it are
  // dropped. prefix has n + 1 entries, prefix[0] == 0, non-decreasing.
  void* const* base = nullptr;
  const size_t* prefix = nullptr;
  size_t n = 0;

  size_t elements() const { return n ? prefix[n] : 0; }
  // The run holding `element` (< elements()): the last run starting at or
  // before it, skipping empty runs.
  size_t run_at(size_t element) const {
    return static_cast<size_t>(std::upper_bound(prefix, prefix + n + 1, element) - prefix) - 1;
  }
  // Where element e (< elements(), esize bytes each) lives — nullptr on
  // padding — and how many elements from it are contiguous, capped at `max`.
  char* at(size_t e, size_t esize, size_t max, size_t* contiguous) const {
    const size_t i = run_at(e);
    *contiguous = std::min(max, prefix[i + 1] - e);
    return base[i] ? static_cast<char*>(base[i]) + (e - prefix[i]) * esize : nullptr;
  }
  // Calls f(memory or nullptr on padding, offset from `first`, length) for
  // each piece of elements [first, first + count), in order.
  template <typename F>
  void each(size_t first, size_t count, size_t esize, F f) const {
    for (size_t off = 0, len = 0; off < count; off += len) {
      char* p = at(first + off, esize, count - off, &len);
      f(p, off, len);
    }
  }
};

}  // namespace tidal
