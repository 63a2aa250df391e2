// tiled_table.h — a table of runs in device memory, each run cut into tiles
// of a fixed number of elements, with the index of each run's first tile
// (n + 1 entries): a kernel block given tile t finds its run by binary
// search (run_of_tile). The pack kernel's copy tables and the FP8 decode
// tables are both uploaded once, at plan time, through here. CUDA sources
// only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <cuda_runtime_api.h>

#include "collectives/kernels/cuda/cuda_status.h"

namespace tidal {

template <typename Run>
struct TiledTable {
  Run* runs = nullptr;             // device, n entries
  uint32_t* tile_start = nullptr;  // device, n + 1 entries
  uint32_t n = 0;
  uint32_t tiles = 0;
};

// Frees the device arrays; the table is empty after.
template <typename Run>
void free_tiled_table(TiledTable<Run>* t) {
  cudaFree(t->runs);
  cudaFree(t->tile_start);
  *t = TiledTable<Run>();
}

// Uploads `runs` (blocking); `count(run)` is a run's element count. On
// failure frees what it allocated and returns CUDA's error.
template <typename Run, typename CountFn>
Status upload_tiled_table(const std::vector<Run>& runs, uint32_t tile_elems, CountFn count,
                          TiledTable<Run>* t) {
  const size_t n = runs.size();
  if (n > UINT32_MAX) return Status(TIDAL_ERR_INVALID_ARGUMENT, "device run table too long");
  std::vector<uint32_t> starts(n + 1, 0);
  for (size_t i = 0; i < n; ++i) {
    const size_t c = count(runs[i]);
    starts[i + 1] = starts[i] + static_cast<uint32_t>((c + tile_elems - 1) / tile_elems);
  }
  t->n = static_cast<uint32_t>(n);
  t->tiles = starts[n];
  Status s = cuda_error(cudaMalloc(&t->runs, sizeof(Run) * (n ? n : 1)), "cudaMalloc");
  if (s.ok()) s = cuda_error(cudaMalloc(&t->tile_start, sizeof(uint32_t) * (n + 1)), "cudaMalloc");
  if (s.ok() && n) {
    s = cuda_error(cudaMemcpy(t->runs, runs.data(), sizeof(Run) * n, cudaMemcpyHostToDevice),
                   "cudaMemcpy");
  }
  if (s.ok()) {
    s = cuda_error(cudaMemcpy(t->tile_start, starts.data(), sizeof(uint32_t) * (n + 1),
                              cudaMemcpyHostToDevice),
                   "cudaMemcpy");
  }
  if (!s.ok()) free_tiled_table(t);
  return s;
}

// The run k with tile_start[k] <= t < tile_start[k + 1] (n >= 1 runs).
__device__ __forceinline__ uint32_t run_of_tile(const uint32_t* tile_start, uint32_t n,
                                                uint32_t t) {
  uint32_t lo = 0, hi = n;
  while (hi - lo > 1) {
    const uint32_t mid = (lo + hi) / 2;
    if (tile_start[mid] <= t) lo = mid; else hi = mid;
  }
  return lo;
}

}  // namespace tidal
