// schedule_bench_runner.h — one rank's part of the schedule benchmark:
// for each size, every schedule in turn (A B C A B C ...), each call
// timed between barriers; the slowest rank's time counts.
#pragma once

#include <string>
#include <vector>

#include "tidal/schedule.h"
#include "tidal/tidal.h"

namespace tidal_bench {

enum class Coll { kAllReduce, kAllGather, kReduceScatter };

struct BenchOptions {
  Coll coll = Coll::kAllReduce;
  std::vector<size_t> sizes;  // bytes of the full buffer (nccl-tests' size)
  std::vector<tidal_schedule_t> schedules;
  int max_reps = 20;
};

struct SizeResult {
  size_t bytes = 0;
  std::vector<double> median_s;  // per schedule
  double memcpy_Bps = 0;         // rank 0's best memcpy of `bytes`, same run
};

// Runs the sweep on `comm`; every rank calls it. Results are filled on
// rank 0 only. Returns the first failing status.
tidal_status_t run_schedule_sweep(tidal_comm_t comm, const BenchOptions& options,
                                  std::vector<SizeResult>* results);

// nccl-tests' bus bandwidth factor for `coll` on n ranks.
double bus_factor(Coll coll, int n);
const char* coll_name(Coll coll);

}  // namespace tidal_bench
