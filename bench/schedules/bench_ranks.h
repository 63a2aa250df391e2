// bench_ranks.h — runs one benchmark body on every rank, for the schedule
// benches: `--backend local` makes `ranks` thread ranks in this process,
// `--backend mpi` (built with MPI, run under mpiexec) one rank per process.
// The body is `tidal_status_t body(tidal_comm_t comm, int rank, int n)`;
// rank 0 prints its report at the end of its body (every rank's last call
// is collective, so all are done measuring by then). The first failing
// rank's error is printed; returns the process exit status (0, 1, or 2 for
// an unknown or unavailable backend).
#pragma once

#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "tidal/local.h"
#include "tidal/tidal.h"
#ifdef TIDAL_BENCH_WITH_MPI
#include <mpi.h>

#include "tidal/mpi.h"
#endif

namespace tidal_bench {

template <typename Body>
int run_on_ranks(const std::string& backend, int argc, char** argv, int ranks,
                 const std::string& topology, Body body) {
  tidal_config_t config = TIDAL_CONFIG_INITIALIZER;
  config.topology = topology.c_str();
  if (backend == "local") {
    std::vector<tidal_comm_t> comms(static_cast<size_t>(ranks));
    if (tidal_comm_create_local(ranks, &config, comms.data()) != TIDAL_SUCCESS) {
      std::fprintf(stderr, "%s\n", tidal_last_error());
      return 1;
    }
    std::vector<std::string> errors(comms.size());
    std::vector<std::thread> threads;
    for (size_t r = 0; r < comms.size(); ++r) {
      threads.emplace_back([&, r] {
        if (body(comms[r], static_cast<int>(r), ranks) != TIDAL_SUCCESS) {
          errors[r] = tidal_last_error();  // thread-local: read it on this thread
        }
      });
    }
    for (auto& t : threads) t.join();
    for (auto c : comms) tidal_comm_destroy(c);
    for (size_t r = 0; r < errors.size(); ++r) {
      if (!errors[r].empty()) {
        std::fprintf(stderr, "rank %zu: %s\n", r, errors[r].c_str());
        return 1;
      }
    }
    return 0;
  }
#ifdef TIDAL_BENCH_WITH_MPI
  if (backend == "mpi") {
    int provided = 0, rank = 0, n = 0;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &n);
    tidal_comm_t comm = nullptr;
    int status = 1;
    if (tidal_comm_create_mpi(MPI_COMM_WORLD, &config, &comm) == TIDAL_SUCCESS) {
      if (body(comm, rank, n) == TIDAL_SUCCESS) {
        status = 0;
      } else {
        std::fprintf(stderr, "rank %d: %s\n", rank, tidal_last_error());
      }
      tidal_comm_destroy(comm);
    } else {
      std::fprintf(stderr, "%s\n", tidal_last_error());
    }
    MPI_Finalize();
    return status;
  }
#endif
  (void)argc;
  (void)argv;
  std::fprintf(stderr, "unknown or unavailable --backend %s\n", backend.c_str());
  return 2;
}

}  // namespace tidal_bench
