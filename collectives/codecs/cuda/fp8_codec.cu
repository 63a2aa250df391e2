// fp8_codec.cu — see fp8_codec_cuda.h.
#include "collectives/codecs/cuda/fp8_codec_cuda.h"

#include <atomic>
#include <string>
#include <vector>

#include <cuda_fp16.h>
#include <cuda_runtime_api.h>

#include "collectives/codecs/fp8_scalar.h"
#include "collectives/kernels/cuda/cuda_status.h"
#include "collectives/kernels/cuda/tiled_table.h"

namespace tidal {
namespace {

constexpr int kThreads = 256;
constexpr int kWarpsPerBlock = kThreads / 32;
constexpr uint32_t kTileElems = 4096;  // decode: elements per tile, as the pack kernel

std::atomic<uint64_t> g_launches{0};

// Values in and out of f32, as the CPU codec converts them (f16 <-> f32 is
// exact one way and rounds to nearest even the other, like F16C).
template <int kDtype> __device__ __forceinline__ float load_value(const void* p, size_t i);
template <> __device__ __forceinline__ float load_value<TIDAL_F32>(const void* p, size_t i) {
  return static_cast<const float*>(p)[i];
}
template <> __device__ __forceinline__ float load_value<TIDAL_BF16>(const void* p, size_t i) {
  return bf16_to_float(static_cast<const uint16_t*>(p)[i]);
}
template <> __device__ __forceinline__ float load_value<TIDAL_F16>(const void* p, size_t i) {
  return __half2float(static_cast<const __half*>(p)[i]);
}

template <int kDtype> __device__ __forceinline__ void store_value(void* p, size_t i, float v);
template <> __device__ __forceinline__ void store_value<TIDAL_F32>(void* p, size_t i, float v) {
  static_cast<float*>(p)[i] = v;
}
template <> __device__ __forceinline__ void store_value<TIDAL_BF16>(void* p, size_t i, float v) {
  static_cast<uint16_t*>(p)[i] = float_to_bf16(v);
}
template <> __device__ __forceinline__ void store_value<TIDAL_F16>(void* p, size_t i, float v) {
  static_cast<__half*>(p)[i] = __float2half_rn(v);
}

// One warp per scale block: the lanes stride over the block for its amax
// (then reduced across the warp), then again for the bytes (the second
// read hits the cache). Every lane of a warp runs the same blocks, so the
// shuffles see all 32 lanes.
template <int kDtype, int EBITS, int MBITS>
__global__ void __launch_bounds__(kThreads)
encode_kernel(const void* src, unsigned long long count, unsigned long long block,
              unsigned long long blocks, float fmax, bool pow2, uint8_t* dst, float* scales,
              float factor) {
  const unsigned lane = threadIdx.x % 32;
  const unsigned long long warps = static_cast<unsigned long long>(gridDim.x) * kWarpsPerBlock;
  for (unsigned long long b = static_cast<unsigned long long>(blockIdx.x) * kWarpsPerBlock +
                              threadIdx.x / 32;
       b < blocks; b += warps) {
    const unsigned long long lo = b * block;
    const unsigned long long hi = count - lo < block ? count : lo + block;
    uint32_t amax = 0;
    for (unsigned long long i = lo + lane; i < hi; i += 32) {
      const uint32_t a = fp8_finite_magnitude_bits(load_value<kDtype>(src, i));
      amax = a > amax ? a : amax;
    }
    for (int o = 16; o > 0; o /= 2) {
      const uint32_t other = __shfl_xor_sync(0xffffffffu, amax, o);
      amax = other > amax ? other : amax;
    }
    const float scale = fp8_block_scale(bits_float(amax), fmax, pow2);
    for (unsigned long long i = lo + lane; i < hi; i += 32) {
      dst[i] = static_cast<uint8_t>(
          fp8_encode_scaled<EBITS, MBITS>(load_value<kDtype>(src, i) / scale));
    }
    if (lane == 0) scales[b] = scale * factor;
  }
}

struct DeviceRun {
  const uint8_t* stream;
  const float* scales;
  unsigned long long first;
  void* dst;
  unsigned long long count;
};

// Tile t is tile (t - tile_start[k]) of run k (binary search over
// tile_start, n+1 entries); blocks stride over the tiles. Element i of a
// run is stream element first + i, scaled by scales[(first + i) / block]
// times post (the CPU decode's multiplier, in the same order).
template <int kDtype, int EBITS, int MBITS>
__global__ void __launch_bounds__(kThreads)
decode_kernel(const DeviceRun* runs, const uint32_t* tile_start, uint32_t n, uint32_t tiles,
              unsigned long long block, int block_shift, float post) {
  for (uint32_t t = blockIdx.x; t < tiles; t += gridDim.x) {
    const uint32_t k = run_of_tile(tile_start, n, t);
    const DeviceRun r = runs[k];
    const unsigned long long begin = static_cast<unsigned long long>(t - tile_start[k]) * kTileElems;
    const unsigned long long end = r.count - begin < kTileElems ? r.count : begin + kTileElems;
    for (unsigned long long i = begin + threadIdx.x; i < end; i += kThreads) {
      const unsigned long long k = r.first + i;
      const unsigned long long s = block_shift >= 0 ? k >> block_shift : k / block;
      const float m = r.scales[s] * post;
      store_value<kDtype>(r.dst, i, small_float_to_float<EBITS, MBITS>(r.stream[k]) * m);
    }
  }
}

// Blocks of one launch: enough to fill every SM several times; beyond
// that the blocks stride.
uint32_t grid_cap() {
  static std::atomic<uint32_t> cap{0};
  uint32_t c = cap.load(std::memory_order_relaxed);
  if (c == 0) {
    int device = 0, sms = 0;
    if (cudaGetDevice(&device) == cudaSuccess &&
        cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device) == cudaSuccess &&
        sms > 0) {
      c = static_cast<uint32_t>(sms) * 16;
    } else {
      cudaGetLastError();
      c = 65535;
    }
    cap.store(c, std::memory_order_relaxed);
  }
  return c;
}

template <int kDtype>
void launch_encode(bool e4m3, uint32_t grid, cudaStream_t st, const void* src, size_t count,
                   size_t block, size_t blocks, float fmax, bool pow2, uint8_t* dst,
                   float* scales, float factor) {
  if (e4m3) {
    encode_kernel<kDtype, 4, 3><<<grid, kThreads, 0, st>>>(src, count, block, blocks, fmax, pow2,
                                                           dst, scales, factor);
  } else {
    encode_kernel<kDtype, 5, 2><<<grid, kThreads, 0, st>>>(src, count, block, blocks, fmax, pow2,
                                                           dst, scales, factor);
  }
}

template <int kDtype>
void launch_decode(bool e4m3, uint32_t grid, cudaStream_t st, const DeviceRun* runs,
                   const uint32_t* starts, uint32_t n, uint32_t tiles, size_t block, int shift,
                   float post) {
  if (e4m3) {
    decode_kernel<kDtype, 4, 3><<<grid, kThreads, 0, st>>>(runs, starts, n, tiles, block, shift,
                                                           post);
  } else {
    decode_kernel<kDtype, 5, 2><<<grid, kThreads, 0, st>>>(runs, starts, n, tiles, block, shift,
                                                           post);
  }
}

int log2_if_power_of_two(size_t v) {
  if (v == 0 || (v & (v - 1)) != 0) return -1;
  int s = 0;
  while ((size_t(1) << s) != v) ++s;
  return s;
}

}  // namespace

