// tidal-bench-memory-placement — is a comparison between two buffers a
// comparison of code or of memory? Every rank allocates two identical
// buffers of a DiT-sized gradient set: one first thing ("early"), one after
// --spacer-mib of other allocations ("late"). The same bucketed
// reduce-scatter (same code, same layout, same bucket plan) then runs on a
// list over each, interleaved; the medians differ only by where the memory
// came from. On the 2-vCPU VM of docs/benchmarks/bucketing.md this was
// 3.4x, which is why the bucketed benchmark's --pooled mode runs the flat
// baseline on the very pages the tensors live in.
#include <algorithm>
#include <cstdio>
#include <vector>

#include <CLI/CLI.hpp>

#include "bench/bucketing/bench_stats.h"
#include "bench/bucketing/rank_harness.h"
#include "tidal/bucket.h"

namespace {

struct Options {
  int ranks = 4;
  size_t tensors = 131, elements = 250000;  // DiT-S/2-sized: 131 MB of f32
  double bucket_mib = 4;
  size_t spacer_mib = 100;
  int reps = 15;
};

tidal_tensor_list_t list_over(tidal_comm_t comm, float* base, const Options& o) {
  std::vector<tidal_tensor_desc_t> descs;
  for (size_t t = 0; t < o.tensors; ++t) descs.push_back({base + t * o.elements, o.elements, TIDAL_F32});
  tidal_bucket_options_t bo = TIDAL_BUCKET_OPTIONS_INITIALIZER;
  bo.bucket_bytes = static_cast<size_t>(o.bucket_mib * (1 << 20));
  bo.first_bucket_bytes = 0;
  tidal_tensor_list_t list = nullptr;
  if (tidal_tensor_list_create(comm, descs.data(), descs.size(), &bo, &list) != TIDAL_SUCCESS) {
    std::fprintf(stderr, "%s\n", tidal_last_error());
  }
  return list;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tidal-bench-memory-placement: the same reduce-scatter on early and late memory"};
  Options o;
  app.add_option("--ranks", o.ranks, "local ranks (threads)");
  app.add_option("--tensors", o.tensors, "tensors per rank");
  app.add_option("--elements", o.elements, "f32 elements per tensor");
  app.add_option("--bucket-mib", o.bucket_mib, "bucket size (MiB)");
  app.add_option("--spacer-mib", o.spacer_mib, "MiB allocated between the two buffers");
  app.add_option("--reps", o.reps, "interleaved rounds");
  CLI11_PARSE(app, argc, argv);
  return tidal_bench::run_on_ranks("local", o.ranks, argc, argv, [&](tidal_comm_t comm, int rank,
                                                                      int) {
    const size_t count = o.tensors * o.elements;
    std::vector<float> early(count, 1.0f);
    std::vector<std::vector<float>> spacer;
    for (size_t m = 0; m < o.spacer_mib; ++m) spacer.emplace_back((1 << 20) / 4, 2.0f);
    std::vector<float> late(count, 1.0f);
    tidal_tensor_list_t lists[2] = {list_over(comm, early.data(), o), list_over(comm, late.data(), o)};
    if (!lists[0] || !lists[1]) return;
    size_t shard_bytes = 0;
    tidal_tensor_list_shard_bytes(lists[0], &shard_bytes);
    std::vector<unsigned char> shard(shard_bytes);
    const char* names[2] = {"early", "late"};
    tidal_bench::Samples s;
    for (int r = 0; r <= o.reps; ++r) {  // round 0 warms up
      for (int v = 0; v < 2; ++v) {
        double t = tidal_bench::timed_max(comm, [&] {
          tidal_bucketed_reduce_scatter(lists[v], shard.data(), TIDAL_SUM, nullptr, nullptr);
        });
        if (r > 0) s.add(names[v], t);
      }
    }
    for (auto* l : lists) tidal_tensor_list_destroy(l);
    if (rank != 0) return;
    const double te = s.median_of("early"), tl = s.median_of("late");
    std::printf("%d ranks, %zu x %zu f32 per rank, %.2f MiB buckets, %d rounds\n", o.ranks,
                o.tensors, o.elements, o.bucket_mib, o.reps);
    std::printf("  early memory %7.1f ms (spread %3.0f%%)\n", te * 1e3, 100 * s.spread_of("early"));
    std::printf("  late memory  %7.1f ms (spread %3.0f%%)\n", tl * 1e3, 100 * s.spread_of("late"));
    std::printf("  early / late %5.2fx (the same code and layout)\n", te / tl);
  });
}
