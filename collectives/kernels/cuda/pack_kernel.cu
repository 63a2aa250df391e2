// pack_kernel.cu — see pack_kernel_cuda.h.
#include "collectives/kernels/cuda/pack_kernel_cuda.h"

#include <atomic>
#include <type_traits>
#include <vector>

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime_api.h>

#include "collectives/kernels/cuda/cuda_status.h"
#include "collectives/kernels/cuda/tiled_table.h"

namespace tidal {
namespace {

// Elements per tile: 256 threads x 4 loads x 16 bytes = 16 KiB of f32, one
// unrolled pass per thread. Small tiles matter: a 25 MiB bucket must give
// enough blocks to fill every SM several times over (Nsight Compute showed
// 64 KiB tiles leaving the GPU at 34% occupancy, stalled on memory latency).
// A multiple of 16 bytes for every element size, so tile starts keep a
// run's alignment.
constexpr uint32_t kTileElems = 4096;
constexpr int kThreads = 256;
constexpr int kUnroll = 4;

struct DeviceDesc {
  const void* src;
  void* dst;
  unsigned long long count;
};

struct DeviceOp {
  int src_dtype;
  int dst_dtype;
  float scale;
  int plain;
  int src_size;
  int dst_size;
};

std::atomic<uint64_t> g_launches{0};

// Element conversions, bitwise identical to lib/core/dtype.cc (round to
// nearest even; NaN stays NaN).
template <typename T> struct Elem;
template <> struct Elem<float> {
  static __device__ __forceinline__ float in(float v) { return v; }
  static __device__ __forceinline__ float out(float v) { return v; }
};
template <> struct Elem<__nv_bfloat16> {
  static __device__ __forceinline__ float in(__nv_bfloat16 v) { return __bfloat162float(v); }
  static __device__ __forceinline__ __nv_bfloat16 out(float v) { return __float2bfloat16_rn(v); }
};
template <> struct Elem<__half> {
  static __device__ __forceinline__ float in(__half v) { return __half2float(v); }
  static __device__ __forceinline__ __half out(float v) { return __float2half_rn(v); }
};

// Four elements as one aligned vector: 16 bytes of f32, 8 of bf16/f16.
template <typename T> struct alignas(4 * sizeof(T)) Four { T v[4]; };

// Vector loads and stores in the global space, cached in L2 only (the
// tables' pointers are generic; these make them LDG/STG .128 or .64).
template <typename V, typename T>
__device__ __forceinline__ T load_as(const T* p) {
  V v = __ldcg(reinterpret_cast<const V*>(p));
  T out;
  memcpy(&out, &v, sizeof out);
  return out;
}
template <typename V, typename T>
__device__ __forceinline__ void store_as(T* p, const T& value) {
  V v;
  memcpy(&v, &value, sizeof v);
  __stcg(reinterpret_cast<V*>(p), v);
}
template <typename T>
using VecOf = typename std::conditional<sizeof(Four<T>) == 16, uint4, uint2>::type;

// Copies `vecs` 16-byte vectors: kUnroll loads issued before their stores,
// so each thread keeps several requests in flight.
__device__ __forceinline__ void copy_vectors(const uint4* src, uint4* dst,
                                             unsigned long long vecs) {
  unsigned long long v = threadIdx.x;
  const unsigned stride = blockDim.x;
  for (; v + (kUnroll - 1) * stride < vecs; v += kUnroll * stride) {
    uint4 r[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) r[u] = __ldcg(src + v + u * stride);
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) __stcg(dst + v + u * stride, r[u]);
  }
  for (; v < vecs; v += stride) __stcg(dst + v, __ldcg(src + v));
}

__device__ void copy_bytes(const char* src, char* dst, unsigned long long bytes) {
  unsigned long long done = 0;
  if (((reinterpret_cast<uintptr_t>(src) | reinterpret_cast<uintptr_t>(dst)) & 15) == 0) {
    copy_vectors(reinterpret_cast<const uint4*>(src), reinterpret_cast<uint4*>(dst), bytes / 16);
    done = bytes / 16 * 16;
  }
  for (unsigned long long b = done + threadIdx.x; b < bytes; b += blockDim.x) dst[b] = src[b];
}

// dst[i] = D(src[i] * scale) for n elements; groups of four aligned
// elements move as vectors, kUnroll groups in flight per thread. In place
// (src == dst, same type) is safe: every element is read, then written, by
// one thread.
template <typename S, typename D>
__device__ void cast_run(const S* src, D* dst, unsigned long long n, float scale) {
  unsigned long long done = 0;
  if (reinterpret_cast<uintptr_t>(src) % sizeof(Four<S>) == 0 &&
      reinterpret_cast<uintptr_t>(dst) % sizeof(Four<D>) == 0) {
    const Four<S>* s4 = reinterpret_cast<const Four<S>*>(src);
    Four<D>* d4 = reinterpret_cast<Four<D>*>(dst);
    const unsigned long long groups = n / 4;
    const unsigned stride = blockDim.x;
    unsigned long long g = threadIdx.x;
    for (; g + (kUnroll - 1) * stride < groups; g += kUnroll * stride) {
      Four<S> r[kUnroll];
#pragma unroll
      for (int u = 0; u < kUnroll; ++u) r[u] = load_as<VecOf<S>>(s4 + g + u * stride);
#pragma unroll
      for (int u = 0; u < kUnroll; ++u) {
        Four<D> w;
#pragma unroll
        for (int e = 0; e < 4; ++e) w.v[e] = Elem<D>::out(Elem<S>::in(r[u].v[e]) * scale);
        store_as<VecOf<D>>(d4 + g + u * stride, w);
      }
    }
    for (; g < groups; g += stride) {
      Four<S> r = load_as<VecOf<S>>(s4 + g);
      Four<D> w;
#pragma unroll
      for (int e = 0; e < 4; ++e) w.v[e] = Elem<D>::out(Elem<S>::in(r.v[e]) * scale);
      store_as<VecOf<D>>(d4 + g, w);
    }
    done = groups * 4;
  }
  for (unsigned long long i = done + threadIdx.x; i < n; i += blockDim.x) {
    dst[i] = Elem<D>::out(Elem<S>::in(src[i]) * scale);
  }
}

template <typename S>
__device__ void cast_from(const S* src, void* dst, int dst_dtype, unsigned long long n,
                          float scale) {
  switch (dst_dtype) {
    case TIDAL_F32: cast_run(src, static_cast<float*>(dst), n, scale); break;
    case TIDAL_BF16: cast_run(src, static_cast<__nv_bfloat16*>(dst), n, scale); break;
    default: cast_run(src, static_cast<__half*>(dst), n, scale); break;
  }
}

// Copies elements [lo, hi) of one run.
__device__ void copy_tile(const DeviceDesc& d, unsigned long long lo, unsigned long long hi,
                          const DeviceOp& op) {
  const unsigned long long n = hi - lo;
  if (op.plain) {
    copy_bytes(static_cast<const char*>(d.src) + lo * op.src_size,
               static_cast<char*>(d.dst) + lo * op.src_size, n * op.src_size);
    return;
  }
  if (op.src_dtype == TIDAL_F64) {
    for (unsigned long long i = lo + threadIdx.x; i < hi; i += blockDim.x) {
      static_cast<double*>(d.dst)[i] = static_cast<const double*>(d.src)[i] * (double)op.scale;
    }
    return;
  }
  char* dst = static_cast<char*>(d.dst) + lo * op.dst_size;
  switch (op.src_dtype) {
    case TIDAL_F32:
      cast_from(static_cast<const float*>(d.src) + lo, dst, op.dst_dtype, n, op.scale);
      break;
    case TIDAL_BF16:
      cast_from(static_cast<const __nv_bfloat16*>(d.src) + lo, dst, op.dst_dtype, n, op.scale);
      break;
    default:
      cast_from(static_cast<const __half*>(d.src) + lo, dst, op.dst_dtype, n, op.scale);
      break;
  }
}

// Tile t is tile (t - tile_start[k]) of run k, where k is the run whose
// tiles include t (binary search over tile_start, n+1 entries). Blocks
// stride over the tiles, so a grid capped at what the GPU holds at once
// runs the whole table without block launch overhead per tile.
__global__ void __launch_bounds__(kThreads)
copy_table_kernel(const DeviceDesc* table, const uint32_t* tile_start, uint32_t n,
                  uint32_t tiles, DeviceDesc single, DeviceOp op) {
  for (uint32_t t = blockIdx.x; t < tiles; t += gridDim.x) {
    DeviceDesc d = single;
    uint32_t tile = t;
    if (table) {
      const uint32_t k = run_of_tile(tile_start, n, t);
      d = table[k];
      tile = t - tile_start[k];
    }
    unsigned long long begin = (unsigned long long)tile * kTileElems;
    unsigned long long end = begin + kTileElems < d.count ? begin + kTileElems : d.count;
    if (begin < end) copy_tile(d, begin, end, op);
  }
}

std::atomic<uint32_t> g_grid_cap{0};  // 0: four times what the device holds at once

uint32_t grid_for(uint32_t tiles) {
  uint32_t cap = g_grid_cap.load(std::memory_order_relaxed);
  if (cap == 0) {
    int device = 0, sms = 0, blocks = 0;
    if (cudaGetDevice(&device) == cudaSuccess &&
        cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device) == cudaSuccess &&
        cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, copy_table_kernel, kThreads, 0) ==
            cudaSuccess && sms > 0 && blocks > 0) {
      cap = static_cast<uint32_t>(4 * sms * blocks);  // short blocks: let the scheduler refill
    } else {
      cudaGetLastError();
      cap = UINT32_MAX;
    }
    g_grid_cap.store(cap, std::memory_order_relaxed);
  }
  return tiles < cap ? tiles : cap;
}

