// Every schedule against native under mpiexec -n 4, with the ranks laid
// out as 2x2 (two "nodes" of two) and as 4x1, and the MPI node detection.
#include <mpi.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/schedules/schedule_check.h"
#include "tidal/mpi.h"

namespace {

void check_layout(const char* layout) {
  tidal_config_t config = TIDAL_CONFIG_INITIALIZER;
  config.topology = layout;
  tidal_comm_t comm = nullptr;
  ASSERT_EQ(tidal_comm_create_mpi(MPI_COMM_WORLD, &config, &comm), TIDAL_SUCCESS)
      << tidal_last_error();
  const std::vector<tidal_dtype_t> dtypes(std::begin(tidal_testing::kEveryDtype),
                                          std::end(tidal_testing::kEveryDtype));
  tidal_testing::check_all_schedules(comm, dtypes, {0, 1, 7, 1031});
  EXPECT_EQ(tidal_comm_destroy(comm), TIDAL_SUCCESS);
}

TEST(MpiSchedules, EveryScheduleMatchesNativeAs2x2) { check_layout("2x2"); }

TEST(MpiSchedules, EveryScheduleMatchesNativeAs4x1) { check_layout("4x1"); }

// MPI's phases are rings of messages by default (faster here); forced
// native, each phase is an MPI collective on a sub-communicator.
TEST(MpiSchedules, NativePhasesMatchNativeAs2x2) {
  setenv("TIDAL_SCHEDULE_PHASES", "native", 1);
  check_layout("2x2");
  unsetenv("TIDAL_SCHEDULE_PHASES");
}

TEST(MpiSchedules, NodeDetectionFindsTheRanksOfThisMachineAsOneNode) {
  tidal_comm_t comm = nullptr;
  ASSERT_EQ(tidal_comm_create_mpi(MPI_COMM_WORLD, nullptr, &comm), TIDAL_SUCCESS);
  int size = 0, dims[4] = {0}, ndims = 0;
  tidal_comm_size(comm, &size);
  if (std::getenv("TIDAL_TOPO")) GTEST_SKIP() << "TIDAL_TOPO overrides detection";
  ASSERT_EQ(tidal_comm_get_layout(comm, dims, 4, &ndims), TIDAL_SUCCESS) << tidal_last_error();
  EXPECT_EQ(ndims, 1);  // mpiexec here starts every rank on this machine
  EXPECT_EQ(dims[0], size);
  EXPECT_EQ(tidal_comm_destroy(comm), TIDAL_SUCCESS);
}

TEST(MpiSchedules, ATopologyThatDoesNotMatchTheWorldIsRejected) {
  tidal_config_t config = TIDAL_CONFIG_INITIALIZER;
  config.topology = "3x3";
  tidal_comm_t comm = nullptr;
  ASSERT_EQ(tidal_comm_create_mpi(MPI_COMM_WORLD, &config, &comm), TIDAL_SUCCESS);
  float x = 1, y = 0;
  EXPECT_EQ(tidal_all_reduce_ex(&x, &y, 1, TIDAL_F32, TIDAL_SUM, TIDAL_SCHEDULE_TORUS2D, comm,
                                nullptr),
            TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(tidal_last_error()).find("3x3"), std::string::npos);
  EXPECT_EQ(tidal_comm_destroy(comm), TIDAL_SUCCESS);
}

// `auto` on MPI runs tidal's ring for reductions from 1 MiB (faster than
// MPICH's here) and MPICH's own below and for all-gathers: the traced
// schedule names say which ran, and the results equal native's.
TEST(MpiSchedules, AutoRunsTheRingForLargeReductionsAndNativeOtherwise) {
  tidal_config_t config = TIDAL_CONFIG_INITIALIZER;
  config.log_level = TIDAL_LOG_TRACE;
  tidal_comm_t comm = nullptr;
  ASSERT_EQ(tidal_comm_create_mpi(MPI_COMM_WORLD, &config, &comm), TIDAL_SUCCESS);
  int size = 0, rank = 0;
  tidal_comm_size(comm, &size);
  tidal_comm_rank(comm, &rank);
  const size_t large = (size_t(2) << 20) / sizeof(float);  // 2 MiB all-reduce
  std::vector<float> in(large), out(large), ref(large);
  for (size_t i = 0; i < large; ++i) in[i] = static_cast<float>((i * 3 + rank) % 11);
  testing::internal::CaptureStderr();
  for (size_t count : {size_t(256), large}) {
    ASSERT_EQ(tidal_all_reduce_ex(in.data(), out.data(), count, TIDAL_F32, TIDAL_SUM,
                                  TIDAL_SCHEDULE_AUTO, comm, nullptr), TIDAL_SUCCESS);
    ASSERT_EQ(tidal_all_reduce(in.data(), ref.data(), count, TIDAL_F32, TIDAL_SUM, comm,
                               nullptr), TIDAL_SUCCESS);
    EXPECT_TRUE(std::equal(out.begin(), out.begin() + count, ref.begin())) << count;
  }
  ASSERT_EQ(tidal_all_gather_ex(in.data(), out.data(), large / size, TIDAL_F32,
                                TIDAL_SCHEDULE_AUTO, comm, nullptr), TIDAL_SUCCESS);
  const std::string err = testing::internal::GetCapturedStderr();
  const std::string ring = "schedule 'ring " + std::to_string(size) + "' all_reduce rank " +
                           std::to_string(rank) + "/" + std::to_string(size) + " dtype f32";
  EXPECT_NE(err.find(ring), std::string::npos) << err.substr(0, 2000);
  EXPECT_EQ(err.find("' all_gather rank"), std::string::npos) << "all-gather ran a schedule";
  // Exactly one traced all-reduce schedule: the 1 KiB one ran natively.
  const size_t first = err.find("' all_reduce rank");
  ASSERT_NE(first, std::string::npos);
  EXPECT_EQ(err.find("' all_reduce rank", first + 1), std::string::npos) << err;
  EXPECT_EQ(tidal_comm_destroy(comm), TIDAL_SUCCESS);
}

}  // namespace
