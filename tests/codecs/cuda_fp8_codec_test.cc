// The CUDA FP8 codec (label gpu): the encode kernel writes the bytes and
// scales the CPU codec writes, bit for bit, for both formats, f32/bf16/f16
// values, blocks of 1, 32, 100 and 128 elements, linear and power-of-two
// scales, a pre-scale factor, and inputs with every kind of special value;
// the decode table kernel (runs starting mid-block, one launch for the
// table) writes the CPU decode's values (NaN as NaN: a GPU product with a
// NaN has its own bits). Skips with the reason when no GPU is usable.
#include <cmath>
#include <cstring>
#include <vector>

#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include "collectives/codecs/cuda/fp8_codec_cuda.h"
#include "collectives/codecs/fp8_codec.h"
#include "collectives/codecs/fp8_decode_table.h"
#include "lib/core/dtype.h"
#include "tests/codecs/fp8_test_values.h"
#include "tidal/nccl.h"

namespace {

class CudaFp8Codec : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!tidal_cuda_device_available()) {
      GTEST_SKIP() << "no usable CUDA device: " << tidal_last_error();
    }
  }
};

// Values whose magnitude jumps from block to block, with zeros, ties,
// subnormals, FLT_MAX, NaN and infinities sprinkled in, and a block of
// specials only.
std::vector<float> test_values(size_t n, size_t block) {
  std::vector<float> x = tidal_testing::varied_magnitudes(n, block, 11);
  const float specials[] = {0.0f, -0.0f, NAN, INFINITY, -INFINITY, 3.4028235e38f, 1e-45f,
                            1.0625f, 1.1875f, -448.0f, 464.0f};
  for (size_t i = 0; i < n; i += 97) x[i] = specials[(i / 97) % 11];
  for (size_t i = 2 * block; i < 3 * block && i < n; ++i) x[i] = i % 2 ? NAN : -INFINITY;
  return x;
}

// x as `dtype` values (bf16/f16 rounded).
std::vector<unsigned char> as_dtype(const std::vector<float>& x, tidal_dtype_t dtype) {
  const size_t es = tidal_dtype_size(dtype);
  std::vector<unsigned char> out(x.size() * es);
  for (size_t i = 0; i < x.size(); ++i) {
    if (dtype == TIDAL_F32) {
      std::memcpy(&out[i * 4], &x[i], 4);
    } else {
      const uint16_t h = dtype == TIDAL_BF16 ? tidal::float_to_bf16(x[i]) : tidal::float_to_f16(x[i]);
      std::memcpy(&out[i * 2], &h, 2);
    }
  }
  return out;
}

float value_at(const unsigned char* p, size_t i, tidal_dtype_t dtype) {
  if (dtype == TIDAL_F32) {
    float f;
    std::memcpy(&f, p + 4 * i, 4);
    return f;
  }
  uint16_t h;
  std::memcpy(&h, p + 2 * i, 2);
  return dtype == TIDAL_BF16 ? tidal::bf16_to_float(h) : tidal::f16_to_float(h);
}

template <typename T>
T* device_copy(const std::vector<T>& host) {
  void* d = nullptr;
  EXPECT_EQ(cudaMalloc(&d, host.size() * sizeof(T) + 1), cudaSuccess);
  cudaMemcpy(d, host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice);
  return static_cast<T*>(d);
}

template <typename T>
std::vector<T> host_copy(const T* d, size_t n) {
  std::vector<T> h(n);
  cudaMemcpy(h.data(), d, n * sizeof(T), cudaMemcpyDeviceToHost);
  return h;
}

