// The overlap hooks on device memory (label gpu): the grad reducer and the
// param gatherer over a 1-rank NCCL communicator, with stream waits (the
// host never blocks), a bf16 communication dtype, a no-sync step, and the
// bucketed all-gather round trip. Skips with the reason when no GPU is
// usable. One GPU allows one NCCL rank; the multi-rank logic of the hooks
// is tested on host memory (local_bucketing_test, mpi_bucketing_test).
#include <cstring>
#include <vector>

#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include "tidal/bucket.h"
#include "tidal/nccl.h"
#include "tidal/overlap.h"

namespace {

// Small integers: exact in f32 and bf16, and their halves too.
float value(size_t tensor, size_t e) { return static_cast<float>((tensor * 7 + e) % 64); }

class CudaOverlapHooks : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!tidal_cuda_device_available()) {
      GTEST_SKIP() << "no usable CUDA device: " << tidal_last_error();
    }
    ncclUniqueId id;
    ASSERT_EQ(tidal_nccl_get_unique_id(&id), TIDAL_SUCCESS) << tidal_last_error();
    ASSERT_EQ(cudaStreamCreate(&stream_), cudaSuccess);
    ASSERT_EQ(tidal_comm_create_nccl(id, 1, 0, stream_, nullptr, &comm_), TIDAL_SUCCESS)
        << tidal_last_error();
    for (size_t t = 0; t < counts_.size(); ++t) {
      void* d = nullptr;
      ASSERT_EQ(cudaMalloc(&d, counts_[t] * 4), cudaSuccess);
      descs_.push_back(tidal_tensor_desc_t{d, counts_[t], TIDAL_F32});
    }
  }
  void TearDown() override {
    for (auto& d : descs_) cudaFree(d.data);
    if (comm_) EXPECT_EQ(tidal_comm_destroy(comm_), TIDAL_SUCCESS);
    if (stream_) cudaStreamDestroy(stream_);
  }
  void fill_tensors(float scale) {
    for (size_t t = 0; t < counts_.size(); ++t) {
      std::vector<float> h(counts_[t]);
      for (size_t e = 0; e < h.size(); ++e) h[e] = scale * value(t, e);
      ASSERT_EQ(cudaMemcpy(descs_[t].data, h.data(), h.size() * 4, cudaMemcpyHostToDevice),
                cudaSuccess);
    }
  }
  tidal_tensor_list_t make_list(int order, int comm_dtype) {
    tidal_bucket_options_t o = TIDAL_BUCKET_OPTIONS_INITIALIZER;
    o.bucket_bytes = 128 << 10;
    o.first_bucket_bytes = 16 << 10;
    o.order = order;
    o.comm_dtype = comm_dtype;
    tidal_tensor_list_t list = nullptr;
    EXPECT_EQ(tidal_tensor_list_create(comm_, descs_.data(), descs_.size(), &o, &list),
              TIDAL_SUCCESS) << tidal_last_error();
    return list;
  }
  // Every element of every tensor, read from a host copy of the shard.
  void expect_shard_holds(tidal_tensor_list_t list, const std::vector<unsigned char>& shard,
                          float scale) {
    for (size_t t = 0; t < counts_.size(); ++t) {
      size_t n = 0;
      tidal_tensor_list_shard_segments(list, t, nullptr, 0, &n);
      std::vector<tidal_shard_segment_t> segs(n);
      tidal_tensor_list_shard_segments(list, t, segs.data(), n, &n);
      size_t covered = 0;
      for (const auto& s : segs) {
        for (size_t e = 0; e < s.count; ++e) {
          float got;
          std::memcpy(&got, shard.data() + s.shard_offset + e * 4, 4);
          ASSERT_EQ(got, scale * value(t, s.tensor_offset + e)) << "tensor " << t;
        }
        covered += s.count;
      }
      EXPECT_EQ(covered, counts_[t]) << "tensor " << t;
    }
  }

  const std::vector<size_t> counts_ = {3, 70000, 1, 5000, 26000, 9};
  std::vector<tidal_tensor_desc_t> descs_;
  cudaStream_t stream_ = nullptr;
  tidal_comm_t comm_ = nullptr;
};

