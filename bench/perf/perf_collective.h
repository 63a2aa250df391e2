// perf_collective.h — what a driver tells the harness about its collective
// (nccl-tests' testColl): how a byte size maps to counts, how bandwidth is
// counted, how to post the operation, and what every rank holds before and
// after it. Each *_perf.cc fills one CollectiveTest and calls run_perf().
#pragma once

#include <cstddef>
#include <vector>

#include "bench/perf/perf_values.h"
#include "tidal/tidal.h"

namespace tidal_perf {

// Element counts for one row, from `count` = size / element size.
struct CollCounts {
  size_t send_count = 0;           // elements in each rank's sendbuf
  size_t recv_count = 0;           // elements in each rank's recvbuf
  size_t param_count = 0;          // the count passed to tidal
  size_t send_inplace_offset = 0;  // in place: send = recvbuf + rank * this
  size_t recv_inplace_offset = 0;  // in place: recv = recvbuf + rank * this
};

// One posted operation's arguments.
struct CollCall {
  const void* send;
  void* recv;
  size_t count;  // param_count
  tidal_dtype_t dtype;
  tidal_op_t op;
  int root;
  int rank;
  int nranks;
  tidal_comm_t comm;
  bool device_memory;  // NCCL: sends wait for their receives
};

// What one rank holds: its input (send_count elements) and the expected
// result (recv_count elements).
struct RankData {
  const DataPlan& plan;
  int rank;
  int root;
  const CollCounts& counts;
};

struct CollectiveTest {
  const char* program;   // "all_gather_perf": the binary and the footer name
  bool reduces;          // prints the op in `redop`, else "none"
  bool uses_root;        // prints -r in `root`, else -1
  bool in_place;         // tidal supports the in-place form
  bool in_place_on_host_only;  // ... but not in device memory
  int min_ranks;         // fewer ranks is a usage error
  CollCounts (*counts)(size_t count, int nranks);
  // algbw from seconds per operation; busbw = algbw * bus_factor.
  double (*alg_bytes)(size_t param_count, size_t element_size, int nranks);
  double (*bus_factor)(int nranks);
  // Posts the operation; every request it creates is appended.
  tidal_status_t (*post)(const CollCall& call, std::vector<tidal_request_t>* requests);
  void (*fill_input)(const RankData& data, void* send);
  void (*fill_expected)(const RankData& data, void* expected);
  // Which bucketed collective --bucketed times (0: none, 1: reduce-scatter,
  // 2: all-gather; see perf_bucketed.h).
  int bucketed_kind = 0;
};

}  // namespace tidal_perf
