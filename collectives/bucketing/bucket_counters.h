// bucket_counters.h — what bucketed work did, counted where it happens
// (inside the work items), so tests can assert exact counts and users can
// see where time went. Safe to bump from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace tidal {

struct CounterValues {
  uint64_t buckets_launched = 0;   // buckets whose collective was queued
  uint64_t collective_calls = 0;   // collectives queued (one per bucket)
  uint64_t pack_calls = 0;         // fused pack passes run
  uint64_t unpack_calls = 0;       // fused unpack passes run
  uint64_t bytes_communicated = 0; // bucket bytes handed to collectives
  uint64_t pack_ns = 0;            // host time in pack passes (launch time on GPU)
  uint64_t unpack_ns = 0;
  uint64_t wait_ns = 0;            // time callers spent blocked in waits
  uint64_t steps = 0;              // completed reducer / gatherer rounds
  uint64_t overlapped_passes = 0;  // pack/unpack passes run off the progress thread
  uint64_t direct_buckets = 0;     // bucket collectives on the tensors in place (no pass)
};

struct BucketCounters {
  std::atomic<uint64_t> buckets_launched{0}, collective_calls{0}, pack_calls{0},
      unpack_calls{0}, bytes_communicated{0}, pack_ns{0}, unpack_ns{0}, wait_ns{0}, steps{0},
      overlapped_passes{0}, direct_buckets{0};

  CounterValues snapshot() const {
    CounterValues v;
    v.buckets_launched = buckets_launched.load();
    v.collective_calls = collective_calls.load();
    v.pack_calls = pack_calls.load();
    v.unpack_calls = unpack_calls.load();
    v.bytes_communicated = bytes_communicated.load();
    v.pack_ns = pack_ns.load();
    v.unpack_ns = unpack_ns.load();
    v.wait_ns = wait_ns.load();
    v.steps = steps.load();
    v.overlapped_passes = overlapped_passes.load();
    v.direct_buckets = direct_buckets.load();
    return v;
  }
};

// Nanoseconds since `start` on the steady clock.
inline uint64_t elapsed_ns(std::chrono::steady_clock::time_point start) {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::steady_clock::now() - start)
                                   .count());
}

}  // namespace tidal
