// fit_mode.h — `tidal-sim --fit`: measures alpha and beta of the link tier
// the ranks of this machine share (one tier here: every rank is on one
// node), on a real transport, then checks the cost model's prediction of
// the ring schedule against the measured ring schedule.
//
//   local: N thread ranks in this process (--ranks N)
//   mpi:   one rank per process, run under mpiexec
//   ucx:   one rank per process under mpiexec, MPI only bootstraps UCX
#pragma once

#include <string>
#include <vector>

#include "lib/core/status.h"

namespace tidal {
namespace sim {

struct FitOptions {
  std::string backend = "local";
  int ranks = 4;                  // local only; mpi/ucx take mpiexec's count
  std::vector<size_t> fit_sizes;  // bytes per message of the ring-shift probe
  std::vector<size_t> check_sizes;  // full buffer sizes compared with the model
  std::string csv;                // optional: one row per checked size
};

// Runs the fit and prints (on rank 0) the fitted tier and the comparison
// table. Returns the first error any rank met.
Status run_fit(const FitOptions& options);

}  // namespace sim
}  // namespace tidal
