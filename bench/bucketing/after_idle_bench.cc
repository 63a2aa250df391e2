// tidal-bench-after-idle — is a bucket that starts after its ranks sat idle
// slower because of tidal or because of the machine? Every rank sleeps
// --idle-ms, then at once runs either a reduce-scatter of --mib (the
// collective a grad reducer launches for one bucket) or a plain memcpy of
// the same bytes (no tidal at all); each is timed on every rank from its
// own wake-up, the slowest rank counts. Idle times and the two operations
// interleave round by round; medians over --reps rounds. If the memcpy
// slows down after idling as the collective does, the cause is the
// machine (caches refilled by other tenants while this one slept), not
// the library. Ratios are to the first idle time: 0.5 ms by default, not 0
// (with no idle at all every rank starts the moment the barrier releases
// them all, four ranks' work lands on two cores at once here, and both
// operations ran 1.6-2x their time after 0.5 ms). docs/benchmarks/tuner.md.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "bench/bucketing/bench_stats.h"
#include "bench/bucketing/rank_harness.h"

namespace {

struct Options {
  std::string backend = "local";
  int ranks = 4;
  double mib = 4;
  std::vector<double> idle_ms = {0.5, 2, 5, 20, 50};
  int reps = 15;
};

// Every rank idles `idle_s`, then runs `op`; the slowest rank's time from
// its own wake-up.
template <typename Op>
double after_idle(tidal_comm_t comm, double idle_s, Op op) {
  tidal_bench::barrier(comm);
  if (idle_s > 0) std::this_thread::sleep_for(std::chrono::duration<double>(idle_s));
  const double start = tidal_bench::now_s();
  op();
  return tidal_bench::max_over_ranks(comm, tidal_bench::now_s() - start);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tidal-bench-after-idle: a reduce-scatter and a memcpy after the ranks idle"};
  Options o;
  app.add_option("--backend", o.backend, "local or mpi");
  app.add_option("--ranks", o.ranks, "local ranks (threads)");
  app.add_option("--mib", o.mib, "bytes per operation (MiB): the reduce-scatter's input");
  app.add_option("--idle-ms", o.idle_ms, "idle times before the operation (ms)")->delimiter(',');
  app.add_option("--reps", o.reps, "interleaved rounds");
  CLI11_PARSE(app, argc, argv);
  if (o.mib <= 0 || o.reps < 1 || o.idle_ms.empty() ||
      std::any_of(o.idle_ms.begin(), o.idle_ms.end(), [](double g) { return g < 0; })) {
    std::fprintf(stderr, "tidal-bench-after-idle: --mib > 0, --reps >= 1, --idle-ms >= 0\n");
    return 2;
  }
  return tidal_bench::run_on_ranks(o.backend, o.ranks, argc, argv, [&](tidal_comm_t comm,
                                                                       int rank, int size) {
    const size_t count = static_cast<size_t>(o.mib * (1 << 20)) / sizeof(float) / size * size;
    std::vector<float> input(count, 1.0f), shard(count / size), copy(count);
    tidal_bench::Samples s;
    bool ok = true;
    for (int r = 0; r <= o.reps && ok; ++r) {  // round 0 warms up
      for (double g : o.idle_ms) {
        const std::string idle = fmt::format("{}", g);
        const double rs = after_idle(comm, g * 1e-3, [&] {
          ok = ok && tidal_reduce_scatter(input.data(), shard.data(), count / size, TIDAL_F32,
                                          TIDAL_SUM, comm, nullptr) == TIDAL_SUCCESS;
        });
        const double mc = after_idle(comm, g * 1e-3, [&] {
          std::memcpy(copy.data(), input.data(), count * sizeof(float));
        });
        if (r == 0) continue;
        s.add("rs " + idle, rs);
        s.add("memcpy " + idle, mc);
      }
    }
    if (!ok) {
      std::fprintf(stderr, "rank %d: reduce_scatter failed: %s\n", rank, tidal_last_error());
      return;
    }
    if (rank != 0) return;
    std::printf("%s, %d ranks, %.2f MiB per operation, %d rounds; slowest rank, from its "
                "wake-up; medians\n", o.backend.c_str(), size, o.mib, o.reps);
    std::printf("%9s %16s %10s %16s %10s\n", "idle(ms)", "reduce_scatter", "vs first",
                "memcpy", "vs first");
    const std::string first = fmt::format("{}", o.idle_ms.front());
    const double rs0 = s.median_of("rs " + first), mc0 = s.median_of("memcpy " + first);
    for (double g : o.idle_ms) {
      const std::string idle = fmt::format("{}", g);
      const double rs = s.median_of("rs " + idle), mc = s.median_of("memcpy " + idle);
      std::printf("%9.2f %13.3f ms %9.2fx %13.3f ms %9.2fx\n", g, rs * 1e3, rs / rs0, mc * 1e3,
                  mc / mc0);
    }
  });
}
