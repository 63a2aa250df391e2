// FP8 parameter gather on device memory (label gpu): a tensor list with an
// FP8 comm dtype on a 1-rank NCCL communicator gathers into exactly what
// the same list on host memory gives (CPU codec, checked against ml_dtypes
// in tests/codecs), with one encode and one decode launch per bucket; the
// reductions stay refused. Skips with the reason when no GPU is usable.
#include <cstring>
#include <vector>

#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include "collectives/codecs/cuda/fp8_codec_cuda.h"
#include "tests/bucketing/fp8_gather_suite.h"
#include "tidal/local.h"
#include "tidal/nccl.h"

namespace {

using namespace tidal_testing;

class CudaFp8Gather : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!tidal_cuda_device_available()) {
      GTEST_SKIP() << "no usable CUDA device: " << tidal_last_error();
    }
    ncclUniqueId id;
    ASSERT_EQ(tidal_nccl_get_unique_id(&id), TIDAL_SUCCESS) << tidal_last_error();
    ASSERT_EQ(tidal_comm_create_nccl(id, 1, 0, nullptr, nullptr, &nccl_), TIDAL_SUCCESS)
        << tidal_last_error();
    ASSERT_EQ(tidal_comm_create_local(1, nullptr, &local_), TIDAL_SUCCESS) << tidal_last_error();
  }
  void TearDown() override {
    if (nccl_) EXPECT_EQ(tidal_comm_destroy(nccl_), TIDAL_SUCCESS);
    if (local_) EXPECT_EQ(tidal_comm_destroy(local_), TIDAL_SUCCESS);
  }
  tidal_comm_t nccl_ = nullptr, local_ = nullptr;
};

// The case's tensors in device memory (filled with 0xCD) and a list over them.
struct DeviceList {
  std::vector<void*> tensors;
  tidal_tensor_list_t list = nullptr;
  ~DeviceList() {
    if (list) EXPECT_EQ(tidal_tensor_list_destroy(list), TIDAL_SUCCESS);
    for (void* p : tensors) cudaFree(p);
  }
};

void make_device_list(tidal_comm_t comm, const Fp8Case& c, DeviceList* out) {
  const auto counts = test_counts();
  std::vector<tidal_tensor_desc_t> descs;
  for (size_t t = 0; t < counts.size(); ++t) {
    const tidal_dtype_t d = fp8_dtype_of(c, t);
    void* p = nullptr;
    ASSERT_EQ(cudaMalloc(&p, counts[t] * tidal_dtype_size(d)), cudaSuccess);
    ASSERT_EQ(cudaMemset(p, 0xCD, counts[t] * tidal_dtype_size(d)), cudaSuccess);
    out->tensors.push_back(p);
    descs.push_back(tidal_tensor_desc_t{p, counts[t], d});
  }
  const tidal_bucket_options_t o = fp8_list_options(c);
  ASSERT_EQ(tidal_tensor_list_create(comm, descs.data(), descs.size(), &o, &out->list),
            TIDAL_SUCCESS)
      << c.name << ": " << tidal_last_error();
}

TEST_F(CudaFp8Gather, OneNcclRankGathersWhatTheHostListGivesWithOneLaunchPerPass) {
  for (const Fp8Case& c : fp8_cases()) {
    Fp8Gather host;  // the same list on host memory: this rank's shard and the result
    make_fp8_gather(local_, c, &host);
    ASSERT_NE(host.list, nullptr);
    tidal_bucketed_options_t o = TIDAL_BUCKETED_OPTIONS_INITIALIZER;
    o.pre_scale = c.pre;
    o.post_scale = c.post;
    ASSERT_EQ(tidal_bucketed_all_gather(host.list, host.shard.data(), &o, nullptr), TIDAL_SUCCESS)
        << c.name << ": " << tidal_last_error();
    expect_tensors(host.storage, host.want, c.name, "host list");

    DeviceList dev;
    make_device_list(nccl_, c, &dev);
    ASSERT_NE(dev.list, nullptr);
    ASSERT_EQ(shard_bytes_of(dev.list), host.shard.size()) << c.name;
    void* shard = nullptr;
    ASSERT_EQ(cudaMalloc(&shard, host.shard.size()), cudaSuccess);
    cudaMemcpy(shard, host.shard.data(), host.shard.size(), cudaMemcpyHostToDevice);
    const uint64_t before = tidal::cuda_fp8_launches();
    ASSERT_EQ(tidal_bucketed_all_gather(dev.list, shard, &o, nullptr), TIDAL_SUCCESS)
        << c.name << ": " << tidal_last_error();
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    const size_t nb = num_buckets(dev.list);
    EXPECT_EQ(tidal::cuda_fp8_launches() - before, 2 * nb) << c.name << ": encode + decode";
    for (size_t t = 0; t < host.storage.size(); ++t) {
      std::vector<unsigned char> got(host.storage[t].size());
      cudaMemcpy(got.data(), dev.tensors[t], got.size(), cudaMemcpyDeviceToHost);
      EXPECT_EQ(std::memcmp(got.data(), host.storage[t].data(), got.size()), 0)
          << c.name << ": tensor " << t << " differs from the host list's";
    }
    tidal_bucket_counters_t k;
    ASSERT_EQ(tidal_tensor_list_get_counters(dev.list, &k), TIDAL_SUCCESS);
    EXPECT_EQ(k.collective_calls, nb) << c.name;
    EXPECT_EQ(k.pack_calls, nb) << c.name;
    EXPECT_EQ(k.unpack_calls, nb) << c.name;
    cudaFree(shard);
    EXPECT_EQ(tidal_tensor_list_destroy(host.list), TIDAL_SUCCESS);
  }
}

TEST_F(CudaFp8Gather, ReductionsOfAnFp8DeviceListAreUnsupported) {
  DeviceList dev;
  make_device_list(nccl_, fp8_cases()[0], &dev);
  ASSERT_NE(dev.list, nullptr);
  void* shard = nullptr;
  ASSERT_EQ(cudaMalloc(&shard, shard_bytes_of(dev.list)), cudaSuccess);
  EXPECT_EQ(tidal_bucketed_reduce_scatter(dev.list, shard, TIDAL_SUM, nullptr, nullptr),
            TIDAL_ERR_UNSUPPORTED);
  EXPECT_NE(std::string(tidal_last_error()).find("FP8 lose too much precision"),
            std::string::npos)
      << tidal_last_error();
  cudaFree(shard);
}

}  // namespace
