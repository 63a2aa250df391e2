// tidal-bench-pack — the fused CPU pack against its bound and its naive
// baseline, on DiT parameter lists: fused pack (one threaded pass per
// bucket) vs one memcpy of the same bytes (1 thread, and split over the
// same worker threads: the bound) vs a per-tensor copy loop, interleaved;
// plus the fused f32 -> bf16 cast pack and unpack.
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include <CLI/CLI.hpp>

#include "bench/bucketing/bench_stats.h"
#include "bench/bucketing/dit_models.h"
#include "collectives/bucketing/bucket_plan.h"
#include "collectives/kernels/copy_table.h"
#include "collectives/kernels/cpu/copy_workers.h"

namespace {

using tidal_bench::Samples;

struct Setup {
  std::vector<std::vector<float>> tensors;
  tidal::BucketPlan plan;
  std::vector<float> arena, flat_src;
  std::vector<uint16_t> arena_bf16;
  std::vector<tidal::CopyTable> pack, pack_bf16, unpack_bf16;
  size_t total = 0;
};

void build(const tidal_bench::DiTConfig& model, size_t bucket_bytes, Setup* s) {
  std::vector<tidal::TensorSpec> specs;
  for (size_t c : tidal_bench::dit_counts(model)) {
    specs.push_back({c, TIDAL_F32});
    s->tensors.emplace_back(c, 1.5f);  // touched: no page faults while timing
    s->total += c;
  }
  tidal::PlanOptions o;
  o.bucket_bytes = bucket_bytes;
  tidal::make_bucket_plan(specs, o, &s->plan);
  s->arena.assign(s->plan.groups[0].count, 0.0f);
  s->arena_bf16.assign(s->plan.groups[0].count, 0);
  s->flat_src.assign(s->total, 2.5f);
  for (const tidal::Bucket& b : s->plan.buckets) {
    tidal::CopyTable t, tb, ub;
    for (size_t k = 0; k < b.piece_count; ++k) {
      const tidal::Piece& p = s->plan.pieces[b.first_piece + k];
      float* src = s->tensors[p.tensor].data() + p.tensor_offset;
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

void run_model(const tidal_bench::DiTConfig& model, size_t bucket_bytes, int reps) {
  Setup s;
  build(model, bucket_bytes, &s);
  const size_t bytes = s.total * 4;
  const tidal::CopyOp plain{TIDAL_F32, TIDAL_F32, 1.0f};
  const tidal::CopyOp to_bf16{TIDAL_F32, TIDAL_BF16, 0.5f}, from_bf16{TIDAL_BF16, TIDAL_F32, 2.0f};
  const size_t width = tidal::parallel_width();
  Samples samples;
  for (int r = 0; r < reps + 1; ++r) {  // round 0 warms up and is dropped
    Samples& out = samples;
    auto add = [&](const char* v, double t) { if (r > 0) out.add(v, t); };
    add("memcpy 1 thread (bound)", timed([&] { std::memcpy(s.arena.data(), s.flat_src.data(), bytes); }));
    add("memcpy split over workers (bound)", timed([&] {
      const size_t step = (s.total / width + 63) / 64 * 64;
      tidal::run_parallel(width, [&](size_t p) {
        size_t lo = std::min(s.total, p * step), hi = std::min(s.total, lo + step);
        if (p + 1 == width) hi = s.total;
        std::memcpy(&s.arena[lo], &s.flat_src[lo], (hi - lo) * 4);
      });
    }));
    add("fused pack", timed([&] { for (auto& t : s.pack) t.run(plain, nullptr); }));
    add("per-tensor copy loop", timed([&] {
      for (size_t t = 0; t < s.tensors.size(); ++t)
        std::memcpy(&s.arena[s.plan.slots[t].arena_offset], s.tensors[t].data(), s.tensors[t].size() * 4);
    }));
    add("fused pack f32->bf16 x0.5", timed([&] { for (auto& t : s.pack_bf16) t.run(to_bf16, nullptr); }));
    add("fused unpack bf16->f32 x2", timed([&] { for (auto& t : s.unpack_bf16) t.run(from_bf16, nullptr); }));
  }
  std::printf("\n%s: %zu tensors, %.1f MB f32, %zu buckets of <= %zu MiB, %zu copy threads, %d rounds\n",
              model.name, s.tensors.size(), bytes / 1e6, s.plan.buckets.size(), bucket_bytes >> 20,
              width, reps);
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
    run_model(c, bucket_mib << 20, reps);
  }
  return 0;
}