uint32_t tiles_of(size_t count) {
  return static_cast<uint32_t>((count + kTileElems - 1) / kTileElems);
}

DeviceOp device_op(const CopyOp& op) {
  return DeviceOp{op.src_dtype, op.dst_dtype, op.scale, op.plain() ? 1 : 0,
                  static_cast<int>(tidal_dtype_size(op.src_dtype)),
                  static_cast<int>(tidal_dtype_size(op.dst_dtype))};
}

}  // namespace

struct DeviceCopyTable : TiledTable<DeviceDesc> {};

Status cuda_upload_copy_table(const CopyDesc* descs, size_t n, DeviceCopyTable** out) {
  std::vector<DeviceDesc> host(n);
  for (size_t i = 0; i < n; ++i) host[i] = DeviceDesc{descs[i].src, descs[i].dst, descs[i].count};
  auto* t = new DeviceCopyTable;
  Status s = upload_tiled_table(host, kTileElems, [](const DeviceDesc& d) { return d.count; }, t);
  if (!s.ok()) {
    delete t;
    return s;
  }
  *out = t;
  return Status();
}

void cuda_free_copy_table(DeviceCopyTable* table) {
  if (!table) return;
  free_tiled_table(table);
  delete table;
}

Status cuda_run_copy_table(const DeviceCopyTable* table, const CopyOp& op, void* stream) {
  if (table->tiles == 0) return Status();
  copy_table_kernel<<<grid_for(table->tiles), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(
      table->runs, table->tile_start, table->n, table->tiles, DeviceDesc{nullptr, nullptr, 0},
      device_op(op));
  g_launches.fetch_add(1);
  return cuda_error(cudaGetLastError(), "pack kernel launch");
}

