// The fused CUDA pack kernel (label gpu): bitwise equal to the CPU kernel
// for plain, scaled and cast copies with aligned and unaligned runs; ONE
// launch per table; and a bucketed reduce-scatter on a 1-rank NCCL
// communicator. Skips with the reason when no GPU is usable.
#include <cstring>
#include <random>
#include <vector>

#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include "collectives/kernels/copy_table.h"
#include "collectives/kernels/cuda/pack_kernel_cuda.h"
#include "tidal/bucket.h"
#include "tidal/nccl.h"

namespace {

using tidal::CopyOp;
using tidal::CopyTable;

class CudaPackKernel : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!tidal_cuda_device_available()) {
      GTEST_SKIP() << "no usable CUDA device: " << tidal_last_error();
    }
  }
};

// Packs runs (some starting at odd element offsets, so both the 16-byte
// and the scalar paths run) on the GPU and on the CPU; compares bytes.
void compare_with_cpu(const CopyOp& op) {
  const std::vector<size_t> counts = {1, 5, 8192, 8193, 100000, 3, 40000, 17};
  const size_t ses = tidal_dtype_size(op.src_dtype), des = tidal_dtype_size(op.dst_dtype);
  size_t src_total = 0, dst_total = 0;
  for (size_t c : counts) src_total += c + 1, dst_total += c + 2;
  std::vector<unsigned char> src(src_total * ses);
  std::mt19937 rng(5);
  for (size_t i = 0; i < src_total; ++i) {
    float f = static_cast<float>(rng() % 20000) / 7.0f - 1000.0f;
    if (ses == 4) std::memcpy(&src[i * 4], &f, 4);
    else { uint32_t u; std::memcpy(&u, &f, 4); uint16_t h = u >> 16; std::memcpy(&src[i * 2], &h, 2); }
  }
  void *d_src = nullptr, *d_dst = nullptr;
  ASSERT_EQ(cudaMalloc(&d_src, src.size()), cudaSuccess);
  ASSERT_EQ(cudaMalloc(&d_dst, dst_total * des), cudaSuccess);
  cudaMemcpy(d_src, src.data(), src.size(), cudaMemcpyHostToDevice);
  cudaMemset(d_dst, 0, dst_total * des);
  std::vector<unsigned char> host_dst(dst_total * des, 0), got(dst_total * des);
  CopyTable gpu, cpu;
  size_t so = 0, dof = 0;
  for (size_t c : counts) {
    so += 1;  // shift every run: odd offsets defeat 16-byte alignment
    gpu.add(static_cast<char*>(d_src) + so * ses, static_cast<char*>(d_dst) + dof * des, c);
    cpu.add(src.data() + so * ses, host_dst.data() + dof * des, c);
    so += c, dof += c + 2;
  }
  ASSERT_TRUE(gpu.finalize(true).ok());
  ASSERT_TRUE(cpu.finalize(false).ok());
  const uint64_t before = tidal::cuda_copy_launches();
  ASSERT_TRUE(gpu.run(op, nullptr).ok());
  EXPECT_EQ(tidal::cuda_copy_launches() - before, 1u) << "one launch per table";
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  ASSERT_TRUE(cpu.run(op, nullptr).ok());
  cudaMemcpy(got.data(), d_dst, got.size(), cudaMemcpyDeviceToHost);
  EXPECT_EQ(std::memcmp(got.data(), host_dst.data(), got.size()), 0)
      << tidal_dtype_name(op.src_dtype) << "->" << tidal_dtype_name(op.dst_dtype);
  cudaFree(d_src);
  cudaFree(d_dst);
}

