// Every schedule over UCX (a backend with no native collectives) under
// mpiexec -n 2 and -n 4: MPI is only the out-of-band all-gather and the
// native reference. `native` on UCX runs the ring, so it is checked too.
#include <mpi.h>

#include "tests/schedules/schedule_check.h"
#include "tidal/mpi.h"
#include "tidal/oob.h"

namespace {

int mpi_allgather(const void* send, void* recv, size_t bytes, void*) {
  return MPI_Allgather(send, static_cast<int>(bytes), MPI_BYTE, recv, static_cast<int>(bytes),
                       MPI_BYTE, MPI_COMM_WORLD) == MPI_SUCCESS ? 0 : 1;
}

TEST(UcxSchedules, EveryScheduleOverUcxMatchesMpiNativeBitwise) {
  int rank = 0, size = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  // Two "nodes" when the size allows it, so torus2d has two real phases.
  const std::string layout = size % 2 == 0 && size > 2 ? "2x" + std::to_string(size / 2)
                                                      : std::to_string(size);
  tidal_config_t config = TIDAL_CONFIG_INITIALIZER;
  config.topology = layout.c_str();
  tidal_oob_t oob = TIDAL_OOB_INITIALIZER;
  oob.allgather = mpi_allgather;
  oob.rank = rank;
  oob.nranks = size;
  tidal_comm_t ucx = nullptr, mpi = nullptr;
  ASSERT_EQ(tidal_comm_create_oob(&oob, "ucx", &config, &ucx), TIDAL_SUCCESS)
      << tidal_last_error();
  ASSERT_EQ(tidal_comm_create_mpi(MPI_COMM_WORLD, &config, &mpi), TIDAL_SUCCESS)
      << tidal_last_error();
  tidal_testing::check_all_schedules(
      ucx, {TIDAL_F32, TIDAL_BF16, TIDAL_I64, TIDAL_FP8_E4M3}, {0, 7, 1031},
      {TIDAL_SCHEDULE_NATIVE, TIDAL_SCHEDULE_RING, TIDAL_SCHEDULE_TORUS2D,
       TIDAL_SCHEDULE_NDRING, TIDAL_SCHEDULE_AUTO},
      mpi);
  EXPECT_EQ(tidal_comm_destroy(ucx), TIDAL_SUCCESS);
  EXPECT_EQ(tidal_comm_destroy(mpi), TIDAL_SUCCESS);
}

}  // namespace
