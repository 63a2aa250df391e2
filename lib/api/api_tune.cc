// api_tune.cc — C shims of tidal/tune.h: profiles and results over
// topology/tuning, and the measurements (profile sweep, refinement with the
// real grad reducer), which drive the communicator through the public API.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include <fmt/format.h>

#include "lib/api/handles.h"
#include "tidal/bucket.h"
#include "tidal/overlap.h"
#include "tidal/schedule.h"
#include "tidal/tune.h"
#include "topology/tuning/bucket_tuner.h"
#include "topology/tuning/refinement_plan.h"

using tidal::Status;
using tidal::api::report;
namespace tuning = tidal::tuning;

struct tidal_comm_profile {
  tuning::CommProfile impl;
};

// A point of the curve: the model's prediction, and the measurement when
// refinement timed this size.
struct TunePointState {
  tuning::StepPrediction predicted;
  double measured_s = -1;
};

struct tidal_tune_result {
  bool tuned = false;
  tuning::StepInputs inputs;
  tuning::CommProfile profile;
  tuning::TuneResult model;
  std::vector<TunePointState> points;  // by bucket size
  double model_pick = 0, recommended = 0;
  std::string reasoning;
};

namespace {

using Clock = std::chrono::steady_clock;
constexpr double kGranularity = 64.0 * 1024;

// Live profile and result handles: use after destroy is caught.
std::mutex& registry_mutex() {
  static auto* mu = new std::mutex;
  return *mu;
}
std::unordered_set<const void*>& registry() {
  static auto* live = new std::unordered_set<const void*>;
  return *live;
}
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

// A failed public call as a Status carrying the thread's last message.
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
  if (c->size != sizeof(tidal_tune_inputs_t)) {
    return invalid("inputs were not made with TIDAL_TUNE_INPUTS_INITIALIZER");
  }
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

// Ranks agree on a value: the maximum over ranks (in place).
Status max_over_ranks(tidal_comm_t comm, double* values, size_t n) {
  return from_c(tidal_all_reduce(values, values, n, TIDAL_F64, TIDAL_MAX, comm, nullptr),
                "max over ranks");
}

Status barrier(tidal_comm_t comm) {
  float token = 0;
  return from_c(tidal_all_reduce(&token, &token, 1, TIDAL_F32, TIDAL_SUM, comm, nullptr),
                "barrier");
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

void report_progress(tidal_comm_t comm, tidal_tune_progress_fn fn, void* user, size_t done,
                     size_t total, size_t bytes) {
  int rank = 0;
  if (fn && tidal_comm_rank(comm, &rank) == TIDAL_SUCCESS && rank == 0) {
    fn(user, done, total, bytes);
  }
}

// Runs `body` warmup + reps times behind a barrier, keeps the median time.
template <typename Body>
Status time_median(tidal_comm_t comm, int warmup, int reps, Body body, double* out) {
  std::vector<double> times;
  for (int i = 0; i < warmup + reps; ++i) {
    TIDAL_RETURN_IF_ERROR(barrier(comm));
    auto start = Clock::now();
    TIDAL_RETURN_IF_ERROR(body());
    if (i >= warmup) times.push_back(seconds_since(start));
  }
  *out = tuning::median(times);
  return Status();
}

// ---- profile measurement ----------------------------------------------

struct SweepBuffers {
  std::vector<float> send, recv;
};

Status queue_bare(tidal_comm_t comm, tuning::CommKind kind, tidal_schedule_t schedule,
                  size_t count, size_t shard, const float* send, float* recv,
                  tidal_request_t* request) {
  switch (kind) {
    case tuning::CommKind::kReduceScatter:
      return from_c(tidal_reduce_scatter_ex(send, recv, shard, TIDAL_F32, TIDAL_SUM, schedule,
                                            comm, request), "reduce_scatter");
    case tuning::CommKind::kAllGather:
      return from_c(tidal_all_gather_ex(send, recv, shard, TIDAL_F32, schedule, comm, request),
                    "all_gather");
    case tuning::CommKind::kAllReduce:
      return from_c(tidal_all_reduce_ex(send, recv, count, TIDAL_F32, TIDAL_SUM, schedule, comm,
                                        request), "all_reduce");
  }
  return invalid("unknown collective");
}

// A stream of k bare collectives, queued at once, then waited for.
Status run_bare_stream(tidal_comm_t comm, tuning::CommKind kind, tidal_schedule_t schedule,
                       size_t count, size_t shard, size_t k, SweepBuffers& buf) {
  std::vector<tidal_request_t> requests(k, nullptr);
  Status s;
  for (size_t i = 0; i < k && s.ok(); ++i) {
    s = queue_bare(comm, kind, schedule, count, shard, buf.send.data() + i * count,
                   buf.recv.data() + i * count, &requests[i]);
  }
  Status w = from_c(tidal_wait_all(k, requests.data()), "wait");
  for (auto r : requests) tidal_request_free(r);
  return s.ok() ? w : s;
}

// One size of the sweep: the time per bucket of a stream of `count`-float
// bucket collectives.
Status time_one_bucket(tidal_comm_t comm, tuning::CommKind kind, tidal_schedule_t schedule,
                       size_t count, int world, const tidal_measure_options_t& o,
                       SweepBuffers& buf, double* seconds) {
  const size_t shard = count / static_cast<size_t>(world);
  const size_t k = tuning::stream_length(count * 4);
  Status s;
  if (!o.include_pack || kind == tuning::CommKind::kAllReduce) {
    auto body = [&] { return run_bare_stream(comm, kind, schedule, count, shard, k, buf); };
    s = time_median(comm, o.warmup, o.repetitions, body, seconds);
    *seconds /= double(k);
    return s;
  }
  // What the grad reducer runs per bucket: fused pack + collective, for a
  // list of k one-bucket tensors.
  std::vector<tidal_tensor_desc_t> tensors;
  for (size_t i = 0; i < k; ++i) tensors.push_back({buf.send.data() + i * count, count, TIDAL_F32});
  tidal_bucket_options_t bo = TIDAL_BUCKET_OPTIONS_INITIALIZER;
  bo.bucket_bytes = count * sizeof(float);
  bo.first_bucket_bytes = 0;
  tidal_tensor_list_t list = nullptr;
  TIDAL_RETURN_IF_ERROR(from_c(tidal_tensor_list_create(comm, tensors.data(), k, &bo, &list),
                               "tensor list for the profile"));
  tidal_bucketed_options_t opts = TIDAL_BUCKETED_OPTIONS_INITIALIZER;
  opts.schedule = schedule;
  auto body = [&]() -> Status {
    if (kind == tuning::CommKind::kReduceScatter) {
      return from_c(tidal_bucketed_reduce_scatter(list, buf.recv.data(), TIDAL_SUM, &opts,
                                                  nullptr), "bucketed reduce_scatter");
    }
    return from_c(tidal_bucketed_all_gather(list, buf.recv.data(), &opts, nullptr),
                  "bucketed all_gather");
  };
  s = time_median(comm, o.warmup, o.repetitions, body, seconds);
  *seconds /= double(k);
  Status d = from_c(tidal_tensor_list_destroy(list), "tensor list destroy");
  return s.ok() ? d : s;
}

Status measure_profile(tidal_comm_t comm, tidal_tune_collective_t collective,
                       tidal_schedule_t schedule, const size_t* sizes, size_t n,
                       const tidal_measure_options_t* options, double* seconds_out) {
  TIDAL_RETURN_IF_ERROR(tidal::api::check_comm(comm));
  tuning::CommKind kind;
  TIDAL_RETURN_IF_ERROR(kind_from_c(collective, &kind));
  if (!sizes || !seconds_out || n == 0) return invalid("sizes/seconds_out NULL or n == 0");
  tidal_measure_options_t o = TIDAL_MEASURE_OPTIONS_INITIALIZER;
  if (options) {
    if (options->size != sizeof(o)) return invalid("options not made with the initializer");
    o = *options;
  }
  if (o.repetitions < 1 || o.warmup < 0) return invalid("repetitions >= 1, warmup >= 0");
  int world = 1;
  TIDAL_RETURN_IF_ERROR(from_c(tidal_comm_size(comm, &world), "comm size"));
  const size_t unit = static_cast<size_t>(world);
  size_t max_count = 0;
  std::vector<size_t> counts;
  for (size_t i = 0; i < n; ++i) {
    if (sizes[i] == 0) return invalid(fmt::format("size {} is 0", i));
    size_t count = (sizes[i] / sizeof(float) + unit - 1) / unit * unit;
    counts.push_back(std::max(count, unit));
    max_count = std::max(max_count, counts.back() * tuning::stream_length(counts.back() * 4));
  }
  SweepBuffers buf;
  try {
    buf.send.assign(max_count, 1.0f);
    buf.recv.assign(max_count, 0.0f);
  } catch (const std::bad_alloc&) {
    return Status(TIDAL_ERR_NO_MEMORY, "profile buffers");
  }
  for (size_t i = 0; i < n; ++i) {
    TIDAL_RETURN_IF_ERROR(
        time_one_bucket(comm, kind, schedule, counts[i], world, o, buf, &seconds_out[i]));
    report_progress(comm, o.progress, o.progress_user, i + 1, n, sizes[i]);
  }
  return max_over_ranks(comm, seconds_out, n);
}

// ---- refinement: synthetic steps with the real grad reducer -------------

// One step: forward sleeps, backward marks gradients at their pace.
Status synthetic_step(tidal_comm_t comm, tidal_grad_reducer_t reducer,
                      const tuning::StepInputs& in, const tuning::SyntheticBackward& m,
                      double* seconds) {
  TIDAL_RETURN_IF_ERROR(barrier(comm));
  auto start = Clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(in.fwd_s));
  auto bwd_start = Clock::now();
  for (size_t k = m.counts.size(); k-- > 0;) {
    auto due = bwd_start + std::chrono::duration_cast<Clock::duration>(
                               std::chrono::duration<double>(m.ready_s[k]));
    std::this_thread::sleep_until(due);
    TIDAL_RETURN_IF_ERROR(from_c(tidal_grad_ready(reducer, k), "grad ready"));
  }
  TIDAL_RETURN_IF_ERROR(from_c(tidal_grad_reducer_wait(reducer), "grad reducer wait"));
  *seconds = seconds_since(start);
  return Status();
}

Status measure_step(tidal_comm_t comm, const tuning::StepInputs& in, size_t bucket_bytes,
                    const tidal_tune_refine_options_t& o, std::vector<float>& storage,
                    double* median_s) {
  tuning::SyntheticBackward m = tuning::synthetic_backward(in, o.num_tensors);
  std::vector<tidal_tensor_desc_t> descs;
  size_t offset = 0;
  for (size_t c : m.counts) {
    descs.push_back({storage.data() + offset, c, TIDAL_F32});
    offset += c;
  }
  tidal_bucket_options_t bo = TIDAL_BUCKET_OPTIONS_INITIALIZER;
  bo.bucket_bytes = bucket_bytes;
  bo.first_bucket_bytes = static_cast<size_t>(in.first_bucket_bytes);
  bo.order = TIDAL_BUCKET_ORDER_REVERSE;
  tidal_tensor_list_t list = nullptr;
  TIDAL_RETURN_IF_ERROR(from_c(
      tidal_tensor_list_create(comm, descs.data(), descs.size(), &bo, &list), "gradient list"));
  tidal_grad_reducer_options_t ro = TIDAL_GRAD_REDUCER_OPTIONS_INITIALIZER;
  ro.all_reduce = in.grad_kind == tuning::CommKind::kAllReduce;
  ro.schedule = o.schedule;
  tidal_grad_reducer_t reducer = nullptr;
  Status s = from_c(tidal_grad_reducer_create(list, &ro, &reducer), "grad reducer");
  std::vector<double> times;
  for (int i = 0; s.ok() && i < o.warmup_steps + o.steps; ++i) {
    double t = 0;
    s = synthetic_step(comm, reducer, in, m, &t);
    if (i >= o.warmup_steps) times.push_back(t);
  }
  tidal_grad_reducer_destroy(reducer);
  tidal_tensor_list_destroy(list);
  TIDAL_RETURN_IF_ERROR(s);
  *median_s = tuning::median(times);
  return max_over_ranks(comm, median_s, 1);
}

// Records a measured size (predicting it when it is not on the curve).
Status record_measurement(tidal_tune_result* r, size_t bytes, double measured_s) {
  auto at = std::lower_bound(r->points.begin(), r->points.end(), double(bytes),
                             [](const TunePointState& p, double b) {
                               return p.predicted.bucket_bytes < b;
                             });
  if (at == r->points.end() || at->predicted.bucket_bytes != double(bytes)) {
    TunePointState p;
    TIDAL_RETURN_IF_ERROR(tuning::predict_step(r->inputs, r->profile, double(bytes),
                                               &p.predicted));
    at = r->points.insert(at, p);
  }
  at->measured_s = measured_s;
  return Status();
}

Status refine(tidal_comm_t comm, const tidal_tune_refine_options_t* options,
              tidal_tune_result* r) {
  TIDAL_RETURN_IF_ERROR(tidal::api::check_comm(comm));
  TIDAL_RETURN_IF_ERROR(check_live(r, "result"));
  if (!r->tuned) return Status(TIDAL_ERR_INVALID_USAGE, "the result was never tuned");
  tidal_tune_refine_options_t o = TIDAL_TUNE_REFINE_OPTIONS_INITIALIZER;
  if (options) {
    if (options->size != sizeof(o)) return invalid("options not made with the initializer");
    o = *options;
  }
  if (o.steps < 1 || o.warmup_steps < 0 || o.num_tensors < 1 || o.neighbours < 0 ||
      (o.num_sizes > 0 && !o.sizes)) {
    return invalid("refine options: steps >= 1, warmup >= 0, tensors >= 1, neighbours >= 0");
  }
  std::vector<size_t> given(o.sizes, o.sizes + (o.sizes ? o.num_sizes : 0));
  std::vector<size_t> sizes = tuning::refinement_sizes(r->model_pick, r->inputs.grad_bytes,
                                                       o.neighbours, given, kGranularity);
  if (sizes.front() == 0) return invalid("a refinement size is 0");
  std::vector<float> storage;
  try {
    storage.assign(static_cast<size_t>(r->inputs.grad_bytes / 4) + 64, 0.0f);
  } catch (const std::bad_alloc&) {
    return Status(TIDAL_ERR_NO_MEMORY, "synthetic gradients");
  }
  double best_s = 0;
  size_t best_bytes = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    double t = 0;
    TIDAL_RETURN_IF_ERROR(measure_step(comm, r->inputs, sizes[i], o, storage, &t)
                              .with_context(fmt::format("bucket {}", sizes[i])));
    TIDAL_RETURN_IF_ERROR(record_measurement(r, sizes[i], t));
    if (best_bytes == 0 || t < best_s) {
      best_s = t;
      best_bytes = sizes[i];
    }
    report_progress(comm, o.progress, o.progress_user, i + 1, sizes.size(), sizes[i]);
  }
  r->recommended = double(best_bytes);
  int world = 1;
  tidal_comm_size(comm, &world);
  r->reasoning = r->model.reasoning + fmt::format(
      " Measured with the grad reducer on {} ranks over {} sizes around it: the best is {} at "
      "{:.2f} ms per step.", world, sizes.size(), tuning::format_bytes(r->recommended),
      best_s * 1e3);
  return Status();
}

