// perf_harness.h — the entry point of every perf tool (nccl-tests'
// common.cu): parse the flags, start the ranks on the chosen backend, run
// the sweep, print the nccl-tests table, exit non-zero on wrong data.
//
// Exit status: 0 when every checked element was right, 1 on wrong data or
// a runtime error (message on stderr), 2 on a usage error.
#pragma once

#include <string>
#include <vector>

#include "bench/perf/perf_collective.h"
#include "bench/perf/perf_options.h"

namespace tidal_perf {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

// A driver's whole main().
int run_perf(int argc, char** argv, const CollectiveTest& test);

// Runs `test` with parsed options (the demo runs several tests this way).
// `args` is the command line recorded in the -J file. Single-process only
// unless the caller started MPI through run_perf.
int run_perf_with_options(const PerfOptions& options, const CollectiveTest& test,
                          const std::vector<std::string>& args);

}  // namespace tidal_perf
