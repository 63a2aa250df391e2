// pinned_pool_test.cc — the pinned pool: size classes within 1.25x, zero
// allocations in a steady loader loop, reuse only after the fence, mixed
// workload overhead, errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <deque>
#include <random>
#include <thread>

#include "lib/memory/host_allocation.h"
#include "tidal/pinned.h"

namespace {

tidal_pinned_pool_t make_pool(size_t preallocate, size_t growth) {
  tidal_pinned_config_t config = TIDAL_PINNED_CONFIG_INITIALIZER;
  config.preallocate_bytes = preallocate;
  config.growth_bytes = growth;
  tidal_pinned_pool_t pool = nullptr;
  EXPECT_EQ(tidal_pinned_pool_create(&config, &pool), TIDAL_SUCCESS) << tidal_last_error();
  return pool;
}

tidal_pinned_stats_t stats_of(tidal_pinned_pool_t pool) {
  tidal_pinned_stats_t s;
  EXPECT_EQ(tidal_pinned_pool_stats(pool, &s), TIDAL_SUCCESS);
  return s;
}

// Fills every byte of a batch with its index.
tidal_status_t fill_with_index(void*, uint64_t index, void* buffer, size_t bytes) {
  memset(buffer, static_cast<int>(index & 0xff), bytes);
  return TIDAL_SUCCESS;
}

}  // namespace

TEST(PinnedSizeClass, EveryRequestWastesAtMostAQuarter) {
  std::mt19937_64 rng(1);
  for (int i = 0; i < 200000; ++i) {
    size_t bytes = 257 + rng() % (size_t(1) << (8 + i % 28));
    size_t block = tidal_pinned_size_class(bytes);
    ASSERT_GE(block, bytes);
    ASSERT_LE(static_cast<double>(block), 1.25 * static_cast<double>(bytes)) << bytes;
  }
  EXPECT_EQ(tidal_pinned_size_class(1), 256u);
  EXPECT_EQ(tidal_pinned_size_class(4096), 4096u);
  EXPECT_EQ(tidal_pinned_size_class(4097), 5120u);
  EXPECT_EQ(tidal_pinned_size_class(6 << 20), size_t(6) << 20);
}

// The pool is created with room for every batch in flight, so once it
// exists the loop makes no host allocation at all: each batch either reuses
// a cached block (hit) or carves one from the reservation (miss), and misses
// stop at the number of blocks in circulation.
TEST(PinnedPool, LoaderLoopMakesZeroHostAllocationsAndBoundedMisses) {
  const size_t batch = 3 << 20;
  const uint64_t batches = 60;
  tidal_pinned_pool_t pool = make_pool(32 << 20, 16 << 20);
  const uint64_t host_calls_after_creation = tidal::host_allocation_count();
  tidal_pinned_loader_t loader = nullptr;
  ASSERT_EQ(tidal_pinned_loader_create(pool, batch, 3, batches, fill_with_index, nullptr, &loader), TIDAL_SUCCESS);
  // A "copy engine" signals each batch's fence two steps later, as a
  // host-to-device copy completes after the step that queued it.
  std::deque<tidal_pinned_fence_t> in_flight;
  uint64_t expected_index = 0;
  for (;;) {
    void* data = nullptr;
    uint64_t index = 0;
    ASSERT_EQ(tidal_pinned_loader_next(loader, &data, &index), TIDAL_SUCCESS) << tidal_last_error();
    if (!data) break;
    ASSERT_EQ(index, expected_index++);
    ASSERT_EQ(static_cast<unsigned char*>(data)[batch - 1], index & 0xff);
    tidal_pinned_fence_t fence = nullptr;
    ASSERT_EQ(tidal_pinned_free_after_fence(pool, data, &fence), TIDAL_SUCCESS);
    in_flight.push_back(fence);
    if (in_flight.size() > 2) {
      tidal_pinned_fence_signal(in_flight.front());
      in_flight.pop_front();
    }
  }
  EXPECT_EQ(expected_index, batches);
  tidal_pinned_stats_t s = stats_of(pool);
  EXPECT_EQ(tidal::host_allocation_count(), host_calls_after_creation);
  EXPECT_EQ(s.host_allocations, 1u) << "the preallocation should have sufficed";
  EXPECT_EQ(s.hits + s.misses, batches);
  // At most 3 ready + 1 being filled + 2 fenced blocks exist at once.
  EXPECT_LE(s.misses, 6u);
  EXPECT_GE(s.hits, batches - 6);
  for (tidal_pinned_fence_t f : in_flight) tidal_pinned_fence_signal(f);
  tidal_pinned_loader_destroy(loader);
  tidal_pinned_pool_destroy(pool);
}

