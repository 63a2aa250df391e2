// tidal-bench-overlap — exposed communication of a synthetic backward pass:
// the grad reducer (buckets launched as gradients become ready) against
// reducing everything after backward. The backward produces a DiT's
// gradients last to first at a set pace; "computing" is a sleep (the CPU is
// free, as while a GPU computes) lasting in proportion to the parameter
// count. `--ready tensor` (default) marks each gradient when its own share
// of the pace has passed, as autograd's per-parameter hooks fire;
// `--ready layer` marks a whole layer's gradients at once at the end of the
// layer (a coarser, burstier backward). Exposed time = from the end of
// backward to the reduced shard (slowest rank); the whole step's time past
// the pace (what packing on the marking thread adds to backward counts
// there too), and exposure from the LAST rank's
// end of backward (steady_clock is one clock for every process of a host;
// this removes the ranks' skew, which no library can hide, since a bucket
// cannot be reduced before every rank has produced it). "One bucket" is measured:
// the bucketed reduce-scatter (pack, collective, copy-out) of a list that
// is a single bucket as large as the plan's largest. Rounds interleave all
// three.
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "bench/bucketing/bench_stats.h"
#include "bench/bucketing/dit_models.h"
#include "bench/bucketing/rank_harness.h"
#include "tidal/overlap.h"

