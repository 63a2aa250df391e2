// tune_session.h — how tidal-tune gets its profile and measurements: from a
// profile file, an alpha-beta fit, or live on local thread ranks or MPI
// processes (every rank measures, rank 0 reports).
#pragma once

#include <string>
#include <vector>

#include "lib/core/status.h"
#include "tidal/tune.h"

namespace tidal {
namespace tune {

struct SessionOptions {
  std::string backend = "local";  // local | mpi
  int ranks = 4;                  // local thread ranks
  int schedule = TIDAL_SCHEDULE_NATIVE;
  tidal_tune_collective_t grad_collective = TIDAL_TUNE_REDUCE_SCATTER;
  bool gather = false;            // ZeRO-3: also measure all-gather
  std::vector<size_t> profile_sizes;
  int repetitions = 5;
  bool refine = true;
  std::vector<size_t> refine_sizes;  // empty: around the pick
  int refine_steps = 3;
  bool progress = true;           // progress line on stderr (rank 0)
  // Where the profile comes from on each rank: measured live, or this file
  // / alpha-beta fit (then the backend only runs the refinement).
  bool measure_profile = true;
  std::string profile_path;
  double alpha_s = -1, beta_Bps = -1;
};

// The profile a run without measurement uses: the file, else the fit.
Status load_given_profile(const SessionOptions& options, tidal_comm_profile_t profile);

// One collective's measured curves: per size, a bucket queued behind
// others, a bucket alone and the marking thread's pack per bucket
// (tidal_comm_profile_add / _add_alone / _add_pack).
struct MeasuredCurve {
  std::vector<double> seconds, alone, pack;
  bool empty() const { return seconds.empty(); }
};

// Reads "collective,bytes,seconds[,alone_seconds[,pack_seconds]]" lines
// (collective: reduce_scatter, all_gather, all_reduce; '#' comments) into
// `profile`: the queued curve, the alone curve where a 4th field is given,
// the pack curve where a 5th is given and > 0.
Status load_profile(const std::string& path, tidal_comm_profile_t profile);
// Appends a measured curve in that format.
Status save_profile(const std::string& path, tidal_tune_collective_t collective,
                    const std::vector<size_t>& sizes, const MeasuredCurve& curve);

struct LiveMeasurement {
  std::vector<size_t> sizes;
  MeasuredCurve grad;    // the gradient collective's profile
  MeasuredCurve gather;  // all-gather (ZeRO-3), else empty
  int world = 0;
};

// Measures the profile on the live backend, tunes `inputs` with it into
// `result` (rank 0's), and refines when asked. `profile` receives the
// measured curves. Local: spawns the thread ranks; MPI: this process is
// one rank (MPI initialised by the caller), *is_root says whether it
// reports.
Status run_live(const SessionOptions& options, const tidal_tune_inputs_t& inputs,
                tidal_comm_profile_t profile, tidal_tune_result_t result,
                LiveMeasurement* measured, bool* is_root);

const char* collective_name(tidal_tune_collective_t collective);

}  // namespace tune
}  // namespace tidal