TEST(PinnedPool, FencedBufferIsReusedOnlyAfterItsFenceIsSignaled) {
  tidal_pinned_pool_t pool = make_pool(1 << 20, 1 << 20);
  void* first = nullptr;
  ASSERT_EQ(tidal_pinned_alloc(pool, 100000, &first), TIDAL_SUCCESS);
  tidal_pinned_fence_t fence = nullptr;
  ASSERT_EQ(tidal_pinned_free_after_fence(pool, first, &fence), TIDAL_SUCCESS);
  void* second = nullptr;
  ASSERT_EQ(tidal_pinned_alloc(pool, 100000, &second), TIDAL_SUCCESS);
  EXPECT_NE(second, first) << "a block was reused while its reader was still busy";
  EXPECT_EQ(stats_of(pool).pending_blocks, 1u);
  // Signaled from another thread, as a copy engine would.
  std::thread reader([fence] { tidal_pinned_fence_signal(fence); });
  reader.join();
  void* third = nullptr;
  ASSERT_EQ(tidal_pinned_alloc(pool, 100000, &third), TIDAL_SUCCESS);
  EXPECT_EQ(third, first);
  tidal_pinned_stats_t s = stats_of(pool);
  EXPECT_EQ(s.pending_blocks, 0u);
  EXPECT_EQ(s.hits, 1u);
  EXPECT_EQ(s.misses, 2u);
  EXPECT_GE(s.fence_waits, 1u);
  tidal_pinned_pool_destroy(pool);
}

TEST(PinnedPool, MixedSizeWorkloadUsesAtMostOneQuarterMoreThanRequested) {
  tidal_pinned_pool_t pool = make_pool(64 << 20, 64 << 20);
  std::mt19937_64 rng(7);
  // Variable-resolution batches: 4 KiB .. 8 MiB, log-uniform, 6 in flight.
  std::deque<void*> live;
  uint64_t peak_requested = 0;
  for (int i = 0; i < 3000; ++i) {
    size_t bytes = static_cast<size_t>(4096.0 * std::pow(2.0, (rng() % 1100) / 100.0));
    void* p = nullptr;
    ASSERT_EQ(tidal_pinned_alloc(pool, bytes, &p), TIDAL_SUCCESS);
    live.push_back(p);
    tidal_pinned_stats_t s = stats_of(pool);
    peak_requested = std::max(peak_requested, s.requested_in_use);
    ASSERT_LE(static_cast<double>(s.bytes_in_use), 1.25 * static_cast<double>(s.requested_in_use));
    if (live.size() > 6) {
      ASSERT_EQ(tidal_pinned_free(pool, live.front()), TIDAL_SUCCESS);
      live.pop_front();
    }
  }
  tidal_pinned_stats_t s = stats_of(pool);
  EXPECT_LE(static_cast<double>(s.high_water), 1.25 * static_cast<double>(peak_requested));
  for (void* p : live) tidal_pinned_free(pool, p);
  tidal_pinned_pool_destroy(pool);
}

TEST(PinnedPool, ExhaustedPoolWithoutGrowthReturnsNoMemory) {
  tidal_pinned_pool_t pool = make_pool(1 << 20, 0);
  void* p = nullptr;
  EXPECT_EQ(tidal_pinned_alloc(pool, 2 << 20, &p), TIDAL_ERR_NO_MEMORY);
  EXPECT_NE(std::string(tidal_last_error()).find("growth is off"), std::string::npos);
  EXPECT_EQ(stats_of(pool).host_allocations, 1u);
  tidal_pinned_pool_destroy(pool);
}

TEST(PinnedPool, BadFreesAreErrorsNotCrashes) {
  tidal_pinned_pool_t pool = make_pool(1 << 20, 0);
  int local = 0;
  EXPECT_EQ(tidal_pinned_free(pool, &local), TIDAL_ERR_INVALID_ARGUMENT);
  void* p = nullptr;
  ASSERT_EQ(tidal_pinned_alloc(pool, 1000, &p), TIDAL_SUCCESS);
  EXPECT_EQ(tidal_pinned_free(pool, p), TIDAL_SUCCESS);
  EXPECT_EQ(tidal_pinned_free(pool, p), TIDAL_ERR_INVALID_ARGUMENT);  // double free
  EXPECT_NE(std::string(tidal_last_error()).find("already released"), std::string::npos);
  EXPECT_EQ(tidal_pinned_alloc(pool, 0, &p), TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tidal_pinned_alloc(nullptr, 10, &p), TIDAL_ERR_INVALID_ARGUMENT);
  tidal_pinned_pool_destroy(pool);
}

