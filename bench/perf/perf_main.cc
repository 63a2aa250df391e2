// perf_main.cc — the main() of every perf tool. CMake compiles it once per
// tool with TIDAL_PERF_TEST naming that tool's collective (for example
// all_gather_test, defined in all_gather.cc).
#include "bench/perf/perf_collectives.h"
#include "bench/perf/perf_harness.h"

#ifndef TIDAL_PERF_TEST
#error "compile with -DTIDAL_PERF_TEST=<collective>_test"
#endif

int main(int argc, char** argv) {
  return tidal_perf::run_perf(argc, argv, tidal_perf::TIDAL_PERF_TEST());
}
