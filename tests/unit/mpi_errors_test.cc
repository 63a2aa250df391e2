// MPI backend error paths (run under mpiexec -n 2).
#include <mpi.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tidal/mpi.h"

namespace {

int world_rank() {
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}

TEST(MpiErrors, NullCommunicatorIsRejected) {
  tidal_comm_t c = nullptr;
  EXPECT_EQ(tidal_comm_create_mpi(MPI_COMM_NULL, nullptr, &c), TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(tidal_last_error()).find("MPI_COMM_NULL"), std::string::npos);
  EXPECT_EQ(c, nullptr);
  EXPECT_EQ(tidal_comm_create_mpi(MPI_COMM_WORLD, nullptr, nullptr), TIDAL_ERR_INVALID_ARGUMENT);
}

TEST(MpiErrors, WithArgumentChecksOnMismatchedCountsAreReportedOnEveryRank) {
  tidal_config_t cfg = TIDAL_CONFIG_INITIALIZER;
  cfg.check_args = 1;
  tidal_comm_t c = nullptr;
  ASSERT_EQ(tidal_comm_create_mpi(MPI_COMM_WORLD, &cfg, &c), TIDAL_SUCCESS);
  std::vector<float> x(16, 1), y(16);
  size_t count = world_rank() == 1 ? 5 : 4;
  EXPECT_EQ(tidal_all_reduce(x.data(), y.data(), count, TIDAL_F32, TIDAL_SUM, c, nullptr),
            TIDAL_ERR_MISMATCH);
  std::string msg = tidal_comm_last_error(c);
  EXPECT_NE(msg.find("rank 1 called all_reduce(count=5"), std::string::npos) << msg;
  EXPECT_EQ(tidal_comm_destroy(c), TIDAL_SUCCESS);
}

// tidal_send/recv promise TIDAL_ERR_MISMATCH when sizes disagree. Over MPI
// a larger message used to be a truncated receive, which MPICH reports
// through MPI_COMM_WORLD's (fatal) error handler: the process died. Both
// directions must come back as the mismatch on the receiver, the process
// alive. A fresh communicator per case (a failure breaks it).
TEST(MpiErrors, PointToPointSizesThatDisagreeAreAMismatchOnTheReceiver) {
  for (int recv_count : {4, 16}) {  // smaller than the 8 sent (truncation), then larger
    tidal_comm_t c = nullptr;
    ASSERT_EQ(tidal_comm_create_mpi(MPI_COMM_WORLD, nullptr, &c), TIDAL_SUCCESS);
    std::vector<int32_t> b(16, world_rank());
    if (world_rank() == 0) {
      EXPECT_EQ(tidal_send(b.data(), 8, TIDAL_I32, 1, 3, c, nullptr), TIDAL_SUCCESS)
          << tidal_last_error();
    } else if (world_rank() == 1) {
      EXPECT_EQ(tidal_recv(b.data(), recv_count, TIDAL_I32, 0, 3, c, nullptr),
                TIDAL_ERR_MISMATCH) << recv_count;
      const std::string msg = tidal_comm_last_error(c);
      const std::string want = "rank 0 sent 32 bytes to rank 1 (tag 3) which expected " +
                               std::to_string(recv_count * 4);
      EXPECT_NE(msg.find(want), std::string::npos) << msg;
    }
    MPI_Barrier(MPI_COMM_WORLD);
    EXPECT_EQ(tidal_comm_abort(c), TIDAL_SUCCESS);
    EXPECT_EQ(tidal_comm_destroy(c), TIDAL_SUCCESS);
  }
}

TEST(MpiErrors, ARankThatJoinsLateMakesTheOthersTimeOut) {
  tidal_config_t cfg = TIDAL_CONFIG_INITIALIZER;
  cfg.timeout_s = 1.0;
  tidal_comm_t c = nullptr;
  ASSERT_EQ(tidal_comm_create_mpi(MPI_COMM_WORLD, &cfg, &c), TIDAL_SUCCESS);
  int32_t x = 1, y = 0;
  if (world_rank() == 0) {
    auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(tidal_all_reduce(&x, &y, 1, TIDAL_I32, TIDAL_SUM, c, nullptr), TIDAL_ERR_TIMEOUT);
    double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_LT(took, 2.0);
    EXPECT_NE(std::string(tidal_comm_last_error(c)).find("timed out"), std::string::npos);
  } else {
    // Join after rank 0 gave up, so MPI's collective still completes and the
    // processes can finalise cleanly.
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));
    tidal_all_reduce(&x, &y, 1, TIDAL_I32, TIDAL_SUM, c, nullptr);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  EXPECT_EQ(tidal_comm_abort(c), TIDAL_SUCCESS);
  EXPECT_EQ(tidal_comm_destroy(c), TIDAL_SUCCESS);
}

}  // namespace
