// ckpt_gpu_bench.cc — the GPU side of docs/benchmarks/checkpoint.md: the
// snapshot of a device-resident DiT-XL-like state (D2H on tidal's side
// stream into pinned staging, pipelined slot by slot) against the
// pinned-copy bound (one cudaMemcpyAsync D2H of the same bytes into pinned
// memory), interleaved, medians. Prints SKIP and exits 0 without a GPU.
//
//   tidal-ckpt-gpu-bench [--state-mib 1024] [--reps 5] [--dir /tmp]
#include <cuda_runtime_api.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "bench/ckpt/dit_state.h"
#include "tidal/ckpt.h"
#include "tidal/nccl.h"

namespace {

using Clock = std::chrono::steady_clock;
constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

#define CUDA_OR_DIE(expr)                                                          \
  do {                                                                             \
    cudaError_t e_ = (expr);                                                       \
    if (e_ != cudaSuccess) {                                                       \
      fmt::print(stderr, "{} failed: {}\n", #expr, cudaGetErrorString(e_));       \
      return 1;                                                                    \
    }                                                                              \
  } while (0)

// The first DiT tensors that fit in `max_bytes`, carved from one device
// allocation like a flat parameter buffer.
struct DeviceState {
  std::vector<ckpt_bench::TensorShape> shapes;
  std::vector<tidal_ckpt_tensor_t> views;
  char* device = nullptr;
  uint64_t bytes = 0;
};

int make_device_state(uint64_t max_bytes, DeviceState* out) {
  out->shapes = ckpt_bench::dit_parameter_shapes(ckpt_bench::DitConfig());
  std::vector<uint64_t> offsets;
  for (const auto& s : out->shapes) {
    uint64_t bytes = s.elements() * 4;
    if (out->bytes + bytes > max_bytes) break;
    offsets.push_back(out->bytes);
    out->bytes += bytes;
  }
  CUDA_OR_DIE(cudaMalloc(&out->device, out->bytes));
  CUDA_OR_DIE(cudaMemset(out->device, 0x3c, out->bytes));
  for (size_t i = 0; i < offsets.size(); ++i)
    out->views.push_back({out->shapes[i].name.c_str(), TIDAL_F32, static_cast<int>(out->shapes[i].shape.size()),
                          out->shapes[i].shape.data(), out->device + offsets[i]});
  return 0;
}

struct Samples {
  std::vector<double> bound_s, snapshot_s, durable_s;
};

// One repetition: the pinned-copy bound, then a tidal snapshot of the same
// bytes (and its durability, reported but not compared).
int measure_once(const DeviceState& state, void* pinned, cudaStream_t stream, tidal_ckpt_writer_t writer,
                 const std::string& path, Samples* samples) {
  auto t0 = Clock::now();
  CUDA_OR_DIE(cudaMemcpyAsync(pinned, state.device, state.bytes, cudaMemcpyDeviceToHost, stream));
  CUDA_OR_DIE(cudaStreamSynchronize(stream));
  samples->bound_s.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
  tidal_ckpt_save_options_t options = TIDAL_CKPT_SAVE_OPTIONS_INITIALIZER;
  options.cuda_stream = stream;
  tidal_ckpt_save_t save = nullptr;
  t0 = Clock::now();
  if (tidal_ckpt_save_async(writer, path.c_str(), state.views.data(), state.views.size(), &options, &save) !=
          TIDAL_SUCCESS ||
      tidal_ckpt_save_wait_snapshot(save) != TIDAL_SUCCESS) {
    fmt::print(stderr, "save: {}\n", tidal_last_error());
    return 1;
  }
  samples->snapshot_s.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
  tidal_ckpt_save_wait_durable(save);
  samples->durable_s.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
  tidal_ckpt_save_free(save);
  unlink(path.c_str());
  return 0;
}

void print_results(const cudaDeviceProp& prop, const DeviceState& state, int reps, const Samples& s) {
  double gib = state.bytes / kGiB;
  fmt::print("GPU: {}; state {:.3f} GiB of DiT-XL/2 f32 tensors ({} tensors) in device memory; {} reps\n", prop.name,
             gib, state.views.size(), reps);
  fmt::print("| copy | median s | GiB/s |\n|---|---|---|\n");
  fmt::print("| bound: one cudaMemcpyAsync D2H into pinned memory | {:.4f} | {:.2f} |\n", median(s.bound_s),
             gib / median(s.bound_s));
  fmt::print("| tidal snapshot (D2H per slot into pinned staging, hashed) | {:.4f} | {:.2f} |\n",
             median(s.snapshot_s), gib / median(s.snapshot_s));
  fmt::print("snapshot D2H: {:.2f}x the pinned-copy bound; durable after {:.3f} s (median)\n",
             median(s.bound_s) / median(s.snapshot_s), median(s.durable_s));
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t state_mib = 1024;
  int reps = 5;
  std::string dir = "/tmp";
  CLI::App app{"tidal checkpoint GPU benchmark: snapshot D2H bandwidth vs the pinned-copy bound"};
  app.add_option("--state-mib", state_mib, "size of the device-resident state");
  app.add_option("--reps", reps, "interleaved repetitions");
  app.add_option("--dir", dir, "directory for the checkpoint files (deleted)");
  CLI11_PARSE(app, argc, argv);
  if (!tidal_cuda_device_available()) {
    fmt::print("SKIP tidal-ckpt-gpu-bench: {}\n", tidal_last_error());
    return 0;
  }
  cudaDeviceProp prop;
  CUDA_OR_DIE(cudaGetDeviceProperties(&prop, 0));
  DeviceState state;
  if (make_device_state(state_mib << 20, &state) != 0) return 1;
  void* pinned = nullptr;
  cudaStream_t stream;
  CUDA_OR_DIE(cudaHostAlloc(&pinned, state.bytes, cudaHostAllocDefault));
  CUDA_OR_DIE(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  CUDA_OR_DIE(cudaDeviceSynchronize());
  // The ring covers the whole state, so the snapshot measures D2H, not disk.
  tidal_ckpt_writer_config_t config = TIDAL_CKPT_WRITER_CONFIG_INITIALIZER;
  config.slot_bytes = 16u << 20;
  config.staging_bytes = (state.bytes / config.slot_bytes + 2) * config.slot_bytes;
  tidal_ckpt_writer_t writer = nullptr;
  if (tidal_ckpt_writer_create(&config, &writer) != TIDAL_SUCCESS) {
    fmt::print(stderr, "writer: {}\n", tidal_last_error());
    return 1;
  }
  Samples samples;
  std::string path = fmt::format("{}/tidal-ckpt-gpu-bench-{}.safetensors", dir, getpid());
  for (int rep = 0; rep < reps; ++rep)
    if (measure_once(state, pinned, stream, writer, path, &samples) != 0) return 1;
  print_results(prop, state, reps, samples);
  tidal_ckpt_writer_destroy(writer);
  cudaStreamDestroy(stream);
  cudaFreeHost(pinned);
  cudaFree(state.device);
  return 0;
}
