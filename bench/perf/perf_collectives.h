// perf_collectives.h — the collectives the perf tools measure, one file
// each (nccl-tests' all_gather.cu, ...): counts, bandwidth, post, data.
#pragma once

#include "bench/perf/perf_collective.h"

namespace tidal_perf {

const CollectiveTest& all_gather_test();      // all_gather.cc
const CollectiveTest& reduce_scatter_test();  // reduce_scatter.cc
const CollectiveTest& all_reduce_test();      // all_reduce.cc
const CollectiveTest& alltoall_test();        // alltoall.cc
const CollectiveTest& sendrecv_test();        // sendrecv.cc
const CollectiveTest& broadcast_test();       // broadcast.cc

}  // namespace tidal_perf