void check_case(tidal_dtype_t format, tidal_dtype_t dtype, size_t block, bool pow2) {
  const tidal::Fp8Codec codec{format, block, pow2};
  const size_t n = 10007;  // not a multiple of any block
  const size_t nscales = tidal::fp8_scale_count(n, block);
  const std::vector<unsigned char> values = as_dtype(test_values(n, block), dtype);
  const std::string name = std::string(tidal_dtype_name(format)) + " " + tidal_dtype_name(dtype) +
                           " block " + std::to_string(block) + (pow2 ? " pow2" : "");
  // Encode on both sides, with a pre-scale factor.
  std::vector<uint8_t> cpu_bytes(n);
  std::vector<float> cpu_scales(nscales);
  tidal::fp8_encode(codec, values.data(), dtype, n, cpu_bytes.data(), cpu_scales.data(), 0.5f);
  unsigned char* d_values = device_copy(values);
  uint8_t* d_bytes = device_copy(std::vector<uint8_t>(n, 0xEE));
  float* d_scales = device_copy(std::vector<float>(nscales, -1.0f));
  const uint64_t before = tidal::cuda_fp8_launches();
  ASSERT_TRUE(tidal::cuda_fp8_encode(codec, d_values, dtype, n, d_bytes, d_scales, 0.5f, nullptr)
                  .ok());
  EXPECT_EQ(tidal::cuda_fp8_launches() - before, 1u) << name;
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess) << name;
  const std::vector<uint8_t> gpu_bytes = host_copy(d_bytes, n);
  const std::vector<float> gpu_scales = host_copy(d_scales, nscales);
  EXPECT_EQ(std::memcmp(gpu_bytes.data(), cpu_bytes.data(), n), 0) << name << ": bytes";
  EXPECT_EQ(std::memcmp(gpu_scales.data(), cpu_scales.data(), nscales * 4), 0) << name << ": scales";

  // Decode three runs of the stream (the middle one starts mid-block) into
  // one buffer at an odd offset, on both sides, with a post factor.
  const size_t es = tidal_dtype_size(dtype);
  const size_t cuts[] = {0, 37, 5000, n};
  std::vector<unsigned char> cpu_out((n + 1) * es, 0);
  unsigned char* d_out = device_copy(std::vector<unsigned char>((n + 1) * es, 0));
  tidal::Fp8DecodeTable cpu_table, gpu_table;
  for (int r = 0; r < 3; ++r) {
    const size_t first = cuts[r], count = cuts[r + 1] - cuts[r];
    cpu_table.add({cpu_bytes.data(), cpu_scales.data(), first, cpu_out.data() + (1 + first) * es,
                   count});
    gpu_table.add({d_bytes, d_scales, first, d_out + (1 + first) * es, count});
  }
  ASSERT_TRUE(cpu_table.finalize(false).ok());
  ASSERT_TRUE(gpu_table.finalize(true).ok());
  ASSERT_TRUE(cpu_table.run(codec, dtype, 2.0f).ok());
  const uint64_t before_decode = tidal::cuda_fp8_launches();
  ASSERT_TRUE(gpu_table.run(codec, dtype, 2.0f, nullptr).ok());
  EXPECT_EQ(tidal::cuda_fp8_launches() - before_decode, 1u) << name << ": one launch per table";
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess) << name;
  const std::vector<unsigned char> gpu_out = host_copy(d_out, (n + 1) * es);
  for (size_t i = 0; i <= n; ++i) {
    const float want = value_at(cpu_out.data(), i, dtype), got = value_at(gpu_out.data(), i, dtype);
    const bool same = std::isnan(want) ? std::isnan(got)
                                       : std::memcmp(&cpu_out[i * es], &gpu_out[i * es], es) == 0;
    if (!same) {
      ADD_FAILURE() << name << ": decoded element " << i << " is " << got << ", CPU " << want;
      break;
    }
  }
  cudaFree(d_values);
  cudaFree(d_bytes);
  cudaFree(d_scales);
  cudaFree(d_out);
}

TEST_F(CudaFp8Codec, EncodeAndDecodeKernelsMatchTheCpuCodec) {
  for (tidal_dtype_t format : {TIDAL_FP8_E4M3, TIDAL_FP8_E5M2}) {
    for (tidal_dtype_t dtype : {TIDAL_F32, TIDAL_BF16, TIDAL_F16}) {
      for (size_t block : {size_t(1), size_t(32), size_t(100), size_t(128)}) {
        for (bool pow2 : {false, true}) check_case(format, dtype, block, pow2);
      }
    }
  }
}

TEST_F(CudaFp8Codec, EmptyInputLaunchesNothingAndBadCodecsAreErrors) {
  const tidal::Fp8Codec codec;
  const uint64_t before = tidal::cuda_fp8_launches();
  EXPECT_TRUE(tidal::cuda_fp8_encode(codec, nullptr, TIDAL_F32, 0, nullptr, nullptr, 1.0f, nullptr)
                  .ok());
  tidal::Fp8DecodeTable empty;
  ASSERT_TRUE(empty.finalize(true).ok());
  EXPECT_TRUE(empty.run(codec, TIDAL_F32, 1.0f, nullptr).ok());
  EXPECT_EQ(tidal::cuda_fp8_launches(), before);
  tidal::Fp8Codec bad;
  bad.block = 0;
  EXPECT_EQ(tidal::cuda_fp8_encode(bad, nullptr, TIDAL_F32, 4, nullptr, nullptr, 1.0f, nullptr)
                .code(),
            TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tidal::cuda_fp8_encode(codec, nullptr, TIDAL_F64, 4, nullptr, nullptr, 1.0f, nullptr)
                .code(),
            TIDAL_ERR_UNSUPPORTED);
}

}  // namespace
