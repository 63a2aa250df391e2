// The same collective matrix on MPI processes (ctest runs this file under
// mpiexec -n 2 and -n 4).
#include <mpi.h>

#include "tests/multirank/collective_suite.h"
#include "tidal/mpi.h"

namespace {

class MpiCollectives : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(tidal_comm_create_mpi(MPI_COMM_WORLD, nullptr, &comm_), TIDAL_SUCCESS)
        << tidal_last_error();
  }
  void TearDown() override { EXPECT_EQ(tidal_comm_destroy(comm_), TIDAL_SUCCESS); }
  tidal_comm_t comm_ = nullptr;
};

TEST_F(MpiCollectives, EveryCollectiveDtypeOpAndCountMatchesTheReference) {
  tidal_testing::run_collective_suite(comm_);
}

TEST_F(MpiCollectives, SendsAroundARingArriveIntactWhenEveryRankSendsFirst) {
  tidal_testing::run_p2p_ring(comm_);
}

TEST_F(MpiCollectives, RepeatedReductionsAreBitwiseIdentical) {
  tidal_testing::run_reproducibility(comm_);
}

TEST_F(MpiCollectives, SplitIntoEvenAndOddRanksGivesWorkingCommunicators) {
  int rank = 0, size = 0;
  tidal_comm_rank(comm_, &rank);
  tidal_comm_size(comm_, &size);
  tidal_comm_t half = nullptr;
  ASSERT_EQ(tidal_comm_split(comm_, rank % 2, -rank, nullptr, &half), TIDAL_SUCCESS)
      << tidal_last_error();
  ASSERT_NE(half, nullptr);
  int hrank = -1, hsize = 0;
  tidal_comm_rank(half, &hrank);
  tidal_comm_size(half, &hsize);
  EXPECT_EQ(hsize, (size + 1 - rank % 2) / 2);
  int32_t one = 1, total = 0;
  ASSERT_EQ(tidal_all_reduce(&one, &total, 1, TIDAL_I32, TIDAL_SUM, half, nullptr), TIDAL_SUCCESS);
  EXPECT_EQ(total, hsize);
  // key = -rank reverses the order inside each half.
  EXPECT_EQ(hrank, hsize - 1 - rank / 2);
  EXPECT_EQ(tidal_comm_destroy(half), TIDAL_SUCCESS);
}

}  // namespace
