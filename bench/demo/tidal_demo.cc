// tidal-demo — the README's first command. Runs all-gather, reduce-scatter
// and all-reduce over 4 local (thread) ranks, 16 B to 64 MiB, and prints
// each as the nccl-tests table that all_gather_perf & co. print, with every
// element checked. Exit status 1 if any element was wrong.
//
//   tidal-demo            # the default sweep
//   tidal-demo -e 1M      # any perf-tool flag, applied to all three
#include <cstdio>
#include <string>
#include <vector>

#include "bench/perf/perf_collectives.h"
#include "bench/perf/perf_harness.h"
#include "bench/perf/perf_options.h"

namespace {

// Small enough for ~10 s on two busy cores, large enough to leave the
// latency regime: 12 sizes, 10 timed iterations each.
tidal_perf::PerfOptions demo_defaults() {
  tidal_perf::PerfOptions o;
  o.backend = "local";
  o.threads = 4;
  o.min_bytes = 16;
  o.max_bytes = 64u << 20;
  o.step_factor = 4;
  o.iters = 10;
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  tidal_perf::PerfOptions options = demo_defaults();
  const tidal_perf::CollectiveTraits traits{"tidal-demo", true, false};
  switch (tidal_perf::parse_options(argc, argv, traits, &options)) {
    case tidal_perf::ParseOutcome::kHelp: return tidal_perf::kExitOk;
    case tidal_perf::ParseOutcome::kError: return tidal_perf::kExitUsage;
    case tidal_perf::ParseOutcome::kRun: break;
  }
  const std::vector<std::string> args(argv, argv + argc);
  int status = tidal_perf::kExitOk;
  for (const tidal_perf::CollectiveTest* test :
       {&tidal_perf::all_gather_test(), &tidal_perf::reduce_scatter_test(),
        &tidal_perf::all_reduce_test()}) {
    const int result = tidal_perf::run_perf_with_options(options, *test, args);
    if (result != tidal_perf::kExitOk) status = result;
    std::printf("\n");
  }
  std::printf("tidal-demo: %s\n", status == tidal_perf::kExitOk
                                      ? "all results checked, 0 wrong elements"
                                      : "FAILED (see the tables and messages above)");
  return status;
}
