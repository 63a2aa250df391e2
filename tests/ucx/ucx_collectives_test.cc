// Collectives over UCX: the transport has no native collectives, so every
// one runs as a schedule over UCP send/recv. Checked exactly against the
// references of tests/common/exact_values.h (same matrix as the local and
// MPI suites), on the default route (ring) and on torus2d.
#include <mpi.h>

#include <string>

#include <gtest/gtest.h>

#include "tests/multirank/collective_suite.h"
#include "tidal/oob.h"
#include "tidal/tidal.h"

namespace {

int mpi_allgather(const void* send, void* recv, size_t bytes, void*) {
  return MPI_Allgather(send, static_cast<int>(bytes), MPI_BYTE, recv, static_cast<int>(bytes),
                       MPI_BYTE, MPI_COMM_WORLD);
}

tidal_comm_t create_ucx_comm(const tidal_config_t* config) {
  tidal_oob_t oob = TIDAL_OOB_INITIALIZER;
  oob.allgather = mpi_allgather;
  MPI_Comm_rank(MPI_COMM_WORLD, &oob.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &oob.nranks);
  tidal_comm_t comm = nullptr;
  EXPECT_EQ(tidal_comm_create_oob(&oob, "ucx", config, &comm), TIDAL_SUCCESS)
      << tidal_last_error();
  return comm;
}

TEST(UcxCollectives, EveryCollectiveDtypeOpAndCountMatchesTheReferenceOnTheDefaultRoute) {
  tidal_comm_t comm = create_ucx_comm(nullptr);
  ASSERT_NE(comm, nullptr);
  tidal_testing::run_collective_suite(comm);
  EXPECT_EQ(tidal_comm_destroy(comm), TIDAL_SUCCESS);
}

TEST(UcxCollectives, Torus2dMatchesTheReferenceForEveryDtypeAndOp) {
  int n = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &n);
  tidal_config_t config = TIDAL_CONFIG_INITIALIZER;
  config.schedule = TIDAL_SCHEDULE_TORUS2D;
  const std::string topo = n % 2 == 0 ? "2x" + std::to_string(n / 2) : "1x" + std::to_string(n);
  config.topology = topo.c_str();
  tidal_comm_t comm = create_ucx_comm(&config);
  ASSERT_NE(comm, nullptr);
  tidal_testing::SuiteContext c{comm, 0, n};
  tidal_comm_rank(comm, &c.rank);
  for (tidal_dtype_t d : tidal_testing::kAllDtypes) {
    for (size_t count : tidal_testing::kCounts) {
      for (bool in_place : {false, true}) {
        for (tidal_op_t op : tidal_testing::kAllOps) {
          tidal_testing::check_reduce_scatter(c, d, op, count, in_place);
          tidal_testing::check_all_reduce(c, d, op, count, in_place);
        }
        tidal_testing::check_all_gather(c, d, count, in_place);
      }
    }
  }
  EXPECT_EQ(tidal_comm_destroy(comm), TIDAL_SUCCESS);
}

TEST(UcxCollectives, RepeatedReductionsAreBitwiseIdentical) {
  tidal_config_t config = TIDAL_CONFIG_INITIALIZER;
  config.schedule = TIDAL_SCHEDULE_RING;
  tidal_comm_t comm = create_ucx_comm(&config);
  ASSERT_NE(comm, nullptr);
  tidal_testing::run_reproducibility(comm);
  EXPECT_EQ(tidal_comm_destroy(comm), TIDAL_SUCCESS);
}

}  // namespace