namespace {

using tidal_bench::max_over_ranks;
using tidal_bench::now_s;
using tidal_bench::Samples;

struct Options {
  std::string backend = "local";
  int ranks = 4;
  std::string model = "DiT-S/2";
  size_t bucket_mib = 4;
  double backward_ms = 0;  // 0: twice the measured reduce-after-backward time
  std::string ready = "tensor";  // or "layer"
  std::string pack = "marking";  // or "progress": where the reducer packs
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

// Backward: layers last to first. Deadlines are cumulative from the start,
// so many short sleeps do not drift. With `per_tensor`, each gradient is
// marked (when reducer != NULL) once its own share of the pace has passed;
// otherwise a layer's gradients are marked together at the layer's end.
// Returns when backward's compute ended: the moment the last sleep
// returned, before the last gradients were marked (marking, and a pack it
// may run, is the reducer's cost, not compute).
double backward(const std::vector<std::pair<size_t, size_t>>& layers,
                const std::vector<size_t>& counts, size_t total, double backward_s,
                bool per_tensor, tidal_grad_reducer_t reducer) {
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  size_t done = 0;
  double compute_end = 0;
  auto sleep_until_done = [&] {
    std::this_thread::sleep_until(
        start + std::chrono::duration_cast<clock::duration>(
                    std::chrono::duration<double>(backward_s * done / total)));
    compute_end = now_s();
  };
  for (auto it = layers.rbegin(); it != layers.rend(); ++it) {
    for (size_t t = it->second + 1; t-- > it->first;) {
      done += counts[t];
      if (!per_tensor) continue;
      sleep_until_done();
      if (reducer) tidal_grad_ready(reducer, t);
    }
    if (per_tensor) continue;
    sleep_until_done();
    if (!reducer) continue;
    for (size_t t = it->second + 1; t-- > it->first;) tidal_grad_ready(reducer, t);
  }
  return compute_end;
}

// The exposure of an ideal reducer with this plan: each bucket sent, in
// launch order, over one serial channel as soon as its last gradient is
// marked (its lowest tensor: marks count down), taking the measured
// one-bucket time scaled by its size, with no overhead at all. Seconds
// after backward's end; the bound the measured exposure is compared with.
double ideal_exposure(const std::vector<std::pair<size_t, size_t>>& layers,
                      const std::vector<size_t>& counts, size_t total, double backward_s,
                      bool per_tensor, const std::vector<tidal_bucket_info_t>& info,
                      size_t largest, double one_bucket_s) {
  std::vector<double> marked(counts.size());
  size_t done = 0;
  for (auto it = layers.rbegin(); it != layers.rend(); ++it) {
    for (size_t t = it->second + 1; t-- > it->first;) {
      done += counts[t];
      marked[t] = backward_s * done / total;
    }
    if (per_tensor) continue;
    for (size_t t = it->first; t <= it->second; ++t) marked[t] = backward_s * done / total;
  }
  double free_at = 0;
  for (const tidal_bucket_info_t& b : info) {
    free_at = std::max(free_at, marked[b.first_tensor]) +
              one_bucket_s * static_cast<double>(b.count) / static_cast<double>(largest);
  }
  return free_at - backward_s;
}

// One rank's gradients, their reverse-ordered list and the reducer.
struct Setup {
  std::vector<size_t> counts;
  size_t total = 0, buckets = 0, largest = 0, last = 0;  // elements
  std::vector<tidal_bucket_info_t> info;                 // per bucket, launch order
  std::vector<std::vector<float>> grads;
  tidal_tensor_list_t list = nullptr;
  tidal_grad_reducer_t reducer = nullptr;
  void* shard = nullptr;
  // A list that is one bucket of the plan's largest size: "one bucket".
  std::vector<float> one_data, one_shard;
  tidal_tensor_list_t one = nullptr;
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
  tidal_grad_reducer_options_t ro = TIDAL_GRAD_REDUCER_OPTIONS_INITIALIZER;
  ro.pack_on_progress_thread = o.pack == "progress";
  if (tidal_tensor_list_create(comm, descs.data(), descs.size(), &bo, &s->list) != TIDAL_SUCCESS ||
      tidal_grad_reducer_create(s->list, &ro, &s->reducer) != TIDAL_SUCCESS) {
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
    s->last = info.count;
    s->info.push_back(info);
  }
  s->one_data.assign(s->largest, 1.0f);
  s->one_shard.resize(s->largest);
  tidal_tensor_desc_t one = {s->one_data.data(), s->largest, TIDAL_F32};
  bo.bucket_bytes = bo.first_bucket_bytes = s->largest * sizeof(float);
  if (tidal_tensor_list_create(comm, &one, 1, &bo, &s->one) != TIDAL_SUCCESS) {
    std::fprintf(stderr, "%s\n", tidal_last_error());
    return false;
  }
  size_t n_one = 0;
  tidal_tensor_list_num_buckets(s->one, &n_one);
  if (n_one != 1) {
    std::fprintf(stderr, "the one-bucket list has %zu buckets\n", n_one);
    return false;
  }
  return true;
}

void report(const Setup& st, const Samples& s, const Options& o, const char* model,
            double t_comm, double backward_s, double ideal) {
  tidal_bucket_counters_t k;
  tidal_grad_reducer_get_counters(st.reducer, &k);
  const double share = t_comm * static_cast<double>(st.largest) / static_cast<double>(st.total);
  const double one = s.median_of("one bucket alone");
  const double ov = s.median_of("grad reducer (overlapped)");
  const double after = s.median_of("reduce after backward");
  // Direct buckets (local threads) are never packed: the reduce-scatter
  // reads the gradients in place.
  const std::string packing =
      k.direct_buckets == k.buckets_launched ? std::string("direct buckets, no packs")
      : k.direct_buckets ? std::string("some buckets direct, the rest packed on the ") + o.pack + " thread"
                         : std::string("packed on the ") + o.pack + " thread";
  std::printf("%s, %zu tensors, %.1f MB, %zu buckets of <= %zu MiB; backward pace %.1f ms "
              "(sleeping, marked per %s, %s); all buckets' RS alone %.1f ms\n",
              model, st.counts.size(), st.total * 4 / 1e6, st.buckets, o.bucket_mib,
              backward_s * 1e3, o.ready.c_str(), packing.c_str(), t_comm * 1e3);
  std::printf("  one (largest) bucket, %.2f MiB: measured %.2f ms (spread %.0f%%); its share "
              "of all buckets' time %.2f ms; the last-launched bucket is %.2f MiB\n",
              st.largest * 4 / 1048576.0, one * 1e3, 100 * s.spread_of("one bucket alone"), share * 1e3,
              st.last * 4 / 1048576.0);
  std::printf("  exposed: overlapped %.2f ms (spread %.0f%%), after backward %.2f ms -> %.1fx "
              "less; overlapped / one bucket = %.2f measured, %.2f share (goal <= 1.05)\n",
              ov * 1e3, 100 * s.spread_of("grad reducer (overlapped)"), after * 1e3, after / ov,
              ov / one, ov / share);
  const double ov_last = s.median_of("overlapped, from the last rank's end");
  const double after_last = s.median_of("after backward, from the last rank's end");
  std::printf("  from the last rank's end of backward (no rank skew): overlapped %.2f ms "
              "(spread %.0f%%), after backward %.2f ms; overlapped / one bucket = %.2f "
              "measured\n",
              ov_last * 1e3, 100 * s.spread_of("overlapped, from the last rank's end"),
              after_last * 1e3, ov_last / one);
  std::printf("  backward ran %.2f ms past its %.1f ms pace with the reducer (slowest rank; "
              "marking-thread packs and the marks themselves)\n",
              s.median_of("backward overrun, overlapped") * 1e3, backward_s * 1e3);
  const double past = s.median_of("step past pace, overlapped");
  std::printf("  whole step past the pace (overrun + exposed, slowest rank): overlapped %.2f ms "
              "(spread %.0f%%), after backward %.2f ms; overlapped / one bucket = %.2f\n",
              past * 1e3, 100 * s.spread_of("step past pace, overlapped"),
              s.median_of("step past pace, after backward") * 1e3, past / one);
  std::printf("  ideal reducer with this plan (serial channel at the measured one-bucket "
              "rate, zero overhead): %.2f ms exposed; measured / ideal = %.2f\n",
              ideal * 1e3, ov_last / ideal);
  std::printf("  reducer counters: %llu buckets (%llu direct), %llu collectives, %.1f ms "
              "packing, %.1f ms waiting over %llu steps\n",
              static_cast<unsigned long long>(k.buckets_launched),
              static_cast<unsigned long long>(k.direct_buckets),
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
  const bool per_tensor = o.ready == "tensor";
  Samples s;
  for (int r = 0; r < o.reps; ++r) {
    s.add("one bucket alone", tidal_bench::timed_max(comm, [&] {
      tidal_bucketed_reduce_scatter(st.one, st.one_shard.data(), TIDAL_SUM, nullptr, nullptr);
    }));
    tidal_bench::barrier(comm);
    const double start = now_s();
    double end = backward(layers, st.counts, st.total, backward_s, per_tensor, st.reducer);
    // Packing on the marking thread can push backward past its pace.
    s.add("backward overrun, overlapped", max_over_ranks(comm, end - start - backward_s));
    tidal_grad_reducer_wait(st.reducer);
    double done = now_s();
    s.add("grad reducer (overlapped)", max_over_ranks(comm, done - end));
    s.add("step past pace, overlapped", max_over_ranks(comm, done - start - backward_s));
    s.add("overlapped, from the last rank's end",
          max_over_ranks(comm, done) - max_over_ranks(comm, end));
    tidal_bench::barrier(comm);
    const double start_after = now_s();
    end = backward(layers, st.counts, st.total, backward_s, per_tensor, nullptr);
    tidal_bucketed_reduce_scatter(st.list, st.shard, TIDAL_SUM, nullptr, nullptr);
    done = now_s();
    s.add("step past pace, after backward", max_over_ranks(comm, done - start_after - backward_s));
    s.add("reduce after backward", max_over_ranks(comm, done - end));
    s.add("after backward, from the last rank's end",
          max_over_ranks(comm, done) - max_over_ranks(comm, end));
  }
  if (rank == 0) {
    const double ideal =
        ideal_exposure(layers, st.counts, st.total, backward_s, per_tensor, st.info, st.largest,
                       s.median_of("one bucket alone"));
    report(st, s, o, model.name, t_comm, backward_s, ideal);
  }
  tidal_grad_reducer_destroy(st.reducer);
  tidal_tensor_list_destroy(st.list);
  tidal_tensor_list_destroy(st.one);
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
  app.add_option("--ready", o.ready, "when gradients are marked: per tensor or per layer")
      ->check(CLI::IsMember({"tensor", "layer"}));
  app.add_option("--pack", o.pack, "where the reducer packs: on the marking thread or the "
                                   "communicator's progress thread")
      ->check(CLI::IsMember({"marking", "progress"}));
  app.add_option("--reps", o.reps, "interleaved rounds");
  CLI11_PARSE(app, argc, argv);
  return tidal_bench::run_on_ranks(o.backend, o.ranks, argc, argv,
                                   [&](tidal_comm_t comm, int rank, int) { run(comm, rank, o); });
}