TEST_F(CudaOverlapHooks, GradReducerWithBf16CommAndNoSyncStepLandsInTheShard) {
  fill_tensors(1.0f);
  tidal_tensor_list_t list = make_list(TIDAL_BUCKET_ORDER_REVERSE, TIDAL_BF16);
  ASSERT_NE(list, nullptr);
  tidal_grad_reducer_options_t ro = TIDAL_GRAD_REDUCER_OPTIONS_INITIALIZER;
  ro.pre_scale = 0.5f;
  tidal_grad_reducer_t reducer = nullptr;
  ASSERT_EQ(tidal_grad_reducer_create(list, &ro, &reducer), TIDAL_SUCCESS) << tidal_last_error();
  void* shard = nullptr;
  size_t bytes = 0;
  ASSERT_EQ(tidal_grad_reducer_shard(reducer, &shard, &bytes), TIDAL_SUCCESS);

  // A no-sync step communicates nothing.
  ASSERT_EQ(tidal_grad_reducer_set_sync(reducer, 0), TIDAL_SUCCESS);
  for (size_t t = 0; t < counts_.size(); ++t) ASSERT_EQ(tidal_grad_ready(reducer, t), TIDAL_SUCCESS);
  ASSERT_EQ(tidal_grad_reducer_wait(reducer), TIDAL_SUCCESS) << tidal_last_error();
  tidal_bucket_counters_t c{};
  tidal_grad_reducer_get_counters(reducer, &c);
  EXPECT_EQ(c.buckets_launched, 0u);

  // A synced step, gradients marked out of order, the stream (not the
  // host) waits, then the shard is read back on that stream.
  ASSERT_EQ(tidal_grad_reducer_set_sync(reducer, 1), TIDAL_SUCCESS);
  for (size_t t : {4, 0, 5, 2, 1, 3}) ASSERT_EQ(tidal_grad_ready(reducer, t), TIDAL_SUCCESS);
  ASSERT_EQ(tidal_grad_reducer_wait_stream(reducer, stream_), TIDAL_SUCCESS) << tidal_last_error();
  std::vector<unsigned char> host(bytes);
  ASSERT_EQ(cudaMemcpyAsync(host.data(), shard, bytes, cudaMemcpyDeviceToHost, stream_),
            cudaSuccess);
  ASSERT_EQ(cudaStreamSynchronize(stream_), cudaSuccess);
  expect_shard_holds(list, host, 0.5f);
  size_t nb = 0;
  tidal_tensor_list_num_buckets(list, &nb);
  tidal_grad_reducer_get_counters(reducer, &c);
  EXPECT_EQ(c.buckets_launched, nb);
  EXPECT_EQ(tidal_grad_reducer_destroy(reducer), TIDAL_SUCCESS);
  EXPECT_EQ(tidal_tensor_list_destroy(list), TIDAL_SUCCESS);
}

