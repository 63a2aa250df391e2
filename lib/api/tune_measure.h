// tune_measure.h — the tuner's measurements, which drive a communicator
// through the public API like any user: the per-size profile sweep, the
// refinement with the real grad reducer and a synthetic backward, and
// TIDAL_BUCKET_BYTES=auto. Internal; the C shims are in api_tune.cc.
#pragma once

#include <cstddef>

#include "lib/api/tune_handles.h"

namespace tidal {
namespace api {

// Times one bucket's collective for each of sizes[0..n) (max over ranks).
Status measure_profile(tidal_comm_t comm, tidal_tune_collective_t collective,
                       tidal_schedule_t schedule, const size_t* sizes, size_t n,
                       const tidal_measure_options_t* options, double* seconds_out);

// Measures synthetic steps around the model's pick and records them in r.
Status refine(tidal_comm_t comm, const tidal_tune_refine_options_t* options,
              tidal_tune_result* r);

// The bucket size TIDAL_BUCKET_BYTES=auto uses for `model_bytes`.
Status auto_bucket_bytes(tidal_comm_t comm, size_t model_bytes, double bwd_s, size_t* out);

}  // namespace api
}  // namespace tidal
