// perf_team.h — synchronisation between the ranks the harness runs: the
// rank threads of this process, and (under mpiexec) the other processes.
// A barrier and a scalar all-reduce like nccl-tests' Barrier/Allreduce:
// threads meet in the process, and the last to arrive extends the
// operation to the other processes over MPI. The harness uses it only for
// its own bookkeeping (timing, error counts), never for the measured data.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>

namespace tidal_perf {

enum class TeamReduce { kSum, kMin, kMax, kRank0 };

// Reduces one double across processes (all processes call it, one thread
// each, in the same order). Null when the run is a single process.
using CrossProcessReduce = std::function<void(double* value, TeamReduce how)>;

class Team {
 public:
  Team(int local_ranks, CrossProcessReduce cross_process);

  // Every rank waits for all ranks. False when the team has failed (then
  // it returns at once, so no rank waits for a rank that gave up).
  bool barrier() { double unused = 0; return all_reduce(&unused, TeamReduce::kSum); }

  // *value becomes the reduction over all ranks (kRank0: global rank 0's
  // value; local slot 0 holds it in process 0). False when failed.
  bool all_reduce(double* value, TeamReduce how, int local_slot = -1);

  // Marks the team failed with `message` (the first message wins),
  // releases every waiter and runs the abort hook (which aborts the
  // communicators, so no rank stays blocked in a collective). `agreed`:
  // every rank of every process saw the failure (a reduced error flag), so
  // the processes can end cleanly.
  void fail(const std::string& message, bool agreed = false);
  bool failed();
  bool failure_agreed();
  std::string first_error();
  void set_abort_hook(std::function<void()> hook);

 private:
  const int local_ranks_;
  CrossProcessReduce cross_process_;
  std::mutex mutex_;
  std::condition_variable cv_;
  int arrived_ = 0;
  unsigned long generation_ = 0;
  double accumulator_ = 0;
  double result_ = 0;
  bool failed_ = false;
  bool agreed_ = true;
  std::function<void()> abort_hook_;
  std::string error_;
};

}  // namespace tidal_perf
