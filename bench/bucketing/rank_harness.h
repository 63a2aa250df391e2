// rank_harness.h — runs a benchmark body on every rank of a communicator:
// local thread ranks in this process, or this process's rank under
// mpiexec (--backend mpi). Timing helpers make every rank start together
// and report the slowest rank's time, as nccl-tests does.
#pragma once

#include <functional>
#include <string>

#include "tidal/tidal.h"

namespace tidal_bench {

using RankBody = std::function<void(tidal_comm_t comm, int rank, int size)>;

// backend "local": `ranks` threads; "mpi": MPI_COMM_WORLD (initialised and
// finalised here). Returns a process exit code.
int run_on_ranks(const std::string& backend, int ranks, int argc, char** argv,
                 const RankBody& body);

// The same ranks again with direct buckets off (config.direct_buckets = 0),
// so a benchmark can time the copying path beside the default; nullptr
// (with a message) if the split fails. Destroy it with tidal_comm_destroy.
tidal_comm_t split_without_direct_buckets(tidal_comm_t comm, int rank);

// All ranks arrive before any returns (a one-element all-reduce).
void barrier(tidal_comm_t comm);

// The largest of every rank's `mine` (identical on every rank).
double max_over_ranks(tidal_comm_t comm, double mine);

// Runs `op` on every rank after a barrier; returns the slowest rank's
// seconds (identical on every rank).
double timed_max(tidal_comm_t comm, const std::function<void()>& op);

}  // namespace tidal_bench