Status cuda_run_copy(const CopyDesc& desc, const CopyOp& op, void* stream) {
  uint32_t tiles = tiles_of(desc.count);
  if (tiles == 0) return Status();
  copy_table_kernel<<<grid_for(tiles), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(
      nullptr, nullptr, 1, tiles, DeviceDesc{desc.src, desc.dst, desc.count}, device_op(op));
  g_launches.fetch_add(1);
  return cuda_error(cudaGetLastError(), "copy kernel launch");
}

uint64_t cuda_copy_launches() { return g_launches.load(); }

void cuda_set_copy_grid_cap(uint32_t blocks) {
  g_grid_cap.store(blocks, std::memory_order_relaxed);
}

Status cuda_alloc_zeroed(size_t bytes, void** out) {
  void* p = nullptr;
  Status s = cuda_error(cudaMalloc(&p, bytes ? bytes : 1), "cudaMalloc");
  if (s.ok()) s = cuda_error(cudaMemset(p, 0, bytes), "cudaMemset");
  if (!s.ok()) {
    cudaFree(p);
    return s;
  }
  *out = p;
  return Status();
}

void cuda_free(void* ptr) { cudaFree(ptr); }

}  // namespace tidal

namespace tidal {
Status cuda_copy_blocking(void* dst, const void* src, size_t bytes) {
  return cuda_error(cudaMemcpy(dst, src, bytes, cudaMemcpyDefault), "cudaMemcpy");
}
}  // namespace tidal
