// tidal-bench-pack-cuda — the fused CUDA pack kernel (one launch per
// bucket) against one cudaMemcpyAsync per tensor and the device-to-device
// bound (one cudaMemcpyAsync of the same bytes; and one per bucket, the
// same launch count as the pack), on DiT parameter lists,
// interleaved, timed with CUDA events. Also the FP8 codec kernels of an
// FP8 parameter gather: the E4M3 encode of the whole f32 arena (block 128)
// and the decode tables of every bucket back into the tensors; they move
// 5 bytes per element where the f32 memcpy moves 8, so their bound is
// 1.6x the memcpy's "x of bound". Without a usable GPU it prints why
// and exits 0 (so scripts can run it anywhere).
#include <cstdio>
#include <vector>

#include <CLI/CLI.hpp>
#include <cuda_runtime_api.h>

#include "bench/bucketing/bench_stats.h"
#include "bench/bucketing/dit_models.h"
#include "collectives/bucketing/bucket_plan.h"
#include "collectives/codecs/cuda/fp8_codec_cuda.h"
#include "collectives/codecs/fp8_decode_table.h"
#include "collectives/kernels/copy_table.h"
#include "collectives/kernels/cuda/pack_kernel_cuda.h"
#include "tidal/nccl.h"

namespace {

struct DeviceSetup {
  std::vector<float*> tensors;
  std::vector<size_t> counts;
  float *arena = nullptr, *flat = nullptr;
  uint16_t* arena_bf16 = nullptr;
  uint8_t* fp8 = nullptr;  // the arena encoded: one byte per element
  float* fp8_scales = nullptr;
  std::vector<tidal::CopyTable> pack, pack_bf16;
  std::vector<tidal::Fp8DecodeTable> fp8_decode;
  tidal::BucketPlan plan;
  size_t total = 0;