Status auto_bucket_bytes(tidal_comm_t comm, size_t model_bytes, double bwd_s, size_t* out) {
  TIDAL_RETURN_IF_ERROR(tidal::api::check_comm(comm));
  if (!out || model_bytes == 0) return invalid("bucket_bytes NULL or model_bytes 0");
  if (bwd_s <= 0) {
    const char* env = std::getenv("TIDAL_TUNE_BWD_MS");
    if (env && *env) bwd_s = std::atof(env) / 1e3;
  }
  std::vector<size_t> sizes = tuning::auto_profile_sizes(model_bytes);
  std::vector<double> seconds(sizes.size());
  tidal_measure_options_t mo = TIDAL_MEASURE_OPTIONS_INITIALIZER;
  mo.repetitions = 3;
  TIDAL_RETURN_IF_ERROR(measure_profile(comm, TIDAL_TUNE_REDUCE_SCATTER, TIDAL_SCHEDULE_UNSET,
                                        sizes.data(), sizes.size(), &mo, seconds.data()));
  double pick = 0;
  if (bwd_s > 0 && std::isfinite(bwd_s)) {
    tuning::CommProfile profile;
    for (size_t i = 0; i < sizes.size(); ++i) {
      TIDAL_RETURN_IF_ERROR(profile.curve(tuning::CommKind::kReduceScatter)
                                .add_point(double(sizes[i]), seconds[i]));
    }
    tuning::StepInputs in;
    in.grad_bytes = double(model_bytes);
    in.bwd_s = bwd_s;
    tuning::TuneResult result;
    TIDAL_RETURN_IF_ERROR(tuning::tune_bucket_size(in, profile, tuning::TuneOptions(), &result));
    pick = result.best.bucket_bytes;
  } else {
    pick = tuning::bandwidth_knee(sizes, seconds, 0.9);
  }
  *out = static_cast<size_t>(tuning::round_to_granularity(pick, kGranularity));
  return Status();
}

}  // namespace

