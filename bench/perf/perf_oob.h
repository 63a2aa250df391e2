// perf_oob.h — the out-of-band all-gather (tidal/oob.h) that lets every
// rank thread of every process be its own rank of one UCX communicator:
// the threads of a process meet, the last to arrive exchanges the
// process's block with the other processes over MPI (MPI_Allgather), and
// every thread copies the gathered bytes out. Global rank order is process
// major, thread minor, the harness's numbering. This is what makes
// `mpiexec -n P tool -t T --backend ucx` run P*T ranks.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <vector>

#include "bench/perf/perf_mpi.h"

namespace tidal_perf {

class ThreadProcessAllGather {
 public:
  ThreadProcessAllGather(int slots, MpiSession& mpi) : slots_(slots), mpi_(mpi) {}

  // Collective over all slots of all processes, in the same order
  // everywhere: recv (nranks * bytes) receives every rank's send. Returns
  // 0 on success, non-zero on failure (the tidal_oob_allgather_fn rule).
  int gather(int slot, const void* send, void* recv, size_t bytes);

 private:
  const int slots_;
  MpiSession& mpi_;
  std::mutex mutex_;
  std::condition_variable cv_;
  int arrived_ = 0;
  unsigned long generation_ = 0;
  bool failed_ = false;
  std::vector<unsigned char> local_;   // this process's slots, slot order
  std::vector<unsigned char> global_;  // every rank, rank order
};

}  // namespace tidal_perf
