// perf_mpi.h — the harness's use of MPI as a launcher: how many processes
// mpiexec started, MPI set-up at MPI_THREAD_MULTIPLE (tidal's progress
// threads call MPI), cross-process reductions for timing and error counts,
// and the byte exchanges the backends need to bootstrap. Without MPI in
// the build every function says so instead.
#pragma once

#include <string>
#include <vector>

#include "bench/perf/perf_team.h"

namespace tidal_perf {

// Processes in this job according to the launcher's environment
// (PMI_SIZE, OMPI_COMM_WORLD_SIZE, MPI_LOCALNRANKS), 1 when not launched.
int launcher_process_count();

class MpiSession {
 public:
  MpiSession() = default;
  ~MpiSession();  // finalizes when init() succeeded
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;

  // MPI_Init_thread(MPI_THREAD_MULTIPLE). False with *error when MPI is not
  // built in or the library cannot give that thread level.
  bool init(std::string* error);
  bool active() const { return active_; }
  int size() const { return size_; }
  int rank() const { return rank_; }
  int local_rank() const { return local_rank_; }  // among processes of this node

  // One thread per process, all processes, same order.
  CrossProcessReduce reducer();
  // Rank 0 receives every process's text, in rank order.
  std::vector<std::string> gather_text(const std::string& mine);
  void broadcast_bytes(void* data, size_t bytes);
  // MPI_Allgather of `bytes` from every process into recv (size * bytes),
  // in rank order; a copy when inactive.
  bool allgather_bytes(const void* send, void* recv, size_t bytes);
  // The MPI_Comm of the job (MPI_COMM_WORLD), as the handle's address, for
  // the mpi backend; null when inactive.
  const void* world_handle() const;
  // Ends every process of the job (after a failure that peers may be
  // blocked on). Never returns.
  [[noreturn]] void abort_job(int code);

 private:
  bool active_ = false;
  int size_ = 1;
  int rank_ = 0;
  int local_rank_ = 0;
};

}  // namespace tidal_perf
