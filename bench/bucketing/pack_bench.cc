// tidal-bench-pack — the fused CPU pack against its bound and its naive
// baseline, on DiT parameter lists: fused pack (one threaded pass per
// bucket) vs one memcpy of the same bytes (1 thread, and split over the
// same worker threads: the bound) vs a memcpy per bucket from one source
// (the pack's granularity, glibc's copy) vs a per-tensor copy loop,
// interleaved; plus the fused f32 -> bf16 cast pack and unpack.
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include <CLI/CLI.hpp>

#include "bench/bucketing/bench_stats.h"
#include "bench/bucketing/dit_models.h"
#include "collectives/bucketing/bucket_plan.h"
#include "collectives/kernels/copy_table.h"
#include "lib/core/parallel.h"

namespace {

using tidal_bench::Samples;

struct Setup {
  // Each tensor's memory: one allocation per tensor ("separate"), or
  // carved from one pool at 256-byte boundaries ("pooled", as a caching
  // allocator or a flat parameter holds them).
  std::vector<std::vector<float>> separate;
  std::vector<float> pool;
  std::vector<float*> tensors;
  std::vector<size_t> counts;
  tidal::BucketPlan plan;
  std::vector<float> arena, flat_src;
  std::vector<uint16_t> arena_bf16;
  std::vector<tidal::CopyTable> pack, pack_bf16, unpack_bf16;
  size_t total = 0;
};

void build(const tidal_bench::DiTConfig& model, size_t bucket_bytes, bool pooled, Setup* s) {
  std::vector<tidal::TensorSpec> specs;
  s->counts = tidal_bench::dit_counts(model);
  size_t pool_elems = 0;
  for (size_t c : s->counts) pool_elems += (c + 63) / 64 * 64;
  if (pooled) s->pool.assign(pool_elems, 1.5f);  // touched: no page faults while timing
  size_t at = 0;
  for (size_t c : s->counts) {
    specs.push_back({c, TIDAL_F32});
    if (pooled) {
      s->tensors.push_back(&s->pool[at]);
      at += (c + 63) / 64 * 64;
    } else {
      s->separate.emplace_back(c, 1.5f);
      s->tensors.push_back(s->separate.back().data());
    }
    s->total += c;
  }
  tidal::PlanOptions o;
  o.bucket_bytes = bucket_bytes;
  tidal::make_bucket_plan(specs, o, &s->plan);
  s->arena.assign(s->plan.groups[0].count, 0.0f);
  s->arena_bf16.assign(s->plan.groups[0].count, 0);
  // The bound copies the same bytes from one contiguous source: the pool
  // itself when the tensors live in one, else a buffer of its own.
  if (!pooled) s->flat_src.assign(s->total, 2.5f);
  for (const tidal::Bucket& b : s->plan.buckets) {
    tidal::CopyTable t, tb, ub;
    for (size_t k = 0; k < b.piece_count; ++k) {
      const tidal::Piece& p = s->plan.pieces[b.first_piece + k];
      float* src = s->tensors[p.tensor] + p.tensor_offset;
      t.add(src, &s->arena[b.arena_offset + p.bucket_offset], p.count);
      tb.add(src, &s->arena_bf16[b.arena_offset + p.bucket_offset], p.count);
      ub.add(&s->arena_bf16[b.arena_offset + p.bucket_offset], src, p.count);
    }
    t.finalize(false), tb.finalize(false), ub.finalize(false);
    s->pack.push_back(std::move(t));
    s->pack_bf16.push_back(std::move(tb));
    s->unpack_bf16.push_back(std::move(ub));
  }
}

template <typename F>
double timed(F f) {
  double t0 = tidal_bench::now_s();
  f();
  return tidal_bench::now_s() - t0;
}

void run_model(const tidal_bench::DiTConfig& model, size_t bucket_bytes, bool pooled, int reps) {
  Setup s;
  build(model, bucket_bytes, pooled, &s);
  const size_t bytes = s.total * 4;
  const tidal::CopyOp plain{TIDAL_F32, TIDAL_F32, 1.0f};
  const tidal::CopyOp to_bf16{TIDAL_F32, TIDAL_BF16, 0.5f}, from_bf16{TIDAL_BF16, TIDAL_F32, 2.0f};
  const size_t width = tidal::parallel_width();
  const float* flat = pooled ? s.pool.data() : s.flat_src.data();
  Samples samples;
  for (int r = 0; r < reps + 1; ++r) {  // round 0 warms up and is dropped
    Samples& out = samples;
    auto add = [&](const char* v, double t) { if (r > 0) out.add(v, t); };
    add("memcpy 1 thread (bound)", timed([&] { std::memcpy(s.arena.data(), flat, bytes); }));
    add("memcpy split over workers (bound)", timed([&] {
      const size_t step = (s.total / width + 63) / 64 * 64;
      tidal::run_parallel(width, [&](size_t p) {
        size_t lo = std::min(s.total, p * step), hi = std::min(s.total, lo + step);
        if (p + 1 == width) hi = s.total;
        std::memcpy(&s.arena[lo], flat + lo, (hi - lo) * 4);
      });
    }));
    add("memcpy per bucket, split", timed([&] {  // the pack's granularity, one source
      for (const tidal::Bucket& b : s.plan.buckets) {
        const size_t n = b.count, at = b.arena_offset, step = (n / width + 63) / 64 * 64;
        tidal::run_parallel(width, [&](size_t p) {
          size_t lo = std::min(n, p * step), hi = p + 1 == width ? n : std::min(n, lo + step);
          // The arena pads buckets past the tensors' total: the source
          // offset is clamped so the read stays inside the flat source.
          std::memcpy(&s.arena[at + lo], flat + std::min(at + lo, s.total - (hi - lo)),
                      (hi - lo) * 4);
        });
      }
    }));
    add("fused pack", timed([&] { for (auto& t : s.pack) t.run(plain, nullptr); }));
    add("per-tensor copy loop", timed([&] {
      for (size_t t = 0; t < s.tensors.size(); ++t)
        std::memcpy(&s.arena[s.plan.slots[t].arena_offset], s.tensors[t], s.counts[t] * 4);
    }));
    add("fused pack f32->bf16 x0.5", timed([&] { for (auto& t : s.pack_bf16) t.run(to_bf16, nullptr); }));
    add("fused unpack bf16->f32 x2", timed([&] { for (auto& t : s.unpack_bf16) t.run(from_bf16, nullptr); }));
  }
  std::printf("\n%s (%s tensors): %zu tensors, %.1f MB f32, %zu buckets of <= %zu MiB, %zu copy "
              "threads, %d rounds\n",
              model.name, pooled ? "pooled" : "separately allocated", s.tensors.size(),
              bytes / 1e6, s.plan.buckets.size(), bucket_bytes >> 20, width, reps);
  const double bound = std::min(samples.median_of("memcpy 1 thread (bound)"),
                                samples.median_of("memcpy split over workers (bound)"));
  std::printf("  %-36s %10s %9s %10s %8s\n", "variant", "median ms", "GB/s", "vs bound", "spread");
  for (const auto& v : samples.variants()) {
    double m = samples.median_of(v);
    std::printf("  %-36s %10.2f %9.2f %9.2fx %7.0f%%\n", v.c_str(), m * 1e3, bytes / m / 1e9,
                bound / m, 100 * samples.spread_of(v));
  }
  std::printf("  fused pack / per-tensor loop: %.2fx faster\n",
              samples.median_of("per-tensor copy loop") / samples.median_of("fused pack"));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tidal-bench-pack: fused pack vs memcpy bound vs per-tensor copies"};
  std::vector<std::string> models = {"DiT-S/2", "DiT-B/2"};
  size_t bucket_mib = 25;
  int reps = 7;
  app.add_option("--model", models, "DiT-S/2, DiT-B/2, DiT-XL/2 (repeatable)");
  app.add_option("--bucket-mib", bucket_mib, "bucket capacity in MiB");
  app.add_option("--reps", reps, "interleaved rounds (median reported)");
  CLI11_PARSE(app, argc, argv);
  for (const auto& name : models) {
    tidal_bench::DiTConfig c;
    if (!tidal_bench::dit_by_name(name, &c)) {
      std::fprintf(stderr, "unknown model %s\n", name.c_str());
      return 2;
    }
    for (bool pooled : {true, false}) run_model(c, bucket_mib << 20, pooled, reps);
  }
  return 0;
}
