// tidal-bench-overlap — exposed communication of a synthetic backward pass:
// the grad reducer (buckets launched as gradients become ready) against
// reducing everything after backward. The backward produces a DiT's
// gradients layer by layer, last layer first, at a set pace; "computing" a
// layer is a sleep (the CPU is free, as while a GPU computes), lasting in
// proportion to the layer's parameter count. Exposed time = from the end
// of backward to the reduced shard (slowest rank). Rounds interleave both.
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "bench/bucketing/bench_stats.h"
#include "bench/bucketing/dit_models.h"
#include "bench/bucketing/rank_harness.h"
#include "tidal/overlap.h"

namespace {

using tidal_bench::now_s;
using tidal_bench::Samples;

struct Options {
  std::string backend = "local";
  int ranks = 4;
  std::string model = "DiT-S/2";
  size_t bucket_mib = 4;
  double backward_ms = 0;  // 0: twice the measured reduce-after-backward time
  int reps = 5;
};

// DiT layers in registration order: the 7 embedding tensors, 10 per
// block, the 4 of the final layer.
std::vector<std::pair<size_t, size_t>> layers_of(size_t n_tensors) {
  std::vector<std::pair<size_t, size_t>> layers = {{0, 6}};
  size_t t = 7;
  for (; t + 4 < n_tensors; t += 10) layers.push_back({t, t + 9});
  layers.push_back({t, n_tensors - 1});
  return layers;
}

// Backward: layers last to first; each sleeps its share of the pace, then
// (when reducer != NULL) marks its gradients ready, last tensor first.
void backward(const std::vector<std::pair<size_t, size_t>>& layers,
              const std::vector<size_t>& counts, size_t total, double backward_s,
              tidal_grad_reducer_t reducer) {
  for (auto it = layers.rbegin(); it != layers.rend(); ++it) {
    size_t elems = 0;
    for (size_t t = it->first; t <= it->second; ++t) elems += counts[t];
    std::this_thread::sleep_for(std::chrono::duration<double>(backward_s * elems / total));
    if (!reducer) continue;
    for (size_t t = it->second + 1; t-- > it->first;) tidal_grad_ready(reducer, t);
  }
}

double max_over_ranks(tidal_comm_t comm, double mine) {
  double slowest = 0;
  tidal_all_reduce(&mine, &slowest, 1, TIDAL_F64, TIDAL_MAX, comm, nullptr);
  return slowest;
}

// One rank's gradients, their reverse-ordered list and the reducer.
struct Setup {
  std::vector<size_t> counts;
  size_t total = 0, buckets = 0, largest = 0;
  std::vector<std::vector<float>> grads;
  tidal_tensor_list_t list = nullptr;
  tidal_grad_reducer_t reducer = nullptr;
  void* shard = nullptr;
};

bool set_up(tidal_comm_t comm, const Options& o, const tidal_bench::DiTConfig& model,
            Setup* s) {
  s->counts = tidal_bench::dit_counts(model);
  std::vector<tidal_tensor_desc_t> descs;
  for (size_t c : s->counts) {
    s->grads.emplace_back(c, 1.0f);
    descs.push_back({s->grads.back().data(), c, TIDAL_F32});
    s->total += c;
  }
  tidal_bucket_options_t bo = TIDAL_BUCKET_OPTIONS_INITIALIZER;
  bo.bucket_bytes = o.bucket_mib << 20;
  bo.order = TIDAL_BUCKET_ORDER_REVERSE;  // first bucket: the last layer's gradients
  if (tidal_tensor_list_create(comm, descs.data(), descs.size(), &bo, &s->list) != TIDAL_SUCCESS ||
      tidal_grad_reducer_create(s->list, nullptr, &s->reducer) != TIDAL_SUCCESS) {
    std::fprintf(stderr, "%s\n", tidal_last_error());
    return false;
  }
  size_t shard_bytes = 0;
  tidal_grad_reducer_shard(s->reducer, &s->shard, &shard_bytes);
  tidal_tensor_list_num_buckets(s->list, &s->buckets);
  for (size_t b = 0; b < s->buckets; ++b) {
    tidal_bucket_info_t info;
    tidal_tensor_list_bucket_info(s->list, b, &info);
    s->largest = std::max(s->largest, info.count);
  }
  return true;
}

void report(const Setup& st, const Samples& s, const Options& o, const char* model,
            double t_comm, double backward_s) {
  tidal_bucket_counters_t k;
  tidal_grad_reducer_get_counters(st.reducer, &k);
  const double one_bucket = t_comm * static_cast<double>(st.largest) / static_cast<double>(st.total);
  const double ov = s.median_of("grad reducer (overlapped)");
  const double after = s.median_of("reduce after backward");
  std::printf("%s, %zu tensors, %.1f MB, %zu buckets of <= %zu MiB; backward pace %.1f ms "
              "(sleeping); all buckets' RS alone %.1f ms; one (largest) bucket %.1f ms\n",
              model, st.counts.size(), st.total * 4 / 1e6, st.buckets, o.bucket_mib,
              backward_s * 1e3, t_comm * 1e3, one_bucket * 1e3);
  std::printf("  exposed: overlapped %.2f ms (spread %.0f%%), after backward %.2f ms -> %.1fx "
              "less; overlapped / one bucket = %.2f (goal <= 1.05)\n",
              ov * 1e3, 100 * s.spread_of("grad reducer (overlapped)"), after * 1e3, after / ov,
              ov / one_bucket);
  std::printf("  reducer counters: %llu buckets, %llu collectives, %.1f ms packing, %.1f ms "
              "waiting over %llu steps\n",
              static_cast<unsigned long long>(k.buckets_launched),
              static_cast<unsigned long long>(k.collective_calls), k.pack_ns / 1e6,
              k.wait_ns / 1e6, static_cast<unsigned long long>(k.steps));
}

void run(tidal_comm_t comm, int rank, const Options& o) {
  tidal_bench::DiTConfig model;
  tidal_bench::dit_by_name(o.model, &model);
  Setup st;
  if (!set_up(comm, o, model, &st)) return;
  // Calibrate: the reduce-after-backward time without any backward.
  std::vector<double> solo;
  for (int i = 0; i < 3; ++i) {
    solo.push_back(tidal_bench::timed_max(comm, [&] {
      tidal_bucketed_reduce_scatter(st.list, st.shard, TIDAL_SUM, nullptr, nullptr);
    }));
  }
  const double t_comm = tidal_bench::median(solo);
  const double backward_s = o.backward_ms > 0 ? o.backward_ms / 1e3 : 2 * t_comm;
  const auto layers = layers_of(st.counts.size());
  Samples s;
  for (int r = 0; r < o.reps; ++r) {
    tidal_bench::barrier(comm);
    backward(layers, st.counts, st.total, backward_s, st.reducer);
    double end = now_s();
    tidal_grad_reducer_wait(st.reducer);
    s.add("grad reducer (overlapped)", max_over_ranks(comm, now_s() - end));
    tidal_bench::barrier(comm);
    backward(layers, st.counts, st.total, backward_s, nullptr);
    end = now_s();
    tidal_bucketed_reduce_scatter(st.list, st.shard, TIDAL_SUM, nullptr, nullptr);
    s.add("reduce after backward", max_over_ranks(comm, now_s() - end));
  }
  if (rank == 0) report(st, s, o, model.name, t_comm, backward_s);
  tidal_grad_reducer_destroy(st.reducer);
  tidal_tensor_list_destroy(st.list);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tidal-bench-overlap: exposed communication, grad reducer vs after backward"};
  Options o;
  app.add_option("--backend", o.backend, "local or mpi (run under mpiexec)");
  app.add_option("--ranks", o.ranks, "local ranks (threads)");
  app.add_option("--model", o.model, "DiT-S/2, DiT-B/2 or DiT-XL/2");
  app.add_option("--bucket-mib", o.bucket_mib, "bucket capacity (MiB)");
  app.add_option("--backward-ms", o.backward_ms, "backward duration; 0 = 2x the comm time");
  app.add_option("--reps", o.reps, "interleaved rounds");
  CLI11_PARSE(app, argc, argv);
  return tidal_bench::run_on_ranks(o.backend, o.ranks, argc, argv,
                                   [&](tidal_comm_t comm, int rank, int) { run(comm, rank, o); });
}