TEST_F(CudaPackKernel, PlainScaledAndCastCopiesMatchTheCpuKernelBitwise) {
  // The default grid, a block per tile, and 3 blocks striding over all tiles.
  for (uint32_t cap : {0u, UINT32_MAX, 3u}) {
    tidal::cuda_set_copy_grid_cap(cap);
    compare_with_cpu(CopyOp{TIDAL_F32, TIDAL_F32, 1.0f});
    compare_with_cpu(CopyOp{TIDAL_F32, TIDAL_F32, 0.125f});
    compare_with_cpu(CopyOp{TIDAL_F32, TIDAL_BF16, 0.5f});
    compare_with_cpu(CopyOp{TIDAL_BF16, TIDAL_F32, 2.0f});
    compare_with_cpu(CopyOp{TIDAL_BF16, TIDAL_BF16, 1.0f});
    compare_with_cpu(CopyOp{TIDAL_F32, TIDAL_F16, 0.25f});
  }
  tidal::cuda_set_copy_grid_cap(0);
}

TEST_F(CudaPackKernel, BucketedReduceScatterOnOneNcclRankReturnsTheTensors) {
  ncclUniqueId id;
  ASSERT_EQ(tidal_nccl_get_unique_id(&id), TIDAL_SUCCESS) << tidal_last_error();
  tidal_comm_t comm = nullptr;
  ASSERT_EQ(tidal_comm_create_nccl(id, 1, 0, nullptr, nullptr, &comm), TIDAL_SUCCESS)
      << tidal_last_error();
  const std::vector<size_t> counts = {3, 70000, 1, 5000, 260000};
  std::vector<tidal_tensor_desc_t> descs;
  std::vector<std::vector<float>> host(counts.size());
  for (size_t t = 0; t < counts.size(); ++t) {
    host[t].resize(counts[t]);
    for (size_t e = 0; e < counts[t]; ++e) host[t][e] = static_cast<float>((t * 31 + e) % 97);
    void* d = nullptr;
    ASSERT_EQ(cudaMalloc(&d, counts[t] * 4), cudaSuccess);
    cudaMemcpy(d, host[t].data(), counts[t] * 4, cudaMemcpyHostToDevice);
    descs.push_back(tidal_tensor_desc_t{d, counts[t], TIDAL_F32});
  }
  tidal_bucket_options_t o = TIDAL_BUCKET_OPTIONS_INITIALIZER;
  o.bucket_bytes = 256 << 10;
  tidal_tensor_list_t list = nullptr;
  ASSERT_EQ(tidal_tensor_list_create(comm, descs.data(), descs.size(), &o, &list), TIDAL_SUCCESS)
      << tidal_last_error();
  size_t bytes = 0, nb = 0;
  tidal_tensor_list_shard_bytes(list, &bytes);
  tidal_tensor_list_num_buckets(list, &nb);
  void* shard = nullptr;
  ASSERT_EQ(cudaMalloc(&shard, bytes), cudaSuccess);
  const uint64_t before = tidal::cuda_copy_launches();
  ASSERT_EQ(tidal_bucketed_reduce_scatter(list, shard, TIDAL_SUM, nullptr, nullptr), TIDAL_SUCCESS)
      << tidal_last_error();
  EXPECT_EQ(tidal::cuda_copy_launches() - before, nb) << "one pack launch per bucket";
  std::vector<unsigned char> h(bytes);
  cudaMemcpy(h.data(), shard, bytes, cudaMemcpyDeviceToHost);
  for (size_t t = 0; t < counts.size(); ++t) {
    size_t n = 0;
    tidal_tensor_list_shard_segments(list, t, nullptr, 0, &n);
    std::vector<tidal_shard_segment_t> segs(n);
    tidal_tensor_list_shard_segments(list, t, segs.data(), n, &n);
    for (const auto& s : segs) {
      EXPECT_EQ(std::memcmp(h.data() + s.shard_offset, host[t].data() + s.tensor_offset,
                            s.count * 4), 0) << "tensor " << t;
    }
  }
  EXPECT_EQ(tidal_tensor_list_destroy(list), TIDAL_SUCCESS);
  cudaFree(shard);
  for (auto& d : descs) cudaFree(d.data);
  EXPECT_EQ(tidal_comm_destroy(comm), TIDAL_SUCCESS);
}

}  // namespace
