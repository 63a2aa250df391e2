// checkpoint_gpu_test.cc — the CUDA paths (ctest label gpu): async saves of
// device tensors via D2H on the writer's side stream, ordered after the
// producer's stream; pinned-pool reuse only after the reading stream's
// event. Skips without a usable GPU.
#include <gtest/gtest.h>

#include <cuda_runtime_api.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "tests/checkpoint/ckpt_test_util.h"
#include "tidal/ckpt.h"
#include "tidal/nccl.h"
#include "tidal/pinned.h"

using namespace ckpt_test;

namespace {

#define SKIP_WITHOUT_GPU() \
  if (!tidal_cuda_device_available()) GTEST_SKIP() << "no usable CUDA device"

void CUDART_CB sleep_on_stream(void* ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(reinterpret_cast<intptr_t>(ms)));
}

}  // namespace

TEST(CheckpointGpu, AsyncSaveOfDeviceTensorsCopiesAfterTheProducerStream) {
  SKIP_WITHOUT_GPU();
  TempDir dir;
  OwnedTensor host = make_tensor("w", TIDAL_BF16, {1024, 4096}, 5);  // 8 MiB
  void* device = nullptr;
  ASSERT_EQ(cudaMalloc(&device, host.bytes.size()), cudaSuccess);
  ASSERT_EQ(cudaMemset(device, 0, host.bytes.size()), cudaSuccess);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  cudaStream_t producer;
  ASSERT_EQ(cudaStreamCreateWithFlags(&producer, cudaStreamNonBlocking), cudaSuccess);
  // The producer is still busy when the save is queued: the snapshot must
  // see the values it writes, not the zeros before.
  cudaLaunchHostFunc(producer, sleep_on_stream, reinterpret_cast<void*>(intptr_t(200)));
  cudaMemcpyAsync(device, host.bytes.data(), host.bytes.size(), cudaMemcpyHostToDevice, producer);
  tidal_ckpt_tensor_t view = {"w", TIDAL_BF16, 2, host.shape.data(), device};
  tidal_ckpt_save_options_t options = TIDAL_CKPT_SAVE_OPTIONS_INITIALIZER;
  options.cuda_stream = producer;
  tidal_ckpt_writer_config_t config = TIDAL_CKPT_WRITER_CONFIG_INITIALIZER;
  config.staging_bytes = 4 << 20;
  config.slot_bytes = 1 << 20;
  tidal_ckpt_writer_t writer = nullptr;
  ASSERT_EQ(tidal_ckpt_writer_create(&config, &writer), TIDAL_SUCCESS) << tidal_last_error();
  tidal_ckpt_save_t save = nullptr;
  ASSERT_EQ(tidal_ckpt_save_async(writer, dir.file("gpu.safetensors").c_str(), &view, 1, &options, &save),
            TIDAL_SUCCESS) << tidal_last_error();
  ASSERT_EQ(tidal_ckpt_save_wait_durable(save), TIDAL_SUCCESS) << tidal_last_error();
  tidal_ckpt_save_free(save);
  tidal_ckpt_writer_destroy(writer);
  expect_file_holds(dir.file("gpu.safetensors"), {host});
  cudaStreamDestroy(producer);
  cudaFree(device);
}

TEST(PinnedGpu, BufferIsReusedOnlyAfterTheStreamReadingItCompletes) {
  SKIP_WITHOUT_GPU();
  tidal_pinned_pool_t pool = nullptr;
  ASSERT_EQ(tidal_pinned_pool_create(nullptr, &pool), TIDAL_SUCCESS) << tidal_last_error();
  const size_t bytes = 4 << 20;
  void* host = nullptr;
  void* device = nullptr;
  ASSERT_EQ(tidal_pinned_alloc(pool, bytes, &host), TIDAL_SUCCESS);
  ASSERT_EQ(cudaMalloc(&device, bytes), cudaSuccess);
  cudaStream_t stream;
  ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
  cudaLaunchHostFunc(stream, sleep_on_stream, reinterpret_cast<void*>(intptr_t(300)));
  cudaMemcpyAsync(device, host, bytes, cudaMemcpyHostToDevice, stream);  // H2D reads `host` later
  ASSERT_EQ(tidal_pinned_free_after_stream(pool, host, stream), TIDAL_SUCCESS) << tidal_last_error();
  void* second = nullptr;
  ASSERT_EQ(tidal_pinned_alloc(pool, bytes, &second), TIDAL_SUCCESS);
  EXPECT_NE(second, host) << "reused while the copy was still queued";
  ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
  void* third = nullptr;
  ASSERT_EQ(tidal_pinned_alloc(pool, bytes, &third), TIDAL_SUCCESS);
  EXPECT_EQ(third, host);
  cudaStreamDestroy(stream);
  cudaFree(device);
  tidal_pinned_pool_destroy(pool);
}
