// api_tune.cc — C shims of tidal/tune.h over topology/tuning (the model)
// and lib/api/tune_measure (the measurements).
#include <algorithm>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "lib/api/handles.h"
#include "lib/api/tune_handles.h"
#include "lib/api/tune_measure.h"
#include "tidal/tune.h"

using tidal::Status;
using tidal::api::check_live;
using tidal::api::inputs_from_c;
using tidal::api::invalid;
using tidal::api::kind_from_c;
using tidal::api::report;
using tidal::api::track;
using tidal::api::untrack;
namespace tuning = tidal::tuning;

extern "C" {

tidal_status_t tidal_comm_profile_create(tidal_comm_profile_t* profile) try {
  if (!profile) return report(invalid("profile is NULL"));
  *profile = new tidal_comm_profile;
  track(*profile);
  return TIDAL_SUCCESS;
} catch (...) {
  return tidal::api::report_exception("tidal_comm_profile_create");
}

tidal_status_t tidal_comm_profile_destroy(tidal_comm_profile_t profile) try {
  if (!profile) return TIDAL_SUCCESS;
  if (!untrack(profile)) {
    return report(Status(TIDAL_ERR_INVALID_USAGE, "profile is not live (destroyed twice?)"));
  }
  delete profile;
  return TIDAL_SUCCESS;
} catch (...) {
  return tidal::api::report_exception("tidal_comm_profile_destroy");
}

namespace {

enum class Which { kQueued, kAlone, kPack };

// Adds the points to one of the kind's curves, all or none.
tidal_status_t add_points(tidal_comm_profile_t profile, tidal_tune_collective_t collective,
                          const size_t* bytes, const double* seconds, size_t n, Which which,
                          const char* fn) {
  Status s = check_live(profile, "profile");
  tuning::CommKind kind;
  if (s.ok()) s = kind_from_c(collective, &kind);
  if (s.ok() && (!bytes || !seconds || n == 0)) s = invalid("bytes/seconds NULL or n == 0");
  if (!s.ok()) return report(s.with_context(fn));
  tuning::CommCurve& target = which == Which::kAlone  ? profile->impl.alone(kind)
                              : which == Which::kPack ? profile->impl.pack(kind)
                                                      : profile->impl.curve(kind);
  tuning::CommCurve curve = target;
  for (size_t i = 0; i < n && s.ok(); ++i) s = curve.add_point(double(bytes[i]), seconds[i]);
  if (!s.ok()) return report(s.with_context(fn));
  target = curve;
  return TIDAL_SUCCESS;
}

}  // namespace

tidal_status_t tidal_comm_profile_add(tidal_comm_profile_t profile,
                                      tidal_tune_collective_t collective, const size_t* bytes,
                                      const double* seconds, size_t n) try {
  return add_points(profile, collective, bytes, seconds, n, Which::kQueued,
                    "tidal_comm_profile_add");
} catch (...) {
  return tidal::api::report_exception("tidal_comm_profile_add");
}

tidal_status_t tidal_comm_profile_add_alone(tidal_comm_profile_t profile,
                                            tidal_tune_collective_t collective,
                                            const size_t* bytes, const double* seconds,
                                            size_t n) try {
  return add_points(profile, collective, bytes, seconds, n, Which::kAlone,
                    "tidal_comm_profile_add_alone");
} catch (...) {
  return tidal::api::report_exception("tidal_comm_profile_add_alone");
}

tidal_status_t tidal_comm_profile_add_pack(tidal_comm_profile_t profile,
                                           tidal_tune_collective_t collective,
                                           const size_t* bytes, const double* seconds,
                                           size_t n) try {
  return add_points(profile, collective, bytes, seconds, n, Which::kPack,
                    "tidal_comm_profile_add_pack");
} catch (...) {
  return tidal::api::report_exception("tidal_comm_profile_add_pack");
}

tidal_status_t tidal_comm_profile_set_alpha_beta(tidal_comm_profile_t profile,
                                                 tidal_tune_collective_t collective,
                                                 double alpha_s, double beta_Bps) try {
  Status s = check_live(profile, "profile");
  tuning::CommKind kind;
  if (s.ok()) s = kind_from_c(collective, &kind);
  if (s.ok()) s = profile->impl.curve(kind).set_alpha_beta(alpha_s, beta_Bps);
  return report(s.with_context("tidal_comm_profile_set_alpha_beta"));
} catch (...) {
  return tidal::api::report_exception("tidal_comm_profile_set_alpha_beta");
}

tidal_status_t tidal_comm_profile_seconds(tidal_comm_profile_t profile,
                                          tidal_tune_collective_t collective, size_t bytes,
                                          double* seconds) try {
  Status s = check_live(profile, "profile");
  tuning::CommKind kind;
  const tuning::CommCurve* curve = nullptr;
  if (s.ok()) s = kind_from_c(collective, &kind);
  if (s.ok() && (!seconds || bytes == 0)) s = invalid("seconds NULL or bytes == 0");
  if (s.ok()) s = profile->impl.curve_for(kind, &curve);
  if (!s.ok()) return report(s.with_context("tidal_comm_profile_seconds"));
  *seconds = curve->seconds(double(bytes));
  return TIDAL_SUCCESS;
} catch (...) {
  return tidal::api::report_exception("tidal_comm_profile_seconds");
}

tidal_status_t tidal_measure_comm_profile(tidal_comm_t comm, tidal_tune_collective_t collective,
                                          tidal_schedule_t schedule, const size_t* sizes,
                                          size_t n, const tidal_measure_options_t* options,
                                          double* seconds_out) try {
  Status s =
      tidal::api::measure_profile(comm, collective, schedule, sizes, n, options, seconds_out);
  return report(s.with_context("tidal_measure_comm_profile"),
                tidal::api::check_comm(comm).ok() ? comm : nullptr);
} catch (...) {
  return tidal::api::report_exception("tidal_measure_comm_profile");
}

tidal_status_t tidal_tune_result_create(tidal_tune_result_t* result) try {
  if (!result) return report(invalid("result is NULL"));
  *result = new tidal_tune_result;
  track(*result);
  return TIDAL_SUCCESS;
} catch (...) {
  return tidal::api::report_exception("tidal_tune_result_create");
}

tidal_status_t tidal_tune_result_destroy(tidal_tune_result_t result) try {
  if (!result) return TIDAL_SUCCESS;
  if (!untrack(result)) {
    return report(Status(TIDAL_ERR_INVALID_USAGE, "result is not live (destroyed twice?)"));
  }
  delete result;
  return TIDAL_SUCCESS;
} catch (...) {
  return tidal::api::report_exception("tidal_tune_result_destroy");
}

tidal_status_t tidal_tune_bucket_size(const tidal_tune_inputs_t* inputs,
                                      tidal_comm_profile_t profile, tidal_tune_result_t result) try {
  tuning::StepInputs in;
  tuning::TuneOptions options;
  options.granularity_bytes = tidal::api::kTuneGranularity;
  tuning::TuneResult model;
  Status s = check_live(profile, "profile");
  if (s.ok()) s = check_live(result, "result");
  if (s.ok()) s = inputs_from_c(inputs, &in, &options);
  if (s.ok()) s = tuning::tune_bucket_size(in, profile->impl, options, &model);
  if (!s.ok()) return report(s.with_context("tidal_tune_bucket_size"));
  result->tuned = true;
  result->inputs = in;
  result->profile = profile->impl;
  result->points.clear();
  for (const auto& p : model.curve) result->points.push_back({p, -1});
  result->model_pick = result->recommended = model.best.bucket_bytes;
  result->reasoning = model.reasoning;
  result->model = std::move(model);
  return TIDAL_SUCCESS;
} catch (...) {
  return tidal::api::report_exception("tidal_tune_bucket_size");
}

tidal_status_t tidal_tune_result_recommended(tidal_tune_result_t result, size_t* bucket_bytes,
                                             double* exposed_s, double* iteration_s) try {
  Status s = check_live(result, "result");
  if (s.ok() && !result->tuned) s = Status(TIDAL_ERR_INVALID_USAGE, "result was never tuned");
  if (!s.ok()) return report(s.with_context("tidal_tune_result_recommended"));
  for (const auto& p : result->points) {
    if (p.predicted.bucket_bytes != result->recommended) continue;
    if (bucket_bytes) *bucket_bytes = static_cast<size_t>(p.predicted.bucket_bytes);
    if (exposed_s) *exposed_s = p.predicted.exposed_s;
    if (iteration_s) *iteration_s = p.predicted.iteration_s;
    return TIDAL_SUCCESS;
  }
  return report(Status(TIDAL_ERR_INTERNAL, "the recommendation is not on the curve"));
} catch (...) {
  return tidal::api::report_exception("tidal_tune_result_recommended");
}

tidal_status_t tidal_tune_result_num_points(tidal_tune_result_t result, size_t* n) try {
  Status s = check_live(result, "result");
  if (s.ok() && !n) s = invalid("n is NULL");
  if (!s.ok()) return report(s.with_context("tidal_tune_result_num_points"));
  *n = result->points.size();
  return TIDAL_SUCCESS;
} catch (...) {
  return tidal::api::report_exception("tidal_tune_result_num_points");
}

tidal_status_t tidal_tune_result_point(tidal_tune_result_t result, size_t i,
                                       tidal_tune_point_t* point) try {
  Status s = check_live(result, "result");
  if (s.ok() && (!point || point->size < sizeof(size_t))) s = invalid("point NULL or size unset");
  if (s.ok() && i >= result->points.size()) {
    s = invalid(fmt::format("point {} of {}", i, result->points.size()));
  }
  if (!s.ok()) return report(s.with_context("tidal_tune_result_point"));
  const TunePointState& p = result->points[i];
  tidal_tune_point_t full = TIDAL_TUNE_POINT_INITIALIZER;
  full.bucket_bytes = static_cast<size_t>(p.predicted.bucket_bytes);
  full.grad_buckets = p.predicted.grad_buckets;
  full.gather_buckets = p.predicted.gather_buckets;
  full.exposed_s = p.predicted.exposed_s;
  full.bwd_exposed_s = p.predicted.bwd_exposed_s;
  full.fwd_exposed_s = p.predicted.fwd_exposed_s;
  full.iteration_s = p.predicted.iteration_s;
  full.measured_iteration_s = p.measured_s;
  full.model_pick = p.predicted.bucket_bytes == result->model_pick;
  full.recommended = p.predicted.bucket_bytes == result->recommended;
  size_t keep = std::min(point->size, sizeof(full));
  full.size = point->size;
  std::memcpy(point, &full, keep);
  return TIDAL_SUCCESS;
} catch (...) {
  return tidal::api::report_exception("tidal_tune_result_point");
}

tidal_status_t tidal_tune_result_reasoning(tidal_tune_result_t result, const char** text) try {
  Status s = check_live(result, "result");
  if (s.ok() && !text) s = invalid("text is NULL");
  if (!s.ok()) return report(s.with_context("tidal_tune_result_reasoning"));
  *text = result->reasoning.c_str();
  return TIDAL_SUCCESS;
} catch (...) {
  return tidal::api::report_exception("tidal_tune_result_reasoning");
}

tidal_status_t tidal_tune_refine(tidal_comm_t comm, const tidal_tune_refine_options_t* options,
                                 tidal_tune_result_t result) try {
  Status s = tidal::api::refine(comm, options, result);
  return report(s.with_context("tidal_tune_refine"),
                tidal::api::check_comm(comm).ok() ? comm : nullptr);
} catch (...) {
  return tidal::api::report_exception("tidal_tune_refine");
}

tidal_status_t tidal_tune_auto_bucket_bytes(tidal_comm_t comm, size_t model_bytes, double bwd_s,
                                            size_t* bucket_bytes) try {
  Status s = tidal::api::auto_bucket_bytes(comm, model_bytes, bwd_s, bucket_bytes);
  return report(s.with_context("tidal_tune_auto_bucket_bytes"),
                tidal::api::check_comm(comm).ok() ? comm : nullptr);
} catch (...) {
  return tidal::api::report_exception("tidal_tune_auto_bucket_bytes");
}

}  // extern "C"
