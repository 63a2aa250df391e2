// MPI backend error paths (run under mpiexec -n 2).
#include <mpi.h>

#include <chrono>
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
