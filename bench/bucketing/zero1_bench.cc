// tidal-bench-zero1 — a ZeRO-1 step's communication: the grad reducer in
// all-reduce mode (every gradient marked at once, then wait) over a DiT
// parameter list, with direct buckets (local threads: all-reduced in place
// on the gradients, no pack, no unpack) and packed (the same ranks with
// direct_buckets = 0), against one flat all-reduce of the same pages. The
// gradients are carved from one allocation per rank, which the flat
// all-reduce also reads (see tidal-bench-memory-placement for why). Rounds
// interleave the variants; medians of the slowest rank.
#include <cstdint>
#include <cstdio>
#include <vector>

#include "bench/bucketing/bench_stats.h"
#include "bench/bucketing/dit_models.h"
#include "bench/bucketing/rank_harness.h"
#include "bench/bucketing/sweep_options.h"
#include "tidal/overlap.h"

namespace {

struct Reducer {
  tidal_tensor_list_t list = nullptr;
  tidal_grad_reducer_t reducer = nullptr;
  bool ok() const { return reducer != nullptr; }
  ~Reducer() {
    if (reducer) tidal_grad_reducer_destroy(reducer);
    if (list) tidal_tensor_list_destroy(list);
  }
};

void make_reducer(tidal_comm_t comm, const std::vector<tidal_tensor_desc_t>& descs, double mib,
                  Reducer* r) {
  tidal_bucket_options_t bo = TIDAL_BUCKET_OPTIONS_INITIALIZER;
  bo.bucket_bytes = static_cast<size_t>(mib * (1 << 20));
  bo.first_bucket_bytes = 0;
  bo.order = TIDAL_BUCKET_ORDER_REVERSE;
  tidal_grad_reducer_options_t ro = TIDAL_GRAD_REDUCER_OPTIONS_INITIALIZER;
  ro.all_reduce = 1;
  if (tidal_tensor_list_create(comm, descs.data(), descs.size(), &bo, &r->list) != TIDAL_SUCCESS ||
      tidal_grad_reducer_create(r->list, &ro, &r->reducer) != TIDAL_SUCCESS) {
    std::fprintf(stderr, "%s\n", tidal_last_error());
  }
}

double step(tidal_comm_t comm, const Reducer& r, size_t tensors) {
  return tidal_bench::timed_max(comm, [&] {
    for (size_t t = tensors; t-- > 0;) tidal_grad_ready(r.reducer, t);
    tidal_grad_reducer_wait(r.reducer);
  });
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tidal-bench-zero1: ZeRO-1 all-reduce through the grad reducer, direct vs packed"};
  tidal_bench::SweepOptions o;
  o.bucket_mib = {4, 16};
  tidal_bench::add_sweep_options(app, &o);
  CLI11_PARSE(app, argc, argv);
  tidal_bench::DiTConfig model;
  if (!tidal_bench::sweep_model(o, &model)) return 2;
  return tidal_bench::run_on_ranks(o.backend, o.ranks, argc, argv, [&](tidal_comm_t comm, int rank,
                                                                      int size) {
    const std::vector<size_t> counts = tidal_bench::dit_counts(model);
    size_t total = 0;
    for (size_t c : counts) total += (c + 15) / 16 * 16;  // 64-byte aligned starts
    total = (total + 16 * size - 1) / (16 * size) * (16 * size);
    std::vector<float> pool(total + 16, 1.0f + rank % 3);
    float* at = pool.data() + (16 - reinterpret_cast<uintptr_t>(pool.data()) / 4 % 16) % 16;
    float* base = at;
    std::vector<tidal_tensor_desc_t> descs;
    for (size_t c : counts) {
      descs.push_back({at, c, TIDAL_F32});
      at += (c + 15) / 16 * 16;
    }
    tidal_comm_t packing = tidal_bench::split_without_direct_buckets(comm, rank);
    if (!packing) return;
    if (rank == 0) {
      std::printf("%s: %zu tensors, %.1f MB f32 per rank (pooled), %d ranks (%s), %d rounds\n",
                  model.name, counts.size(), total * 4 / 1e6, size, o.backend.c_str(), o.reps);
    }
    for (double mib : o.bucket_mib) {
      Reducer direct, packed;
      make_reducer(comm, descs, mib, &direct);
      make_reducer(packing, descs, mib, &packed);
      if (!direct.ok() || !packed.ok()) break;
      tidal_bench::Samples s;
      for (int r = 0; r <= o.reps; ++r) {  // round 0 warms up
        auto add = [&](const char* v, double t) { if (r > 0) s.add(v, t); };
        add("flat all-reduce", tidal_bench::timed_max(comm, [&] {
          tidal_all_reduce(base, base, total, TIDAL_F32, TIDAL_SUM, comm, nullptr);
        }));
        add("reducer, direct", step(comm, direct, counts.size()));
        add("reducer, packed", step(comm, packed, counts.size()));
      }
      tidal_bucket_counters_t k;
      tidal_grad_reducer_get_counters(direct.reducer, &k);
      if (rank != 0) continue;
      const double tf = s.median_of("flat all-reduce"), td = s.median_of("reducer, direct"),
                   tp = s.median_of("reducer, packed");
      std::printf("bucket %5.2f MiB: flat %.1f ms; reducer direct %.1f ms (spread %.0f%%, %llu "
                  "of %llu buckets direct), packed %.1f ms (spread %.0f%%); direct vs packed "
                  "%.2fx, vs flat %.2fx\n",
                  mib, tf * 1e3, td * 1e3, 100 * s.spread_of("reducer, direct"),
                  static_cast<unsigned long long>(k.direct_buckets),
                  static_cast<unsigned long long>(k.buckets_launched), tp * 1e3,
                  100 * s.spread_of("reducer, packed"), tp / td, tf / td);
      std::fflush(stdout);
    }
    tidal_comm_destroy(packing);
  });
}
