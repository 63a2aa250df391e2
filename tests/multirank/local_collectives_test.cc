// The collective matrix, point-to-point and determinism on local thread
// ranks, for 1, 2, 3, 4, 7, 8 and 16 ranks.
#include "tests/common/local_ranks.h"
#include "tests/multirank/collective_suite.h"

#include <algorithm>
#include <vector>

namespace {

class LocalCollectives : public ::testing::TestWithParam<int> {};

TEST_P(LocalCollectives, EveryCollectiveDtypeOpAndCountMatchesTheReference) {
  tidal_testing::run_local_ranks(GetParam(), [](tidal_comm_t comm, int) {
    tidal_testing::run_collective_suite(comm);
  });
}

TEST_P(LocalCollectives, SendsAroundARingArriveIntactWhenEveryRankSendsFirst) {
  tidal_testing::run_local_ranks(GetParam(), [](tidal_comm_t comm, int) {
    tidal_testing::run_p2p_ring(comm);
  });
}

TEST_P(LocalCollectives, RepeatedReductionsAreBitwiseIdentical) {
  tidal_testing::run_local_ranks(GetParam(), [](tidal_comm_t comm, int) {
    tidal_testing::run_reproducibility(comm);
  });
}

// Collectives whose working set is far larger than the caches stream their
// output (non-temporal stores) unless in place: out of place into an
// output that starts off a 16-byte boundary, and in place, against the
// exact sums (small integers, so every order of the reduction agrees).
class LocalLargeCollectives : public ::testing::TestWithParam<int> {};

TEST_P(LocalLargeCollectives, MatchTheReferenceInAndOutOfPlace) {
  const int n = GetParam();
  const size_t count = (size_t(1) << 20) + 3;  // per rank: (n + 1) x 4 MiB of working set
  tidal_testing::run_local_ranks(n, [&](tidal_comm_t comm, int rank) {
    const size_t total = count * static_cast<size_t>(n);
    auto input = [&](int r, size_t i) { return static_cast<float>(i % 1000 + r); };
    auto sum = [&](size_t i) {
      float s = 0;
      for (int r = 0; r < n; ++r) s += input(r, i);
      return s;
    };
    std::vector<float> send(total), recv(total + 1, -1.0f);
    for (size_t i = 0; i < total; ++i) send[i] = input(rank, i);
    float* out = recv.data() + 1;  // off the 16-byte grid
    ASSERT_EQ(tidal_reduce_scatter(send.data(), out, count, TIDAL_F32, TIDAL_SUM, comm, nullptr),
              TIDAL_SUCCESS) << tidal_last_error();
    for (size_t i = 0; i < count; ++i) {
      ASSERT_EQ(out[i], sum(rank * count + i)) << "reduce-scatter element " << i;
    }
    EXPECT_EQ(recv[0], -1.0f) << "nothing written before the output";
    float* own = send.data() + rank * count;  // in place: recvbuf = sendbuf + rank * count
    ASSERT_EQ(tidal_reduce_scatter(send.data(), own, count, TIDAL_F32, TIDAL_SUM, comm, nullptr),
              TIDAL_SUCCESS) << tidal_last_error();
    for (size_t i = 0; i < count; ++i) {
      ASSERT_EQ(own[i], sum(rank * count + i)) << "in-place reduce-scatter element " << i;
    }
    for (size_t i = 0; i < total; ++i) send[i] = input(rank, i);
    ASSERT_EQ(tidal_all_reduce(send.data(), out, total, TIDAL_F32, TIDAL_SUM, comm, nullptr),
              TIDAL_SUCCESS) << tidal_last_error();
    for (size_t i = 0; i < total; ++i) ASSERT_EQ(out[i], sum(i)) << "all-reduce element " << i;
    ASSERT_EQ(tidal_all_reduce(send.data(), send.data(), total, TIDAL_F32, TIDAL_SUM, comm,
                               nullptr), TIDAL_SUCCESS) << tidal_last_error();
    for (size_t i = 0; i < total; ++i) {
      ASSERT_EQ(send[i], sum(i)) << "in-place all-reduce element " << i;
    }
    // The all-gather streams its output the same way.
    std::vector<float> mine(count);
    for (size_t i = 0; i < count; ++i) mine[i] = input(rank, i);
    ASSERT_EQ(tidal_all_gather(mine.data(), out, count, TIDAL_F32, comm, nullptr), TIDAL_SUCCESS)
        << tidal_last_error();
    for (size_t i = 0; i < total; ++i) {
      ASSERT_EQ(out[i], input(static_cast<int>(i / count), i % count)) << "all-gather " << i;
    }
    std::copy(mine.begin(), mine.end(), send.begin() + rank * count);  // in place
    ASSERT_EQ(tidal_all_gather(send.data() + rank * count, send.data(), count, TIDAL_F32, comm,
                               nullptr), TIDAL_SUCCESS) << tidal_last_error();
    for (size_t i = 0; i < total; ++i) {
      ASSERT_EQ(send[i], input(static_cast<int>(i / count), i % count)) << "in place " << i;
    }
    // All-to-all (block k of rank r lands as block r of rank k) and a
    // broadcast from the last rank, both streamed.
    for (size_t i = 0; i < total; ++i) send[i] = input(rank, i);
    ASSERT_EQ(tidal_all_to_all(send.data(), out, count, TIDAL_F32, comm, nullptr), TIDAL_SUCCESS)
        << tidal_last_error();
    for (size_t i = 0; i < total; ++i) {
      const size_t from = i / count;
      ASSERT_EQ(out[i], input(static_cast<int>(from), rank * count + i % count)) << "a2a " << i;
    }
    ASSERT_EQ(tidal_broadcast(send.data(), out, total, TIDAL_F32, n - 1, comm, nullptr),
              TIDAL_SUCCESS) << tidal_last_error();
    for (size_t i = 0; i < total; ++i) ASSERT_EQ(out[i], input(n - 1, i)) << "broadcast " << i;
  });
}

INSTANTIATE_TEST_SUITE_P(Ranks, LocalLargeCollectives, ::testing::Values(1, 2, 3, 4),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return std::to_string(info.param) + "ranks";
                         });

INSTANTIATE_TEST_SUITE_P(Ranks, LocalCollectives, ::testing::Values(1, 2, 3, 4, 7, 8, 16),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return std::to_string(info.param) + "ranks";
                         });

}  // namespace