TEST_F(CudaOverlapHooks, ParamGathererPrefetchesAndTheStreamWaits) {
  fill_tensors(1.0f);
  tidal_tensor_list_t list = make_list(TIDAL_BUCKET_ORDER_FORWARD, -1);
  ASSERT_NE(list, nullptr);
  size_t bytes = 0, nb = 0;
  tidal_tensor_list_shard_bytes(list, &bytes);
  tidal_tensor_list_num_buckets(list, &nb);
  ASSERT_GT(nb, 2u) << "the test needs several buckets";
  // The shard: reduce-scatter the filled tensors into it, then wipe them.
  void* shard = nullptr;
  ASSERT_EQ(cudaMalloc(&shard, bytes), cudaSuccess);
  ASSERT_EQ(tidal_bucketed_reduce_scatter(list, shard, TIDAL_SUM, nullptr, nullptr), TIDAL_SUCCESS)
      << tidal_last_error();
  for (auto& d : descs_) ASSERT_EQ(cudaMemset(d.data, 0xff, d.count * 4), cudaSuccess);

  tidal_param_gatherer_options_t go = TIDAL_PARAM_GATHERER_OPTIONS_INITIALIZER;
  go.depth = 2;
  tidal_param_gatherer_t g = nullptr;
  ASSERT_EQ(tidal_param_gatherer_create(list, shard, &go, &g), TIDAL_SUCCESS) << tidal_last_error();
  for (size_t b = 0; b < nb; ++b) ASSERT_EQ(tidal_param_prefetch(g, b), TIDAL_SUCCESS);
  for (size_t b = 0; b < nb; ++b) {
    ASSERT_EQ(tidal_param_wait_stream(g, b, stream_), TIDAL_SUCCESS) << tidal_last_error();
  }
  for (size_t t = 0; t < counts_.size(); ++t) {
    std::vector<float> h(counts_[t]);
    ASSERT_EQ(cudaMemcpyAsync(h.data(), descs_[t].data, h.size() * 4, cudaMemcpyDeviceToHost,
                              stream_), cudaSuccess);
    ASSERT_EQ(cudaStreamSynchronize(stream_), cudaSuccess);
    for (size_t e = 0; e < h.size(); ++e) ASSERT_EQ(h[e], value(t, e)) << "tensor " << t;
  }
  // Released buckets gather again; a second pass matches too.
  ASSERT_EQ(tidal_param_release(g, SIZE_MAX), TIDAL_SUCCESS);
  ASSERT_EQ(cudaMemset(descs_[1].data, 0, descs_[1].count * 4), cudaSuccess);
  ASSERT_EQ(tidal_param_gather_layer(g, 0, counts_.size() - 1), TIDAL_SUCCESS)
      << tidal_last_error();
  std::vector<float> h(counts_[1]);
  ASSERT_EQ(cudaMemcpy(h.data(), descs_[1].data, h.size() * 4, cudaMemcpyDeviceToHost),
            cudaSuccess);
  for (size_t e = 0; e < h.size(); ++e) ASSERT_EQ(h[e], value(1, e));
  EXPECT_EQ(tidal_param_gatherer_destroy(g), TIDAL_SUCCESS);
  EXPECT_EQ(tidal_tensor_list_destroy(list), TIDAL_SUCCESS);
  cudaFree(shard);
}

TEST_F(CudaOverlapHooks, BucketedAllGatherWithBf16CastRoundTrips) {
  fill_tensors(1.0f);
  tidal_tensor_list_t list = make_list(TIDAL_BUCKET_ORDER_FORWARD, TIDAL_BF16);
  ASSERT_NE(list, nullptr);
  size_t bytes = 0;
  tidal_tensor_list_shard_bytes(list, &bytes);
  void* shard = nullptr;
  ASSERT_EQ(cudaMalloc(&shard, bytes), cudaSuccess);
  tidal_request_t req = nullptr;
  ASSERT_EQ(tidal_bucketed_reduce_scatter(list, shard, TIDAL_SUM, nullptr, &req), TIDAL_SUCCESS)
      << tidal_last_error();
  ASSERT_EQ(tidal_wait(req), TIDAL_SUCCESS) << tidal_last_error();
  tidal_request_free(req);
  for (auto& d : descs_) ASSERT_EQ(cudaMemset(d.data, 0, d.count * 4), cudaSuccess);
  tidal_bucketed_options_t bo = TIDAL_BUCKETED_OPTIONS_INITIALIZER;
  bo.post_scale = 2.0f;
  ASSERT_EQ(tidal_bucketed_all_gather(list, shard, &bo, &req), TIDAL_SUCCESS)
      << tidal_last_error();
  ASSERT_EQ(tidal_request_wait_stream(req, stream_), TIDAL_SUCCESS) << tidal_last_error();
  ASSERT_EQ(cudaStreamSynchronize(stream_), cudaSuccess);
  ASSERT_EQ(tidal_wait(req), TIDAL_SUCCESS);
  tidal_request_free(req);
  for (size_t t = 0; t < counts_.size(); ++t) {
    std::vector<float> h(counts_[t]);
    ASSERT_EQ(cudaMemcpy(h.data(), descs_[t].data, h.size() * 4, cudaMemcpyDeviceToHost),
              cudaSuccess);
    for (size_t e = 0; e < h.size(); ++e) ASSERT_EQ(h[e], 2.0f * value(t, e)) << "tensor " << t;
  }
  EXPECT_EQ(tidal_tensor_list_destroy(list), TIDAL_SUCCESS);
  cudaFree(shard);
}

}  // namespace