// The argument errors the loops above never hit: an allocation past the
// pool's limit, a fenced free of memory the pool did not lend, a loader
// with no batch or no depth, and a malformed TIDAL_PINNED_BYTES.
TEST(PinnedPool, OversizedRequestsBadFencedFreesAndBadLoadersAreErrors) {
  tidal_pinned_pool_t pool = make_pool(1 << 20, 0);
  void* p = nullptr;
  EXPECT_EQ(tidal_pinned_alloc(pool, size_t(1) << 51, &p), TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(tidal_last_error()).find("too large"), std::string::npos)
      << tidal_last_error();
  int local = 0;
  tidal_pinned_fence_t fence = nullptr;
  EXPECT_EQ(tidal_pinned_free_after_fence(pool, &local, &fence), TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(tidal_last_error()).find("tidal_pinned_free_after_fence"),
            std::string::npos)
      << tidal_last_error();
  EXPECT_EQ(fence, nullptr);
  EXPECT_EQ(tidal_pinned_free_after_fence(pool, &local, nullptr), TIDAL_ERR_INVALID_ARGUMENT);
  tidal_pinned_loader_t loader = nullptr;
  EXPECT_EQ(tidal_pinned_loader_create(pool, 0, 2, 0, fill_with_index, nullptr, &loader),
            TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tidal_pinned_loader_create(pool, 4096, 0, 0, fill_with_index, nullptr, &loader),
            TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(tidal_last_error()).find("must be positive"), std::string::npos)
      << tidal_last_error();
  EXPECT_EQ(tidal_pinned_loader_create(pool, 4096, 2, 0, nullptr, nullptr, &loader),
            TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(loader, nullptr);
  EXPECT_EQ(stats_of(pool).bytes_in_use, 0u);
  tidal_pinned_pool_destroy(pool);

  setenv("TIDAL_PINNED_BYTES", "64M", 1);  // a byte count, no suffixes
  tidal_pinned_pool_t bad = nullptr;
  EXPECT_EQ(tidal_pinned_pool_create(nullptr, &bad), TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(tidal_last_error()).find("TIDAL_PINNED_BYTES='64M'"), std::string::npos)
      << tidal_last_error();
  EXPECT_EQ(bad, nullptr);
  unsetenv("TIDAL_PINNED_BYTES");
}

TEST(PinnedPool, LoaderReportsTheFillFunctionsError) {
  tidal_pinned_pool_t pool = make_pool(1 << 20, 0);
  auto failing = [](void*, uint64_t index, void*, size_t) -> tidal_status_t {
    return index == 2 ? TIDAL_ERR_IO : TIDAL_SUCCESS;
  };
  tidal_pinned_loader_t loader = nullptr;
  ASSERT_EQ(tidal_pinned_loader_create(pool, 4096, 2, 0, failing, nullptr, &loader), TIDAL_SUCCESS);
  void* data = nullptr;
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(tidal_pinned_loader_next(loader, &data, nullptr), TIDAL_SUCCESS);
    tidal_pinned_free(pool, data);
  }
  EXPECT_EQ(tidal_pinned_loader_next(loader, &data, nullptr), TIDAL_ERR_IO);
  EXPECT_NE(std::string(tidal_last_error()).find("batch 2"), std::string::npos);
  EXPECT_EQ(data, nullptr);
  tidal_pinned_loader_destroy(loader);
  EXPECT_EQ(stats_of(pool).bytes_in_use, 0u);
  tidal_pinned_pool_destroy(pool);
}

TEST(PinnedPool, StreamOrderedFreeNeedsAGpu) {
  tidal_pinned_pool_t pool = make_pool(1 << 20, 0);
  void* p = nullptr;
  ASSERT_EQ(tidal_pinned_alloc(pool, 1000, &p), TIDAL_SUCCESS);
  tidal_status_t s = tidal_pinned_free_after_stream(pool, p, nullptr);
  if (s == TIDAL_SUCCESS) {
    GTEST_SKIP() << "a GPU is usable here; pinned_gpu_test covers the stream path";
  }
  EXPECT_EQ(s, TIDAL_ERR_UNSUPPORTED);
  EXPECT_EQ(tidal_pinned_free(pool, p), TIDAL_SUCCESS);  // still lent, still freeable
  tidal_pinned_pool_destroy(pool);
}