extern "C" {

tidal_status_t tidal_comm_profile_create(tidal_comm_profile_t* profile) {
  if (!profile) return report(invalid("profile is NULL"));
  *profile = new tidal_comm_profile;
  track(*profile);
  return TIDAL_SUCCESS;
}

tidal_status_t tidal_comm_profile_destroy(tidal_comm_profile_t profile) {
  if (!profile) return TIDAL_SUCCESS;
  if (!untrack(profile)) {
    return report(Status(TIDAL_ERR_INVALID_USAGE, "profile is not live (destroyed twice?)"));
  }
  delete profile;
  return TIDAL_SUCCESS;
}

tidal_status_t tidal_comm_profile_add(tidal_comm_profile_t profile,
                                      tidal_tune_collective_t collective, const size_t* bytes,
                                      const double* seconds, size_t n) {
  Status s = check_live(profile, "profile");
  tuning::CommKind kind;
  if (s.ok()) s = kind_from_c(collective, &kind);
  if (s.ok() && (!bytes || !seconds || n == 0)) s = invalid("bytes/seconds NULL or n == 0");
  if (!s.ok()) return report(s.with_context("tidal_comm_profile_add"));
  tuning::CommCurve curve = profile->impl.curve(kind);
  for (size_t i = 0; i < n && s.ok(); ++i) s = curve.add_point(double(bytes[i]), seconds[i]);
  if (!s.ok()) return report(s.with_context("tidal_comm_profile_add"));
  profile->impl.curve(kind) = curve;
  return TIDAL_SUCCESS;
}

tidal_status_t tidal_comm_profile_set_alpha_beta(tidal_comm_profile_t profile,
                                                 tidal_tune_collective_t collective,
                                                 double alpha_s, double beta_Bps) {
  Status s = check_live(profile, "profile");
  tuning::CommKind kind;
  if (s.ok()) s = kind_from_c(collective, &kind);
  if (s.ok()) s = profile->impl.curve(kind).set_alpha_beta(alpha_s, beta_Bps);
  return report(s.with_context("tidal_comm_profile_set_alpha_beta"));
}

tidal_status_t tidal_comm_profile_seconds(tidal_comm_profile_t profile,
                                          tidal_tune_collective_t collective, size_t bytes,
                                          double* seconds) {
  Status s = check_live(profile, "profile");
  tuning::CommKind kind;
  const tuning::CommCurve* curve = nullptr;
  if (s.ok()) s = kind_from_c(collective, &kind);
  if (s.ok() && (!seconds || bytes == 0)) s = invalid("seconds NULL or bytes == 0");
  if (s.ok()) s = profile->impl.curve_for(kind, &curve);
  if (!s.ok()) return report(s.with_context("tidal_comm_profile_seconds"));
  *seconds = curve->seconds(double(bytes));
  return TIDAL_SUCCESS;
}

tidal_status_t tidal_measure_comm_profile(tidal_comm_t comm, tidal_tune_collective_t collective,
                                          tidal_schedule_t schedule, const size_t* sizes,
                                          size_t n, const tidal_measure_options_t* options,
                                          double* seconds_out) {
  Status s = measure_profile(comm, collective, schedule, sizes, n, options, seconds_out);
  return report(s.with_context("tidal_measure_comm_profile"),
                tidal::api::check_comm(comm).ok() ? comm : nullptr);
}

tidal_status_t tidal_tune_result_create(tidal_tune_result_t* result) {
  if (!result) return report(invalid("result is NULL"));
  *result = new tidal_tune_result;
  track(*result);
  return TIDAL_SUCCESS;
}

tidal_status_t tidal_tune_result_destroy(tidal_tune_result_t result) {
  if (!result) return TIDAL_SUCCESS;
  if (!untrack(result)) {
    return report(Status(TIDAL_ERR_INVALID_USAGE, "result is not live (destroyed twice?)"));
  }
  delete result;
  return TIDAL_SUCCESS;
}

tidal_status_t tidal_tune_bucket_size(const tidal_tune_inputs_t* inputs,
                                      tidal_comm_profile_t profile, tidal_tune_result_t result) {
  tuning::StepInputs in;
  tuning::TuneOptions options;
  options.granularity_bytes = kGranularity;
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
}

tidal_status_t tidal_tune_result_recommended(tidal_tune_result_t result, size_t* bucket_bytes,
                                             double* exposed_s, double* iteration_s) {
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
}

tidal_status_t tidal_tune_result_num_points(tidal_tune_result_t result, size_t* n) {
  Status s = check_live(result, "result");
  if (s.ok() && !n) s = invalid("n is NULL");
  if (!s.ok()) return report(s.with_context("tidal_tune_result_num_points"));
  *n = result->points.size();
  return TIDAL_SUCCESS;
}

tidal_status_t tidal_tune_result_point(tidal_tune_result_t result, size_t i,
                                       tidal_tune_point_t* point) {
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
}

tidal_status_t tidal_tune_result_reasoning(tidal_tune_result_t result, const char** text) {
  Status s = check_live(result, "result");
  if (s.ok() && !text) s = invalid("text is NULL");
  if (!s.ok()) return report(s.with_context("tidal_tune_result_reasoning"));
  *text = result->reasoning.c_str();
  return TIDAL_SUCCESS;
}

tidal_status_t tidal_tune_refine(tidal_comm_t comm, const tidal_tune_refine_options_t* options,
                                 tidal_tune_result_t result) {
  Status s = refine(comm, options, result);
  return report(s.with_context("tidal_tune_refine"),
                tidal::api::check_comm(comm).ok() ? comm : nullptr);
}

tidal_status_t tidal_tune_auto_bucket_bytes(tidal_comm_t comm, size_t model_bytes, double bwd_s,
                                            size_t* bucket_bytes) {
  Status s = auto_bucket_bytes(comm, model_bytes, bwd_s, bucket_bytes);
  return report(s.with_context("tidal_tune_auto_bucket_bytes"),
                tidal::api::check_comm(comm).ok() ? comm : nullptr);
}

}  // extern "C"
