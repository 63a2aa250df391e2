// The NCCL backend on one GPU (skips without one).
#include <cuda_runtime_api.h>

#include <vector>

#include <gtest/gtest.h>

#include "tidal/nccl.h"

namespace {

class Nccl : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!tidal_cuda_device_available()) {
      GTEST_SKIP() << "no GPU: " << tidal_last_error();
    }
  }
};

TEST_F(Nccl, SingleRankAllReduceAndStreamWait) {
  ncclUniqueId id;
  ASSERT_EQ(tidal_nccl_get_unique_id(&id), TIDAL_SUCCESS) << tidal_last_error();
  cudaStream_t stream;
  ASSERT_EQ(cudaStreamCreate(&stream), cudaSuccess);
  tidal_comm_t comm = nullptr;
  ASSERT_EQ(tidal_comm_create_nccl(id, 1, 0, stream, nullptr, &comm), TIDAL_SUCCESS)
      << tidal_last_error();
  const size_t n = 1 << 20;
  std::vector<float> host(n, 2.0f);
  float* dev = nullptr;
  ASSERT_EQ(cudaMalloc(&dev, n * sizeof(float)), cudaSuccess);
  cudaMemcpyAsync(dev, host.data(), n * sizeof(float), cudaMemcpyHostToDevice, stream);
  tidal_request_t req = nullptr;
  ASSERT_EQ(tidal_all_reduce(dev, dev, n, TIDAL_F32, TIDAL_SUM, comm, &req), TIDAL_SUCCESS)
      << tidal_last_error();
  ASSERT_EQ(tidal_request_wait_stream(req, stream), TIDAL_SUCCESS);
  std::vector<float> back(n, 0);
  cudaMemcpyAsync(back.data(), dev, n * sizeof(float), cudaMemcpyDeviceToHost, stream);
  cudaStreamSynchronize(stream);
  EXPECT_EQ(back[0], 2.0f);
  EXPECT_EQ(back[n - 1], 2.0f);
  EXPECT_EQ(tidal_wait(req), TIDAL_SUCCESS);
  tidal_request_free(req);
  // Host memory on a device backend is an error, not a crash.
  EXPECT_EQ(tidal_all_reduce(host.data(), host.data(), n, TIDAL_F32, TIDAL_SUM, comm, nullptr),
            TIDAL_ERR_INVALID_ARGUMENT);
  cudaFree(dev);
  EXPECT_EQ(tidal_comm_destroy(comm), TIDAL_SUCCESS);
  cudaStreamDestroy(stream);
}

TEST(NcclArguments, RankOutsideTheCommunicatorIsRejectedWithoutAGpu) {
  ncclUniqueId id = {};
  tidal_comm_t comm = nullptr;
  EXPECT_EQ(tidal_comm_create_nccl(id, 2, 5, nullptr, nullptr, &comm),
            TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(comm, nullptr);
  EXPECT_EQ(tidal_comm_create_nccl(id, 2, 0, nullptr, nullptr, nullptr),
            TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tidal_comm_wrap_nccl(nullptr, nullptr, nullptr, &comm), TIDAL_ERR_INVALID_ARGUMENT);
}

}  // namespace
