// rank_group.h — the ranks `tidal-sim --fit` measures on: threads of this
// process (local) or processes under mpiexec (mpi, ucx), with the barrier
// and the max-over-ranks its timing needs, and the communicators it times.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "lib/core/status.h"
#include "lib/transport/transport.h"
#include "tidal/tidal.h"

namespace tidal {
namespace sim {

class RankGroup {
 public:
  virtual ~RankGroup() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual void barrier() = 0;
  // Collective: the largest `value` over the ranks.
  virtual double max(double value) = 0;
};

// Shared state of N thread ranks. abandon() releases every waiter for
// good (a rank that failed must not leave the others blocked).
class ThreadGroup {
 public:
  explicit ThreadGroup(int n) : n_(n), values_(static_cast<size_t>(n)) {}
  int size() const { return n_; }
  void barrier();
  double max(int rank, double value);
  void abandon();

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int n_;
  int arrived_ = 0;
  long generation_ = 0;
  bool abandoned_ = false;
  std::vector<double> values_;
};

class ThreadRank final : public RankGroup {
 public:
  ThreadRank(ThreadGroup* group, int rank) : group_(group), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return group_->size(); }
  void barrier() override { group_->barrier(); }
  double max(double value) override { return group_->max(rank_, value); }

 private:
  ThreadGroup* group_;
  int rank_;
};

// The communicators a fit times: one running the ring schedule, one the
// backend's native collectives (nullptr where there are none: ucx).
struct FitComms {
  tidal_comm_t ring = nullptr;
  tidal_comm_t native = nullptr;
};

// n local ranks, twice.
Status create_local_comms(int n, std::vector<tidal_comm_t>* ring,
                          std::vector<tidal_comm_t>* native);

// This process's rank under mpiexec: MPI must be initialised (at
// MPI_THREAD_MULTIPLE). `backend` "mpi" or "ucx" (bootstrapped through
// MPI_Allgather). Also a raw transport of that backend for the probes.
Status create_process_rank(const std::string& backend, std::unique_ptr<RankGroup>* group,
                           std::unique_ptr<Transport>* transport, FitComms* comms);

void destroy_comms(const FitComms& comms);

// Config of a communicator that runs `schedule`.
tidal_config_t config_with_schedule(int schedule);

}  // namespace sim
}  // namespace tidal