struct DeviceFp8Table : TiledTable<DeviceRun> {};

Status cuda_fp8_encode(const Fp8Codec& codec, const void* src, tidal_dtype_t value_dtype,
                       size_t count, uint8_t* dst, float* scales, float scale_factor,
                       void* stream) {
  TIDAL_RETURN_IF_ERROR(check_fp8_codec(codec, value_dtype));
  if (count == 0) return Status();
  const size_t blocks = fp8_scale_count(count, codec.block);
  const size_t wanted = (blocks + kWarpsPerBlock - 1) / kWarpsPerBlock;
  const uint32_t grid = static_cast<uint32_t>(wanted < grid_cap() ? wanted : grid_cap());
  const bool e4m3 = codec.format == TIDAL_FP8_E4M3;
  const float fmax = fp8_max(codec.format);
  cudaStream_t st = static_cast<cudaStream_t>(stream);
  switch (value_dtype) {
    case TIDAL_F32:
      launch_encode<TIDAL_F32>(e4m3, grid, st, src, count, codec.block, blocks, fmax,
                               codec.pow2_scales, dst, scales, scale_factor);
      break;
    case TIDAL_BF16:
      launch_encode<TIDAL_BF16>(e4m3, grid, st, src, count, codec.block, blocks, fmax,
                                codec.pow2_scales, dst, scales, scale_factor);
      break;
    default:
      launch_encode<TIDAL_F16>(e4m3, grid, st, src, count, codec.block, blocks, fmax,
                               codec.pow2_scales, dst, scales, scale_factor);
      break;
  }
  g_launches.fetch_add(1);
  return cuda_error(cudaGetLastError(), "FP8 encode kernel launch");
}

Status cuda_upload_fp8_table(const Fp8Run* runs, size_t n, DeviceFp8Table** out) {
  std::vector<DeviceRun> host(n);
  for (size_t i = 0; i < n; ++i) {
    host[i] = DeviceRun{runs[i].stream, runs[i].scales, runs[i].first, runs[i].dst,
                        runs[i].count};
  }
  auto* t = new DeviceFp8Table;
  Status s = upload_tiled_table(host, kTileElems, [](const DeviceRun& r) { return r.count; }, t);
  if (!s.ok()) {
    delete t;
    return s;
  }
  *out = t;
  return Status();
}

void cuda_free_fp8_table(DeviceFp8Table* table) {
  if (!table) return;
  free_tiled_table(table);
  delete table;
}

Status cuda_run_fp8_table(const DeviceFp8Table* table, const Fp8Codec& codec,
                          tidal_dtype_t value_dtype, float post, void* stream) {
  TIDAL_RETURN_IF_ERROR(check_fp8_codec(codec, value_dtype));
  if (!table || table->tiles == 0) return Status();
  const uint32_t grid = table->tiles < grid_cap() ? table->tiles : grid_cap();
  const bool e4m3 = codec.format == TIDAL_FP8_E4M3;
  const int shift = log2_if_power_of_two(codec.block);
  cudaStream_t st = static_cast<cudaStream_t>(stream);
  switch (value_dtype) {
    case TIDAL_F32:
      launch_decode<TIDAL_F32>(e4m3, grid, st, table->runs, table->tile_start, table->n,
                               table->tiles, codec.block, shift, post);
      break;
    case TIDAL_BF16:
      launch_decode<TIDAL_BF16>(e4m3, grid, st, table->runs, table->tile_start, table->n,
                                table->tiles, codec.block, shift, post);
      break;
    default:
      launch_decode<TIDAL_F16>(e4m3, grid, st, table->runs, table->tile_start, table->n,
                               table->tiles, codec.block, shift, post);
      break;
  }
  g_launches.fetch_add(1);
  return cuda_error(cudaGetLastError(), "FP8 decode kernel launch");
}

uint64_t cuda_fp8_launches() { return g_launches.load(); }

}  // namespace tidal
