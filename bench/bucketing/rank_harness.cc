#include "bench/bucketing/rank_harness.h"

#include <cstdio>
#include <thread>
#include <vector>

#include "bench/bucketing/bench_stats.h"
#include "tidal/local.h"
#include "tidal/version.h"

#if TIDAL_HAVE_MPI
#include <mpi.h>

#include "tidal/mpi.h"
#endif

namespace tidal_bench {

void barrier(tidal_comm_t comm) {
  int32_t one = 1, sum = 0;
  tidal_all_reduce(&one, &sum, 1, TIDAL_I32, TIDAL_SUM, comm, nullptr);
}

double max_over_ranks(tidal_comm_t comm, double mine) {
  double slowest = 0;
  tidal_all_reduce(&mine, &slowest, 1, TIDAL_F64, TIDAL_MAX, comm, nullptr);
  return slowest;
}

double timed_max(tidal_comm_t comm, const std::function<void()>& op) {
  barrier(comm);
  double t0 = now_s();
  op();
  return max_over_ranks(comm, now_s() - t0);
}

int run_on_ranks(const std::string& backend, int ranks, int argc, char** argv,
                 const RankBody& body) {
  if (backend == "local") {
    std::vector<tidal_comm_t> comms(static_cast<size_t>(ranks));
    if (tidal_comm_create_local(ranks, nullptr, comms.data()) != TIDAL_SUCCESS) {
      std::fprintf(stderr, "local communicator: %s\n", tidal_last_error());
      return 1;
    }
    std::vector<std::thread> threads;
    for (int r = 0; r < ranks; ++r) threads.emplace_back([&, r] { body(comms[r], r, ranks); });
    for (auto& t : threads) t.join();
    for (auto c : comms) tidal_comm_destroy(c);
    return 0;
  }
#if TIDAL_HAVE_MPI
  if (backend == "mpi") {
    int provided = 0;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
    tidal_comm_t comm = nullptr;
    if (tidal_comm_create_mpi(MPI_COMM_WORLD, nullptr, &comm) != TIDAL_SUCCESS) {
      std::fprintf(stderr, "mpi communicator: %s\n", tidal_last_error());
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
    int rank = 0, size = 0;
    tidal_comm_rank(comm, &rank);
    tidal_comm_size(comm, &size);
    body(comm, rank, size);
    tidal_comm_destroy(comm);
    MPI_Finalize();
    return 0;
  }
#endif
  (void)argc, (void)argv;
  std::fprintf(stderr, "backend %s is not available (local%s)\n", backend.c_str(),
               TIDAL_HAVE_MPI ? ", mpi" : "");
  return 2;
}

tidal_comm_t split_without_direct_buckets(tidal_comm_t comm, int rank) {
  tidal_config_t config = TIDAL_CONFIG_INITIALIZER;
  config.direct_buckets = 0;
  tidal_comm_t out = nullptr;
  if (tidal_comm_split(comm, 0, rank, &config, &out) != TIDAL_SUCCESS) {
    std::fprintf(stderr, "%s\n", tidal_last_error());
    return nullptr;
  }
  return out;
}

}  // namespace tidal_bench
