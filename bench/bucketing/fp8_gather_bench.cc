// tidal-bench-fp8-gather — the parameter all-gather of a DiT model in three
// communication dtypes, interleaved per bucket size: f32 (the tensors' own
// dtype), bf16 (cast fused into the pack/unpack) and block-scaled FP8
// (encode, one byte all-gather, decode; tidal/fp8.h). Beside them, the
// memcpy bound of the f32 bytes and the accuracy of what each dtype
// delivers: the largest error relative to the tensor's largest value, and
// the RMS error relative to the tensor's RMS, over the whole model.
//
// The parameters are DiT-like weights: normal values with a per-tensor
// standard deviation (xavier-style 1/sqrt(fan), 0.02 for embeddings), so
// blocks see realistic ranges. Local threads or mpiexec (--backend mpi).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "bench/bucketing/bench_stats.h"
#include "bench/bucketing/dit_models.h"
#include "bench/bucketing/rank_harness.h"
#include "bench/bucketing/sweep_options.h"
#include "tidal/bucket.h"

namespace {

using tidal_bench::Samples;
using tidal_bench::timed_max;

struct Options : tidal_bench::SweepOptions {
  Options() {
    model = "DiT-B/2";
    bucket_mib = {4, 16};
  }
  size_t fp8_block = 128;
};

struct Variant {
  const char* name;
  int comm_dtype;
};
const Variant kVariants[] = {
    {"f32", -1}, {"bf16", TIDAL_BF16}, {"fp8 e4m3", TIDAL_FP8_E4M3}, {"fp8 e5m2", TIDAL_FP8_E5M2}};

// The model's parameters: the same values on every rank (a fixed seed).
std::vector<std::vector<float>> dit_weights(const tidal_bench::DiTConfig& model) {
  std::vector<std::vector<float>> w;
  std::mt19937 rng(1234);
  for (const auto& p : tidal_bench::dit_parameters(model)) {
    const size_t fan = p.shape.size() > 1 ? p.shape.back() : 0;
    const float std_dev = fan ? 1.0f / std::sqrt(static_cast<float>(fan)) : 0.02f;
    std::normal_distribution<float> normal(0.0f, std_dev);
    std::vector<float> t(p.count());
    for (float& v : t) v = normal(rng);
    w.push_back(std::move(t));
  }
  return w;
}

struct GatherList {
  tidal_tensor_list_t list = nullptr;
  std::vector<std::vector<float>> tensors;  // what the gather fills
  std::vector<unsigned char> shard;          // this rank's block of the weights
};

bool make(tidal_comm_t comm, const std::vector<std::vector<float>>& w, double mib,
          int comm_dtype, size_t fp8_block, GatherList* g) {
  std::vector<tidal_tensor_desc_t> descs;
  for (const auto& t : w) g->tensors.emplace_back(t.size(), 0.0f);
  for (auto& t : g->tensors) descs.push_back({t.data(), t.size(), TIDAL_F32});
  tidal_bucket_options_t o = TIDAL_BUCKET_OPTIONS_INITIALIZER;
  o.bucket_bytes = static_cast<size_t>(mib * (1 << 20));
  o.first_bucket_bytes = 0;
  o.comm_dtype = comm_dtype;
  o.fp8_block = fp8_block;
  if (tidal_tensor_list_create(comm, descs.data(), descs.size(), &o, &g->list) != TIDAL_SUCCESS) {
    std::fprintf(stderr, "%s\n", tidal_last_error());
    return false;
  }
  size_t bytes = 0;
  tidal_tensor_list_shard_bytes(g->list, &bytes);
  g->shard.assign(bytes, 0);
  for (size_t t = 0; t < w.size(); ++t) {
    size_t n = 0;
    tidal_tensor_list_shard_segments(g->list, t, nullptr, 0, &n);
    std::vector<tidal_shard_segment_t> segs(n);
    tidal_tensor_list_shard_segments(g->list, t, segs.data(), n, &n);
    for (const auto& s : segs) {
      std::memcpy(g->shard.data() + s.shard_offset, w[t].data() + s.tensor_offset, s.count * 4);
    }
  }
  return true;
}

// Largest |error| / the tensor's largest |value|, and RMS error / RMS value.
void accuracy(const std::vector<std::vector<float>>& w, const std::vector<std::vector<float>>& got,
              double* max_rel, double* rms_rel) {
  *max_rel = 0;
  double err2 = 0, val2 = 0;
  for (size_t t = 0; t < w.size(); ++t) {
    float amax = 0;
    for (float v : w[t]) amax = std::max(amax, std::fabs(v));
    for (size_t e = 0; e < w[t].size(); ++e) {
      const double d = static_cast<double>(got[t][e]) - w[t][e];
      if (amax > 0) *max_rel = std::max(*max_rel, std::fabs(d) / amax);
      err2 += d * d;
      val2 += static_cast<double>(w[t][e]) * w[t][e];
    }
  }
  *rms_rel = val2 > 0 ? std::sqrt(err2 / val2) : 0;
}

void sweep_one_size(tidal_comm_t comm, int rank, const Options& o,
                    const std::vector<std::vector<float>>& w, double mib) {
  std::vector<GatherList> lists(std::size(kVariants));
  for (size_t v = 0; v < lists.size(); ++v) {
    if (!make(comm, w, mib, kVariants[v].comm_dtype, o.fp8_block, &lists[v])) return;
  }
  size_t total = 0;
  for (const auto& t : w) total += t.size();
  std::vector<float> src(total, 1.0f), dst(total, 0.0f);
  Samples s;
  for (int r = 0; r <= o.reps; ++r) {  // round 0 warms up
    auto add = [&](const std::string& v, double t) { if (r > 0) s.add(v, t); };
    add("memcpy bound", timed_max(comm, [&] { std::memcpy(dst.data(), src.data(), total * 4); }));
    for (size_t v = 0; v < lists.size(); ++v) {
      add(kVariants[v].name, timed_max(comm, [&] {
        tidal_bucketed_all_gather(lists[v].list, lists[v].shard.data(), nullptr, nullptr);
      }));
    }
  }
  if (rank == 0) {
    const double bytes = static_cast<double>(total) * 4, bound = s.median_of("memcpy bound");
    const double f32 = s.median_of("f32");
    std::printf("bucket %5.2f MiB: memcpy bound %.1f ms\n", mib, bound * 1e3);
    for (size_t v = 0; v < lists.size(); ++v) {
      tidal_bucket_counters_t k;
      tidal_tensor_list_get_counters(lists[v].list, &k);
      const double t = s.median_of(kVariants[v].name);
      double max_rel = 0, rms_rel = 0;
      accuracy(w, lists[v].tensors, &max_rel, &rms_rel);
      const double rounds = o.reps + 1;
      std::printf("  %-9s %7.1f ms (%5.2f GB/s of f32 params, %3.0f%% of bound, spread %3.0f%%)"
                  "  vs f32 %5.2fx  wire %6.1f MB  pack %5.1f ms  unpack %5.1f ms (rank 0, "
                  "per gather)  max err %.1e  rms err %.1e\n",
                  kVariants[v].name, t * 1e3, bytes / t / 1e9, 100 * bound / t,
                  100 * s.spread_of(kVariants[v].name), f32 / t,
                  k.bytes_communicated / 1e6 / rounds, k.pack_ns / 1e6 / rounds,
                  k.unpack_ns / 1e6 / rounds, max_rel, rms_rel);
    }
    std::fflush(stdout);
  }
  for (auto& g : lists) tidal_tensor_list_destroy(g.list);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tidal-bench-fp8-gather: parameter all-gather in f32, bf16 and FP8"};
  Options o;
  tidal_bench::add_sweep_options(app, &o);
  app.add_option("--fp8-block", o.fp8_block, "FP8 elements per scale");
  CLI11_PARSE(app, argc, argv);
  tidal_bench::DiTConfig model;
  if (!tidal_bench::sweep_model(o, &model)) return 2;
  const auto weights = dit_weights(model);
  return tidal_bench::run_on_ranks(o.backend, o.ranks, argc, argv,
                                   [&](tidal_comm_t comm, int rank, int size) {
    if (rank == 0) {
      size_t total = 0;
      for (const auto& t : weights) total += t.size();
      std::printf("%s: %zu tensors, %.1f MB f32, %d ranks (%s), %d rounds, FP8 block %zu\n",
                  model.name, weights.size(), total * 4 / 1e6, size, o.backend.c_str(), o.reps,
                  o.fp8_block);
    }
    for (double mib : o.bucket_mib) sweep_one_size(comm, rank, o, weights, mib);
  });
}
