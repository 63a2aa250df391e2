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
};

}  // namespace tidal
