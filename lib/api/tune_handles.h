// tune_handles.h — the objects behind tidal/tune.h's handles (profiles and
// results over topology/tuning), the registry that catches a handle used
// after destroy, and the conversions from the C structs. Internal.
#pragma once

#include <string>
#include <vector>

#include "lib/core/status.h"
#include "tidal/tune.h"
#include "topology/tuning/bucket_tuner.h"

struct tidal_comm_profile {
  tidal::tuning::CommProfile impl;
};

// A point of the curve: the model's prediction, and the measurement when
// refinement timed this size.
struct TunePointState {
  tidal::tuning::StepPrediction predicted;
  double measured_s = -1;
};

struct tidal_tune_result {
  bool tuned = false;
  tidal::tuning::StepInputs inputs;
  tidal::tuning::CommProfile profile;
  tidal::tuning::TuneResult model;
  std::vector<TunePointState> points;  // by bucket size
  double model_pick = 0, recommended = 0;
  std::string reasoning;
};

namespace tidal {
namespace api {

// Bucket sizes are rounded to this many bytes.
constexpr double kTuneGranularity = 64.0 * 1024;

// Live profile and result handles: use after destroy is caught.
void track(const void* p);
bool untrack(const void* p);  // false: not live
Status check_live(const void* p, const char* what);

Status invalid(const std::string& message);  // TIDAL_ERR_INVALID_ARGUMENT
// A failed public call as a Status carrying the thread's last message.
Status from_c(tidal_status_t code, const char* what);
Status kind_from_c(tidal_tune_collective_t c, tuning::CommKind* kind);
Status inputs_from_c(const tidal_tune_inputs_t* c, tuning::StepInputs* in,
                     tuning::TuneOptions* options);

}  // namespace api
}  // namespace tidal
