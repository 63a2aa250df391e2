#include "lib/api/tune_handles.h"

#include <mutex>
#include <unordered_set>

#include <fmt/format.h>

#include "lib/core/options_struct.h"

namespace tidal {
namespace api {

namespace {

std::mutex& registry_mutex() {
  static auto* mu = new std::mutex;
  return *mu;
}
std::unordered_set<const void*>& registry() {
  static auto* live = new std::unordered_set<const void*>;
  return *live;
}
}  // namespace

void track(const void* p) {
  std::lock_guard<std::mutex> lock(registry_mutex());
  registry().insert(p);
}
bool untrack(const void* p) {
  std::lock_guard<std::mutex> lock(registry_mutex());
  return registry().erase(p) != 0;
}
Status check_live(const void* p, const char* what) {
  if (!p) return Status(TIDAL_ERR_INVALID_ARGUMENT, fmt::format("{} is NULL", what));
  std::lock_guard<std::mutex> lock(registry_mutex());
  if (registry().count(p) == 0) {
    return Status(TIDAL_ERR_INVALID_USAGE,
                  fmt::format("{} is not live (used after destroy?)", what));
  }
  return Status();
}

Status invalid(const std::string& message) {
  return Status(TIDAL_ERR_INVALID_ARGUMENT, message);
}

Status from_c(tidal_status_t code, const char* what) {
  if (code == TIDAL_SUCCESS) return Status();
  return Status(code, fmt::format("{}: {}", what, tidal_last_error()));
}

Status kind_from_c(tidal_tune_collective_t c, tuning::CommKind* kind) {
  int v = static_cast<int>(c);
  if (v < 0 || v >= tuning::kNumCommKinds) {
    return invalid(fmt::format("unknown tune collective {}", v));
  }
  *kind = static_cast<tuning::CommKind>(v);
  return Status();
}

Status inputs_from_c(const tidal_tune_inputs_t* c, tuning::StepInputs* in,
                     tuning::TuneOptions* options) {
  if (!c) return invalid("inputs is NULL");
  TIDAL_RETURN_IF_ERROR(check_options_size(c->size, sizeof(tidal_tune_inputs_t),
                                                sizeof(tidal_tune_inputs_t),
                                                "TIDAL_TUNE_INPUTS_INITIALIZER"));
  TIDAL_RETURN_IF_ERROR(
      kind_from_c(static_cast<tidal_tune_collective_t>(c->grad_collective), &in->grad_kind));
  in->grad_bytes = c->grad_bytes;
  in->bwd_s = c->bwd_s;
  in->fwd_s = c->fwd_s;
  in->gather_bytes = c->gather_bytes;
  in->prefetch_depth = c->prefetch_depth;
  in->max_inflight = c->max_inflight;
  in->first_bucket_bytes = static_cast<double>(c->first_bucket_bytes);
  if (c->num_layers > 0 && (!c->layer_grad_bytes || !c->layer_bwd_s)) {
    return invalid("num_layers > 0 needs layer_grad_bytes and layer_bwd_s");
  }
  for (size_t i = 0; i < c->num_layers; ++i) {
    in->grad_layers.push_back({c->layer_grad_bytes[i], c->layer_bwd_s[i]});
  }
  if (c->num_candidates > 0 && !c->candidates) return invalid("candidates is NULL");
  for (size_t i = 0; i < c->num_candidates; ++i) {
    options->candidates.push_back(static_cast<double>(c->candidates[i]));
  }
  options->min_bucket_bytes = static_cast<double>(c->min_bucket_bytes);
  options->max_bucket_bytes = static_cast<double>(c->max_bucket_bytes);
  options->points_per_octave = c->points_per_octave;
  return Status();
}

}  // namespace api
}  // namespace tidal
