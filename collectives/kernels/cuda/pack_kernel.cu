// pack_kernel.cu — see pack_kernel_cuda.h.
#include "collectives/kernels/cuda/pack_kernel_cuda.h"

#include <atomic>
#include <vector>

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime_api.h>

namespace tidal {
namespace {

// Elements per tile (one thread block); a multiple of 16 bytes for every
// element size, so tile starts keep a run's alignment.
constexpr uint32_t kTileElems = 8192;
constexpr int kThreads = 256;

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

Status cuda_error(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return Status();
  return Status(e == cudaErrorMemoryAllocation ? TIDAL_ERR_NO_MEMORY : TIDAL_ERR_TRANSPORT,
                std::string(what) + ": " + cudaGetErrorString(e));
}

__device__ float load_as_float(const void* p, unsigned long long i, int dtype) {
  switch (dtype) {
    case TIDAL_F32: return static_cast<const float*>(p)[i];
    case TIDAL_BF16: return __bfloat162float(static_cast<const __nv_bfloat16*>(p)[i]);
    default: return __half2float(static_cast<const __half*>(p)[i]);
  }
}

__device__ void store_float(void* p, unsigned long long i, int dtype, float v) {
  switch (dtype) {
    case TIDAL_F32: static_cast<float*>(p)[i] = v; break;
    case TIDAL_BF16: static_cast<__nv_bfloat16*>(p)[i] = __float2bfloat16_rn(v); break;
    default: static_cast<__half*>(p)[i] = __float2half_rn(v); break;
  }
}

// Copies elements [lo, hi) of one run.
__device__ void copy_tile(const DeviceDesc& d, unsigned long long lo, unsigned long long hi,
                          const DeviceOp& op) {
  if (op.plain) {
    const char* src = static_cast<const char*>(d.src) + lo * op.src_size;
    char* dst = static_cast<char*>(d.dst) + lo * op.src_size;
    const unsigned long long bytes = (hi - lo) * op.src_size;
    unsigned long long done = 0;
    if (((reinterpret_cast<uintptr_t>(src) | reinterpret_cast<uintptr_t>(dst)) & 15) == 0) {
      const unsigned long long vecs = bytes / 16;
      for (unsigned long long v = threadIdx.x; v < vecs; v += blockDim.x) {
        reinterpret_cast<uint4*>(dst)[v] = reinterpret_cast<const uint4*>(src)[v];
      }
      done = vecs * 16;
    }
    for (unsigned long long b = done + threadIdx.x; b < bytes; b += blockDim.x) dst[b] = src[b];
    return;
  }
  if (op.src_dtype == TIDAL_F64) {
    for (unsigned long long i = lo + threadIdx.x; i < hi; i += blockDim.x) {
      static_cast<double*>(d.dst)[i] = static_cast<const double*>(d.src)[i] * (double)op.scale;
    }
    return;
  }
  for (unsigned long long i = lo + threadIdx.x; i < hi; i += blockDim.x) {
    store_float(d.dst, i, op.dst_dtype, load_as_float(d.src, i, op.src_dtype) * op.scale);
  }
}

// Block b copies tile (b - tile_start[k]) of run k, where k is the run
// whose tiles include b (binary search over tile_start, n+1 entries).
__global__ void copy_table_kernel(const DeviceDesc* table, const uint32_t* tile_start,
                                  uint32_t n, DeviceDesc single, DeviceOp op) {
  DeviceDesc d = single;
  uint32_t tile = blockIdx.x;
  if (table) {
    uint32_t lo = 0, hi = n;  // find k with tile_start[k] <= b < tile_start[k+1]
    while (hi - lo > 1) {
      uint32_t mid = (lo + hi) / 2;
      if (tile_start[mid] <= blockIdx.x) lo = mid; else hi = mid;
    }
    d = table[lo];
    tile = blockIdx.x - tile_start[lo];
  }
  unsigned long long begin = (unsigned long long)tile * kTileElems;
  unsigned long long end = begin + kTileElems < d.count ? begin + kTileElems : d.count;
  if (begin < end) copy_tile(d, begin, end, op);
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

struct DeviceCopyTable {
  DeviceDesc* descs = nullptr;   // device
  uint32_t* tile_start = nullptr;  // device, n+1 entries
  uint32_t n = 0;
  uint32_t tiles = 0;
};

Status cuda_upload_copy_table(const CopyDesc* descs, size_t n, DeviceCopyTable** out) {
  if (n > UINT32_MAX) return Status(TIDAL_ERR_INVALID_ARGUMENT, "copy table too long");
  std::vector<DeviceDesc> host(n);
  std::vector<uint32_t> starts(n + 1, 0);
  for (size_t i = 0; i < n; ++i) {
    host[i] = DeviceDesc{descs[i].src, descs[i].dst, descs[i].count};
    starts[i + 1] = starts[i] + tiles_of(descs[i].count);
  }
  auto* t = new DeviceCopyTable;
  t->n = static_cast<uint32_t>(n);
  t->tiles = starts[n];
  Status s = cuda_error(cudaMalloc(&t->descs, sizeof(DeviceDesc) * (n ? n : 1)), "cudaMalloc");
  if (s.ok()) s = cuda_error(cudaMalloc(&t->tile_start, sizeof(uint32_t) * (n + 1)), "cudaMalloc");
  if (s.ok() && n) {
    s = cuda_error(cudaMemcpy(t->descs, host.data(), sizeof(DeviceDesc) * n,
                              cudaMemcpyHostToDevice), "cudaMemcpy");
  }
  if (s.ok()) {
    s = cuda_error(cudaMemcpy(t->tile_start, starts.data(), sizeof(uint32_t) * (n + 1),
                              cudaMemcpyHostToDevice), "cudaMemcpy");
  }
  if (!s.ok()) {
    cuda_free_copy_table(t);
    return s;
  }
  *out = t;
  return Status();
}

void cuda_free_copy_table(DeviceCopyTable* table) {
  if (!table) return;
  cudaFree(table->descs);
  cudaFree(table->tile_start);
  delete table;
}

Status cuda_run_copy_table(const DeviceCopyTable* table, const CopyOp& op, void* stream) {
  if (table->tiles == 0) return Status();
  copy_table_kernel<<<table->tiles, kThreads, 0, static_cast<cudaStream_t>(stream)>>>(
      table->descs, table->tile_start, table->n, DeviceDesc{nullptr, nullptr, 0}, device_op(op));
  g_launches.fetch_add(1);
  return cuda_error(cudaGetLastError(), "pack kernel launch");
}

Status cuda_run_copy(const CopyDesc& desc, const CopyOp& op, void* stream) {
  uint32_t tiles = tiles_of(desc.count);
  if (tiles == 0) return Status();
  copy_table_kernel<<<tiles, kThreads, 0, static_cast<cudaStream_t>(stream)>>>(
      nullptr, nullptr, 1, DeviceDesc{desc.src, desc.dst, desc.count}, device_op(op));
  g_launches.fetch_add(1);
  return cuda_error(cudaGetLastError(), "copy kernel launch");
}

uint64_t cuda_copy_launches() { return g_launches.load(); }

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
