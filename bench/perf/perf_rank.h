// perf_rank.h — what one rank thread does: the sweep over sizes (and data
// types and ops), timing each size out of place and in place, checking the
// data, and (on rank 0) handing the rows to the reporter. This is
// nccl-tests' TimeTest/BenchTime over tidal's C API.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "bench/perf/perf_collective.h"
#include "bench/perf/perf_options.h"
#include "bench/perf/perf_report.h"
#include "bench/perf/perf_team.h"
#include "tidal/tidal.h"

namespace tidal_perf {

struct RankSetup {
  int rank = 0;
  int nranks = 1;
  int slot = 0;               // thread index within the process
  int local_ranks = 1;        // rank threads in this process
  bool device_memory = false;
  tidal_comm_t comm = nullptr;
  Reporter* reporter = nullptr;  // set on global rank 0 only
};

// Totals every rank agrees on at the end.
struct RankTotals {
  int64_t wrong_halves = 0;  // (rank, half) pairs with wrong data, all ranks
};

class RankRunner {
 public:
  RankRunner(const PerfOptions& options, const CollectiveTest& test, Team& team, RankSetup setup);
  ~RankRunner();

  // Bytes of each of a rank's send and receive buffers for the sweep (a
  // third, the expected result, is allocated when checking).
  static size_t buffer_bytes(const PerfOptions& options, const CollectiveTest& test, int nranks);

  // Runs every (dtype, op) sweep. False when this rank or another failed
  // (the message is in the team).
  bool run(RankTotals* totals);

 private:
  bool allocate(std::string* error);
  bool preflight();
  bool sweep(tidal_dtype_t dtype, tidal_op_t op);
  bool warm_up(tidal_dtype_t dtype, tidal_op_t op);
  bool measure(tidal_dtype_t dtype, tidal_op_t op, bool in_place, HalfResult* half);
  bool time_iterations(const CollCall& call, double* seconds);
  bool check_once(CollCall call, bool in_place, int64_t* wrong);
  bool post_and_wait(const CollCall& call);
  CollCall make_call(tidal_dtype_t dtype, tidal_op_t op, bool in_place) const;
  bool stage_input(const DataPlan& plan, bool in_place);
  bool fetch_result(void* host, const void* result, size_t bytes);
  bool fail(const std::string& what, tidal_status_t status);
  void report_progress(size_t done_rows, size_t bytes);
  bool measure_memcpy_bound();

  const PerfOptions& options_;
  const CollectiveTest& test_;
  Team& team_;
  const RankSetup setup_;
  // Current row.
  CollCounts counts_;
  size_t element_size_ = 1;
  uint64_t bench_count_ = 0;
  int64_t wrong_halves_ = 0;
  // Buffers: send/recv in the backend's memory; host staging for checks.
  size_t buffer_bytes_ = 0;
  void* send_ = nullptr;
  void* recv_ = nullptr;
  std::vector<unsigned char> host_input_;
  std::vector<unsigned char> host_result_;
  std::vector<unsigned char> expected_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace tidal_perf
