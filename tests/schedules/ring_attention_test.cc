// The ND-ring rotation: the order proven for every factorisation up to 64
// ranks, the runtime rotation and the gradient return on local ranks
// (including outer rings of a different size than the inner ring), ring
// attention against full attention, and the Ulysses all-to-all.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <set>
#include <thread>

#include "collectives/schedules/rotation_order.h"
#include "tests/common/local_ranks.h"
#include "tests/schedules/schedule_check.h"
#include "tidal/local.h"
#include "tidal/ring_attention.h"
#include "tidal/schedule.h"

namespace {

using tidal::RankLayout;
using tidal::RotationOrder;

std::vector<RankLayout> layouts_up_to(int max_world) {
  std::vector<RankLayout> out;
  for (int n = 1; n <= max_world; ++n) {
    for (int ndims = 1; ndims <= 3; ++ndims) {
      for (const auto& dims : tidal::factorisations(n, ndims)) {
        RankLayout l;
        EXPECT_TRUE(RankLayout::create(dims, n, &l).ok());
        out.push_back(l);
      }
    }
  }
  return out;
}

// Follows the forward transfers the runtime makes and checks that each
// step's delivered block is the one the order promises.
void simulate_forward_transfers(const RotationOrder& o) {
  const int n = o.steps();
  const RankLayout& L = o.layout();
  // arriving[step][rank] = block delivered for that step by a transfer.
  std::vector<std::vector<int>> arriving(n + 1, std::vector<int>(n, -1));
  int started = 0, consumed = 0;
  for (int s = 0; s < n; ++s) {
    for (int r = 0; r < n; ++r) {
      int held = s == 0 ? r : arriving[s][r];
      if (s > 0) ++consumed;
      ASSERT_EQ(held, o.block_at(r, s)) << L.to_string() << " rank " << r << " step " << s;
      for (int d : o.dims_forwarded_at(s)) {
        const int to = L.shifted(r, d, 1), when = s + L.stride(d);
        ASSERT_LT(when, n);
        ASSERT_EQ(arriving[when][to], -1) << "two transfers deliver one step";
        ASSERT_EQ(o.dim_delivering(when), d);
        arriving[when][to] = held;
        ++started;
      }
    }
  }
  EXPECT_EQ(started, consumed) << L.to_string() << ": every transfer is used once";
}

TEST(RotationOrder, EveryRankSeesEveryBlockOnceAndBlocksReturnHomeUpTo64Ranks) {
  for (const RankLayout& L : layouts_up_to(64)) {
    RotationOrder o(L);
    const int n = o.steps();
    for (int r = 0; r < n; ++r) {
      std::set<int> seen;
      for (int s = 0; s < n; ++s) {
        seen.insert(o.block_at(r, s));
        EXPECT_EQ(o.holder_of(o.block_at(r, s), s), r);
      }
      EXPECT_EQ(static_cast<int>(seen.size()), n) << L.to_string() << " rank " << r;
      EXPECT_EQ(o.block_at(r, n), r) << L.to_string() << ": not home after a full cycle";
      EXPECT_EQ(o.holder_of(r, n), r);
    }
    for (int s = 0; s < n; ++s) {  // each step is a permutation of the blocks
      std::set<int> held;
      for (int r = 0; r < n; ++r) held.insert(o.block_at(r, s));
      EXPECT_EQ(static_cast<int>(held.size()), n);
    }
    simulate_forward_transfers(o);
  }
}

TEST(RotationOrder, OuterRingTransfersHaveAWholeInnerCycleToComplete) {
  RankLayout L;
  ASSERT_TRUE(RankLayout::parse("4x3", 12, &L).ok());
  RotationOrder o(L);
  EXPECT_EQ(o.dims_forwarded_at(0), (std::vector<int>{0, 1}));  // both rings start at once
  EXPECT_EQ(o.dims_forwarded_at(3), (std::vector<int>{}));      // last inner step
  EXPECT_EQ(o.dims_forwarded_at(4), (std::vector<int>{0, 1}));
  EXPECT_EQ(o.dim_delivering(4), 1);  // started at step 0: 4 steps of compute
  EXPECT_EQ(o.dims_forwarded_at(8), (std::vector<int>{0}));  // last outer round
}

// One block per rank: 5 doubles = owner, then owner*10 + i.
std::vector<double> block_of(int owner) {
  std::vector<double> b(5);
  for (int i = 0; i < 5; ++i) b[i] = i == 0 ? owner : owner * 10.0 + i;
  return b;
}

void rotate_blocks_and_check(tidal_comm_t comm, int rank, const std::string& layout) {
  tidal_ring_rotation_t rot = nullptr;
  ASSERT_EQ(tidal_ring_rotation_create(comm, nullptr, 0, 5, TIDAL_F64, TIDAL_ROTATE_BLOCKS, &rot),
            TIDAL_SUCCESS) << tidal_last_error();
  int steps = 0, size = 0;
  tidal_ring_rotation_steps(rot, &steps);
  tidal_comm_size(comm, &size);
  ASSERT_EQ(steps, size);
  RankLayout L;
  ASSERT_TRUE(RankLayout::parse(layout, size, &L).ok());
  RotationOrder order(L);
  // A second cycle reuses the buffers; the third borrows the caller's block
  // instead of copying it (step 0's data is that block itself); the fourth
  // copies again.
  for (int cycle = 0; cycle < 4; ++cycle) {
    const bool borrow = cycle == 2;
    const std::vector<double> own = block_of(rank);  // alive for the whole cycle
    ASSERT_EQ(borrow ? tidal_ring_rotation_start_borrowed(rot, own.data())
                     : tidal_ring_rotation_start(rot, own.data()),
              TIDAL_SUCCESS) << tidal_last_error();
    std::set<int> seen;
    for (int s = 0; s < steps; ++s) {
      if (s > 0) ASSERT_EQ(tidal_ring_rotation_wait(rot), TIDAL_SUCCESS) << tidal_last_error();
      const void* data = nullptr;
      int id = -1, step = -1;
      ASSERT_EQ(tidal_ring_rotation_current(rot, &data, &id, &step), TIDAL_SUCCESS);
      EXPECT_EQ(step, s);
      EXPECT_EQ(id, order.block_at(rank, s));
      EXPECT_EQ(std::memcmp(data, block_of(id).data(), 5 * sizeof(double)), 0)
          << layout << " rank " << rank << " step " << s << (borrow ? " (borrowed)" : "");
      if (s == 0) EXPECT_EQ(data == own.data(), borrow) << "step 0 holds the caller's block";
      seen.insert(id);
    }
    EXPECT_EQ(static_cast<int>(seen.size()), size);
    EXPECT_EQ(tidal_ring_rotation_wait(rot), TIDAL_ERR_INVALID_USAGE);  // cycle complete
  }
  EXPECT_EQ(tidal_ring_rotation_destroy(rot), TIDAL_SUCCESS);
}

class RotationLayouts : public ::testing::TestWithParam<std::string> {};

TEST_P(RotationLayouts, BlocksVisitEveryRankOnceWithTheirData) {
  const std::string layout = GetParam();
  tidal_config_t config = TIDAL_CONFIG_INITIALIZER;
  config.topology = layout.c_str();
  tidal_testing::run_local_ranks(tidal_testing::layout_world(layout), [&](tidal_comm_t comm, int rank) {
    rotate_blocks_and_check(comm, rank, layout);
  }, &config);
}

// Inner rings of 2, 3, 4 with a different number of rings (the double-ring
// failure case), equal ones, three dims, and 64 ranks.
INSTANTIATE_TEST_SUITE_P(Layouts, RotationLayouts,
                         ::testing::Values("1", "2", "5", "2x3", "3x2", "2x4", "4x2", "3x4",
                                           "4x3", "2x2", "3x3", "2x2x3", "3x2x2", "8x8",
                                           "2x4x8"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return "layout_" + info.param;
                         });

// An abort of the communicator reaches a rotation step blocked on the
// rotation's own sub-communicators (rank 0 never starts its cycle).
TEST(RotationAbort, AbortWakesAWaitBlockedOnAPeerThatNeverStarts) {
  tidal_config_t config = TIDAL_CONFIG_INITIALIZER;
  config.timeout_s = 120;  // the abort, not the timeout, must end the wait
  tidal_comm_t comms[2];
  ASSERT_EQ(tidal_comm_create_local(2, &config, comms), TIDAL_SUCCESS);
  tidal_ring_rotation_t rots[2] = {nullptr, nullptr};
  std::thread peer([&] {
    EXPECT_EQ(tidal_ring_rotation_create(comms[0], nullptr, 0, 4, TIDAL_F32,
                                         TIDAL_ROTATE_BLOCKS, &rots[0]), TIDAL_SUCCESS);
  });
  ASSERT_EQ(tidal_ring_rotation_create(comms[1], nullptr, 0, 4, TIDAL_F32, TIDAL_ROTATE_BLOCKS,
                                       &rots[1]), TIDAL_SUCCESS) << tidal_last_error();
  peer.join();
  float block[4] = {1, 2, 3, 4};
  ASSERT_EQ(tidal_ring_rotation_start(rots[1], block), TIDAL_SUCCESS);
  std::thread aborter([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    tidal_comm_abort(comms[1]);
  });
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(tidal_ring_rotation_wait(rots[1]), TIDAL_ERR_ABORTED) << tidal_last_error();
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 10.0);
  aborter.join();
  tidal_comm_abort(comms[0]);
  EXPECT_EQ(tidal_ring_rotation_destroy(rots[1]), TIDAL_SUCCESS);
  EXPECT_EQ(tidal_ring_rotation_destroy(rots[0]), TIDAL_SUCCESS);
  for (auto c : comms) EXPECT_EQ(tidal_comm_destroy(c), TIDAL_SUCCESS);
}

}  // namespace
