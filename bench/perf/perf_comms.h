// perf_comms.h — which backend a run uses, how its ranks are laid out over
// processes and threads, and how each rank's tidal communicator is made.
//
// Rank numbering follows nccl-tests: rank = (proc * threads + thread) *
// gpus + gpu. The harness drives every rank from its own thread (so -g G
// GPUs per thread become G rank threads; NCCL needs no group calls then).
#pragma once

#include <memory>
#include <string>

#include "bench/perf/perf_mpi.h"
#include "bench/perf/perf_options.h"
#include "tidal/tidal.h"

namespace tidal_perf {

struct Layout {
  std::string backend;       // "local", "mpi", "ucx", "nccl"
  int nprocs = 1;
  int proc = 0;
  int local_proc = 0;        // among the processes of this node
  int slots = 1;             // rank threads in this process: threads * gpus
  int nranks = 1;            // nprocs * slots
  bool device_memory = false;
  int rank_of(int slot) const { return proc * slots + slot; }
};

// The backend when --backend is not given: nccl in a CUDA build with a GPU;
// else, when mpiexec started more than one process, mpi (ucx with -t > 1,
// so every thread is a rank); else local.
std::string default_backend(int threads);

// Checks the backend against the build and the launch; fills *layout.
bool plan_layout(const PerfOptions& options, const MpiSession& mpi, Layout* layout,
                 std::string* error);

class CommFactory {
 public:
  virtual ~CommFactory() = default;
  // Called in slot's own thread; every slot of every process calls it.
  virtual bool create(int slot, tidal_comm_t* comm, std::string* error) = 0;
  // Called in slot's thread after its communicator is destroyed.
  virtual void release(int /*slot*/) {}
  virtual int device(int /*slot*/) const { return -1; }
  // "device -1 [host] ..." tail of a "Using devices" line.
  virtual std::string describe(int slot) const = 0;
};

// Everything that must happen once per process before the rank threads
// start (local communicators, the NCCL unique id). Null with *error when
// the backend cannot run here.
std::unique_ptr<CommFactory> make_comm_factory(const Layout& layout, const tidal_config_t& config,
                                               MpiSession& mpi, std::string* error);

}  // namespace tidal_perf