  ~DeviceSetup() {
    for (float* t : tensors) cudaFree(t);
    cudaFree(arena), cudaFree(flat), cudaFree(arena_bf16), cudaFree(fp8), cudaFree(fp8_scales);
  }
};

bool build(const tidal_bench::DiTConfig& model, size_t bucket_bytes, DeviceSetup* s) {
  std::vector<tidal::TensorSpec> specs;
  s->counts = tidal_bench::dit_counts(model);
  for (size_t c : s->counts) {
    float* p = nullptr;
    if (cudaMalloc(&p, c * 4) != cudaSuccess) return false;
    cudaMemset(p, 0, c * 4);
    s->tensors.push_back(p);
    specs.push_back({c, TIDAL_F32});
    s->total += c;
  }
  tidal::PlanOptions o;
  o.bucket_bytes = bucket_bytes;
  if (!tidal::make_bucket_plan(specs, o, &s->plan).ok()) return false;
  const size_t arena = s->plan.groups[0].count;
  if (cudaMalloc(&s->arena, arena * 4) != cudaSuccess) return false;
  if (cudaMalloc(&s->flat, arena * 4) != cudaSuccess) return false;
  if (cudaMalloc(&s->arena_bf16, arena * 2) != cudaSuccess) return false;
  if (cudaMalloc(&s->fp8, arena) != cudaSuccess) return false;
  if (cudaMalloc(&s->fp8_scales, tidal::fp8_scale_count(arena, 128) * 4) != cudaSuccess) {
    return false;
  }
  for (const tidal::Bucket& b : s->plan.buckets) {
    tidal::CopyTable t, tb;
    tidal::Fp8DecodeTable td;
    for (size_t k = 0; k < b.piece_count; ++k) {
      const tidal::Piece& p = s->plan.pieces[b.first_piece + k];
      t.add(s->tensors[p.tensor] + p.tensor_offset, s->arena + b.arena_offset + p.bucket_offset, p.count);
      tb.add(s->tensors[p.tensor] + p.tensor_offset, s->arena_bf16 + b.arena_offset + p.bucket_offset, p.count);
      td.add({s->fp8, s->fp8_scales, b.arena_offset + p.bucket_offset,
              s->tensors[p.tensor] + p.tensor_offset, p.count});
    }
    if (!t.finalize(true).ok() || !tb.finalize(true).ok() || !td.finalize(true).ok()) {
      return false;
    }
    s->pack.push_back(std::move(t));
    s->pack_bf16.push_back(std::move(tb));
    s->fp8_decode.push_back(std::move(td));
  }
  return true;
}

template <typename F>
double time_on_stream(cudaStream_t stream, F f) {
  cudaEvent_t a, b;
  cudaEventCreate(&a), cudaEventCreate(&b);
  cudaEventRecord(a, stream);
  f();
  cudaEventRecord(b, stream);
  cudaEventSynchronize(b);
  float ms = 0;
  cudaEventElapsedTime(&ms, a, b);
  cudaEventDestroy(a), cudaEventDestroy(b);
  return ms / 1e3;
}

void run_model(const tidal_bench::DiTConfig& model, size_t bucket_bytes, int reps) {
  DeviceSetup s;
  if (!build(model, bucket_bytes, &s)) {
    std::printf("%s: device allocation failed: %s\n", model.name, cudaGetErrorString(cudaGetLastError()));
    return;
  }
  cudaStream_t st;
  cudaStreamCreate(&st);
  // What this GPU runs at once of 256-thread blocks (the pack kernel's size).
  cudaDeviceProp prop;
  cudaGetDeviceProperties(&prop, 0);
  const uint32_t resident_blocks =
      static_cast<uint32_t>(prop.multiProcessorCount * (prop.maxThreadsPerMultiProcessor / 256));
  const size_t bytes = s.total * 4;
  tidal_bench::Samples samples;
  for (int r = 0; r <= reps; ++r) {
    auto add = [&](const char* v, double t) { if (r > 0) samples.add(v, t); };
    add("D2D memcpy (bound)", time_on_stream(st, [&] {
      cudaMemcpyAsync(s.arena, s.flat, bytes, cudaMemcpyDeviceToDevice, st);
    }));
    // The same launch count as the fused pack: one memcpy per bucket.
    add("D2D memcpy per bucket", time_on_stream(st, [&] {
      for (const tidal::Bucket& b : s.plan.buckets)
        cudaMemcpyAsync(s.arena + b.arena_offset, s.flat + b.arena_offset, b.count * 4,
                        cudaMemcpyDeviceToDevice, st);
    }));
    add("fused pack kernel", time_on_stream(st, [&] {
      for (auto& t : s.pack) t.run(tidal::CopyOp{TIDAL_F32, TIDAL_F32, 1.0f}, st);
    }));
    tidal::cuda_set_copy_grid_cap(resident_blocks);  // one resident wave: blocks stride
    add("fused pack, one resident wave", time_on_stream(st, [&] {
      for (auto& t : s.pack) t.run(tidal::CopyOp{TIDAL_F32, TIDAL_F32, 1.0f}, st);
    }));
    tidal::cuda_set_copy_grid_cap(0);
    add("per-tensor cudaMemcpyAsync", time_on_stream(st, [&] {
      for (size_t t = 0; t < s.tensors.size(); ++t)
        cudaMemcpyAsync(s.arena + s.plan.slots[t].arena_offset, s.tensors[t], s.counts[t] * 4,
                        cudaMemcpyDeviceToDevice, st);
    }));
    add("fused pack f32->bf16 x0.5", time_on_stream(st, [&] {
      for (auto& t : s.pack_bf16) t.run(tidal::CopyOp{TIDAL_F32, TIDAL_BF16, 0.5f}, st);
    }));
    const tidal::Fp8Codec e4m3;  // block 128, linear scales
    add("FP8 e4m3 encode (arena)", time_on_stream(st, [&] {
      (void)tidal::cuda_fp8_encode(e4m3, s.flat, TIDAL_F32, s.plan.groups[0].count, s.fp8,
                                   s.fp8_scales, 1.0f, st);
    }));
    add("FP8 e4m3 decode tables", time_on_stream(st, [&] {
      for (auto& t : s.fp8_decode) (void)t.run(e4m3, TIDAL_F32, 1.0f, st);
    }));
  }
  cudaStreamDestroy(st);
  std::printf("\n%s: %zu tensors, %.1f MB f32, %zu buckets of <= %zu MiB, %d rounds\n", model.name,
              s.tensors.size(), bytes / 1e6, s.plan.buckets.size(), bucket_bytes >> 20, reps);
  const double bound = samples.median_of("D2D memcpy (bound)");
  for (const auto& v : samples.variants()) {
    double m = samples.median_of(v);
    std::printf("  %-30s %9.3f ms %8.1f GB/s  %5.2fx of bound\n", v.c_str(), m * 1e3,
                bytes / m / 1e9, bound / m);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tidal-bench-pack-cuda: fused CUDA pack vs per-tensor copies vs D2D bound"};
  std::vector<std::string> models = {"DiT-S/2", "DiT-B/2", "DiT-XL/2"};
  size_t bucket_mib = 25;
  int reps = 10;
  app.add_option("--model", models, "models (repeatable)");
  app.add_option("--bucket-mib", bucket_mib, "bucket capacity in MiB");
  app.add_option("--reps", reps, "interleaved rounds");
  CLI11_PARSE(app, argc, argv);
  if (!tidal_cuda_device_available()) {
    std::printf("SKIP tidal-bench-pack-cuda: no usable CUDA device: %s\n", tidal_last_error());
    return 0;
  }
  cudaDeviceProp prop;
  cudaGetDeviceProperties(&prop, 0);
  std::printf("GPU: %s\n", prop.name);
  for (const auto& name : models) {
    tidal_bench::DiTConfig c;
    if (!tidal_bench::dit_by_name(name, &c)) return 2;
    run_model(c, bucket_mib << 20, reps);
  }
  return 0;
}
