// tidal-bench-schedules — busbw of native, ring and torus2d (or any
// schedules) across sizes, interleaved in one run, with the ratios of the
// medians and rank 0's memcpy bandwidth of the same size as the bound.
//
//   tidal-bench-schedules --backend local --ranks 8 --topo 2x4
//   mpiexec -n 4 tidal-bench-schedules --backend mpi --topo 2x2
#include <cstdio>
#include <vector>

#include <CLI/CLI.hpp>

#include "bench/schedules/bench_ranks.h"
#include "bench/schedules/schedule_bench_runner.h"
#include "lib/core/config.h"


using tidal_bench::BenchOptions;
using tidal_bench::SizeResult;

namespace {

struct Cli {
  std::string backend = "local", topo = "2x4", coll = "all_reduce";
  std::string min_size = "1K", max_size = "256M", schedules = "native,ring,torus2d";
  int ranks = 8, factor = 4, max_reps = 20;
};

bool parse_options(const Cli& cli, BenchOptions* o) {
  if (cli.coll == "all_reduce") o->coll = tidal_bench::Coll::kAllReduce;
  else if (cli.coll == "all_gather") o->coll = tidal_bench::Coll::kAllGather;
  else if (cli.coll == "reduce_scatter") o->coll = tidal_bench::Coll::kReduceScatter;
  else return false;
  size_t lo = 0, hi = 0;
  if (!tidal::parse_bytes(cli.min_size, &lo).ok() || !tidal::parse_bytes(cli.max_size, &hi).ok() ||
      lo == 0 || cli.factor < 2) {
    return false;
  }
  for (size_t s = lo; s <= hi; s *= static_cast<size_t>(cli.factor)) o->sizes.push_back(s);
  std::string rest = cli.schedules;
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    tidal_schedule_t s;
    if (tidal_schedule_from_name(rest.substr(0, comma).c_str(), &s) != TIDAL_SUCCESS) return false;
    o->schedules.push_back(s);
    rest = comma == std::string::npos ? "" : rest.substr(comma + 1);
  }
  o->max_reps = cli.max_reps;
  return !o->schedules.empty();
}

void print_table(const Cli& cli, const BenchOptions& o, int n,
                 const std::vector<SizeResult>& results) {
  std::printf("# %s, %d ranks (%s backend), layout %s, f32 sum; busbw GB/s (median time us)\n",
              tidal_bench::coll_name(o.coll), n, cli.backend.c_str(), cli.topo.c_str());
  const size_t ns = o.schedules.size();
  std::printf("| bytes |");
  for (auto s : o.schedules) std::printf(" %s |", tidal_schedule_name(s));
  // Speedups (ratio of median times) of each schedule over the baseline,
  // and of the third over the second (torus2d over ring by default).
  for (size_t k = 1; k < ns; ++k) {
    std::printf(" %s vs %s |", tidal_schedule_name(o.schedules[k]),
                tidal_schedule_name(o.schedules[0]));
  }
  if (ns > 2) {
    std::printf(" %s vs %s |", tidal_schedule_name(o.schedules[2]),
                tidal_schedule_name(o.schedules[1]));
  }
  std::printf(" memcpy GB/s |\n|---:|");
  const size_t columns = ns + (ns - 1) + (ns > 2 ? 1 : 0) + 1;
  for (size_t k = 0; k < columns; ++k) std::printf("---:|");
  std::printf("\n");
  const double factor = tidal_bench::bus_factor(o.coll, n);
  for (const SizeResult& r : results) {
    std::printf("| %zu |", r.bytes);
    for (double t : r.median_s) std::printf(" %.2f (%.0f) |", factor * r.bytes / t / 1e9, t * 1e6);
    // Speedups: the baseline's median time over the schedule's.
    for (size_t k = 1; k < r.median_s.size(); ++k) std::printf(" %.2fx |", r.median_s[0] / r.median_s[k]);
    if (r.median_s.size() > 2) std::printf(" %.2fx |", r.median_s[1] / r.median_s[2]);
    std::printf(" %.1f |\n", r.memcpy_Bps / 1e9);
  }
}

}  // namespace

int main(int argc, char** argv) {
  Cli cli;
  CLI::App app{"ring vs torus2d vs native busbw, interleaved (docs/benchmarks/schedules.md)"};
  app.add_option("--backend", cli.backend, "local or mpi");
  app.add_option("--ranks", cli.ranks, "local ranks (threads)");
  app.add_option("--topo", cli.topo, "layout, innermost first (2x4: 2 per node x 4 nodes)");
  app.add_option("--coll", cli.coll, "all_reduce, all_gather or reduce_scatter");
  app.add_option("--min", cli.min_size, "smallest size (bytes of the full buffer)");
  app.add_option("--max", cli.max_size, "largest size");
  app.add_option("--factor", cli.factor, "size multiplier between steps");
  app.add_option("--schedules", cli.schedules, "comma list; the first is the baseline");
  app.add_option("--max-reps", cli.max_reps, "timed calls per schedule at small sizes");
  CLI11_PARSE(app, argc, argv);
  BenchOptions o;
  if (!parse_options(cli, &o)) {
    std::fprintf(stderr, "bad --coll, --min/--max/--factor or --schedules\n");
    return 2;
  }
  return tidal_bench::run_on_ranks(cli.backend, argc, argv, cli.ranks, cli.topo,
                                   [&](tidal_comm_t comm, int rank, int n) {
    std::vector<SizeResult> results;
    const tidal_status_t rc = tidal_bench::run_schedule_sweep(comm, o, &results);
    if (rc == TIDAL_SUCCESS && rank == 0) print_table(cli, o, n, results);
    return rc;
  });
}
