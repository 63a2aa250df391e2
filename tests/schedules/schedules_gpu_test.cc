// Device memory and schedules: a device buffer on a host backend is a
// clear error, and on NCCL every schedule but native is unsupported. Skips
// (with the reason) where no GPU is usable.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include "tests/common/local_ranks.h"
#include "tidal/nccl.h"
#include "tidal/ring_attention.h"
#include "tidal/schedule.h"

namespace {

#define REQUIRE_GPU()                                                            \
  if (!tidal_cuda_device_available()) GTEST_SKIP() << "no usable GPU: " << tidal_last_error()

TEST(SchedulesGpu, DeviceBufferOnAHostBackendIsAnInvalidArgument) {
  REQUIRE_GPU();
  void* device = nullptr;
  ASSERT_EQ(cudaMalloc(&device, 64), cudaSuccess);
  tidal_config_t config = TIDAL_CONFIG_INITIALIZER;
  config.topology = "1x2";
  tidal_testing::run_local_ranks(2, [&](tidal_comm_t comm, int) {
    float host[8] = {0};
    // Mixed memory kinds: host send buffer, device receive buffer.
    EXPECT_EQ(tidal_all_gather_ex(host, device, 4, TIDAL_F32, TIDAL_SCHEDULE_RING, comm,
                                  nullptr), TIDAL_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(tidal_last_error()).find("device memory"), std::string::npos)
        << tidal_last_error();
    EXPECT_EQ(tidal_ulysses_all_to_all(device, host, 1, 2, 2, TIDAL_F32,
                                       TIDAL_ULYSSES_SEQ_TO_HEADS, comm, nullptr),
              TIDAL_ERR_INVALID_ARGUMENT);
  }, &config);
  cudaFree(device);
}

TEST(SchedulesGpu, OnNcclOnlyNativeAndAutoRun) {
  REQUIRE_GPU();
  ncclUniqueId id;
  ASSERT_EQ(tidal_nccl_get_unique_id(&id), TIDAL_SUCCESS) << tidal_last_error();
  tidal_comm_t comm = nullptr;
  ASSERT_EQ(tidal_comm_create_nccl(id, 1, 0, nullptr, nullptr, &comm), TIDAL_SUCCESS)
      << tidal_last_error();
  float* buf = nullptr;
  ASSERT_EQ(cudaMalloc(reinterpret_cast<void**>(&buf), 64 * sizeof(float)), cudaSuccess);
  for (tidal_schedule_t s : {TIDAL_SCHEDULE_RING, TIDAL_SCHEDULE_TORUS2D, TIDAL_SCHEDULE_NDRING}) {
    EXPECT_EQ(tidal_all_reduce_ex(buf, buf, 64, TIDAL_F32, TIDAL_SUM, s, comm, nullptr),
              TIDAL_ERR_UNSUPPORTED) << tidal_schedule_name(s);
  }
  EXPECT_EQ(tidal_all_reduce_ex(buf, buf, 64, TIDAL_F32, TIDAL_SUM, TIDAL_SCHEDULE_AUTO, comm,
                                nullptr), TIDAL_SUCCESS) << tidal_last_error();
  tidal_ring_rotation_t rot = nullptr;
  EXPECT_EQ(tidal_ring_rotation_create(comm, nullptr, 0, 4, TIDAL_F32, TIDAL_ROTATE_BLOCKS, &rot),
            TIDAL_ERR_UNSUPPORTED);
  cudaFree(buf);
  EXPECT_EQ(tidal_comm_destroy(comm), TIDAL_SUCCESS);
}

}  // namespace
