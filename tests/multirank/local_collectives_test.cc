// The collective matrix, point-to-point and determinism on local thread
// ranks, for 1, 2, 3, 4, 7, 8 and 16 ranks.
#include "tests/common/local_ranks.h"
#include "tests/multirank/collective_suite.h"

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

INSTANTIATE_TEST_SUITE_P(Ranks, LocalCollectives, ::testing::Values(1, 2, 3, 4, 7, 8, 16),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return std::to_string(info.param) + "ranks";
                         });

}  // namespace
