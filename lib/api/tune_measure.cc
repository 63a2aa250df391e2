#include "lib/api/tune_measure.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "lib/api/handles.h"
#include "lib/core/options_struct.h"
#include "tidal/bucket.h"
#include "tidal/overlap.h"
#include "tidal/schedule.h"
#include "topology/tuning/refinement_plan.h"

namespace tidal {
namespace api {
namespace {

using Clock = std::chrono::steady_clock;
// The largest working set a profile allocates for (twice this per rank).
constexpr size_t kMaxProfileStreamBytes = size_t(1) << 30;

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

// A tensor list of k one-bucket f32 tensors over buf.send, each `count`
// elements: the profile's stand-in for a step's gradients or parameters.
Status make_one_bucket_list(tidal_comm_t comm, size_t count, size_t k,
                            tidal_bucket_order_t order, SweepBuffers& buf,
                            tidal_tensor_list_t* list) {
  std::vector<tidal_tensor_desc_t> tensors;
  for (size_t i = 0; i < k; ++i) tensors.push_back({buf.send.data() + i * count, count, TIDAL_F32});
  tidal_bucket_options_t bo = TIDAL_BUCKET_OPTIONS_INITIALIZER;
  bo.bucket_bytes = count * sizeof(float);
  bo.first_bucket_bytes = 0;
  bo.order = order;
  return from_c(tidal_tensor_list_create(comm, tensors.data(), k, &bo, list),
                "tensor list for the profile");
}

// What the grad reducer runs per bucket when gradients arrive faster than
// buckets drain: a reducer over k one-bucket tensors, every gradient marked
// at once in backward order from this thread, so buckets take the reducer's
// own path (the marking thread packs bucket j+1 while the progress thread
// reduces bucket j) with its per-bucket launch costs. Time of the k buckets;
// and the marking thread's mean time per pack, from the reducer's counters.
Status time_reducer_stream(tidal_comm_t comm, tidal_schedule_t schedule, size_t count,
                           size_t k, const tidal_measure_options_t& o, SweepBuffers& buf,
                           double* seconds, double* pack_s) {
  tidal_tensor_list_t list = nullptr;
  TIDAL_RETURN_IF_ERROR(
      make_one_bucket_list(comm, count, k, TIDAL_BUCKET_ORDER_REVERSE, buf, &list));
  tidal_grad_reducer_options_t ro = TIDAL_GRAD_REDUCER_OPTIONS_INITIALIZER;
  ro.schedule = schedule;
  tidal_grad_reducer_t reducer = nullptr;
  Status s = from_c(tidal_grad_reducer_create(list, &ro, &reducer), "grad reducer for the profile");
  auto body = [&]() -> Status {
    for (size_t i = k; i-- > 0;) {
      TIDAL_RETURN_IF_ERROR(from_c(tidal_grad_ready(reducer, i), "grad ready"));
    }
    return from_c(tidal_grad_reducer_wait(reducer), "grad reducer wait");
  };
  if (s.ok()) s = time_median(comm, o.warmup, o.repetitions, body, seconds);
  tidal_bucket_counters_t c{};
  if (s.ok()) s = from_c(tidal_grad_reducer_get_counters(reducer, &c), "reducer counters");
  *pack_s = c.pack_calls > 0 ? double(c.pack_ns) * 1e-9 / double(c.pack_calls) : 0.0;
  tidal_grad_reducer_destroy(reducer);
  Status d = from_c(tidal_tensor_list_destroy(list), "tensor list destroy");
  return s.ok() ? d : s;
}

// What the param gatherer runs per bucket: collective + fused unpack, for a
// list of k one-bucket tensors. Time of the k buckets.
Status time_gather_stream(tidal_comm_t comm, tidal_schedule_t schedule, size_t count, size_t k,
                          const tidal_measure_options_t& o, SweepBuffers& buf,
                          double* seconds) {
  tidal_tensor_list_t list = nullptr;
  TIDAL_RETURN_IF_ERROR(
      make_one_bucket_list(comm, count, k, TIDAL_BUCKET_ORDER_FORWARD, buf, &list));
  tidal_bucketed_options_t opts = TIDAL_BUCKETED_OPTIONS_INITIALIZER;
  opts.schedule = schedule;
  auto body = [&]() -> Status {
    return from_c(tidal_bucketed_all_gather(list, buf.recv.data(), &opts, nullptr),
                  "bucketed all_gather");
  };
  Status s = time_median(comm, o.warmup, o.repetitions, body, seconds);
  Status d = from_c(tidal_tensor_list_destroy(list), "tensor list destroy");
  return s.ok() ? d : s;
}

// One size of the sweep: the time per bucket of a stream of k `count`-float
// buckets (k = 1: one bucket alone), and the marking thread's time per pack
// (0 where the path packs nothing there).
Status time_one_bucket(tidal_comm_t comm, tuning::CommKind kind, tidal_schedule_t schedule,
                       size_t count, size_t k, int world, const tidal_measure_options_t& o,
                       SweepBuffers& buf, double* seconds, double* pack_s) {
  *pack_s = 0;
  Status s;
  if (!o.include_pack || kind == tuning::CommKind::kAllReduce) {
    const size_t shard = count / static_cast<size_t>(world);
    auto body = [&] { return run_bare_stream(comm, kind, schedule, count, shard, k, buf); };
    s = time_median(comm, o.warmup, o.repetitions, body, seconds);
  } else if (kind == tuning::CommKind::kReduceScatter) {
    s = time_reducer_stream(comm, schedule, count, k, o, buf, seconds, pack_s);
  } else {
    s = time_gather_stream(comm, schedule, count, k, o, buf, seconds);
  }
  *seconds /= double(k);
  return s;
}

}  // namespace

Status measure_profile(tidal_comm_t comm, tidal_tune_collective_t collective,
                       tidal_schedule_t schedule, const size_t* sizes, size_t n,
                       const tidal_measure_options_t* options, double* seconds_out) {
  TIDAL_RETURN_IF_ERROR(check_comm(comm));
  tuning::CommKind kind;
  TIDAL_RETURN_IF_ERROR(kind_from_c(collective, &kind));
  if (!sizes || !seconds_out || n == 0) return invalid("sizes/seconds_out NULL or n == 0");
  tidal_measure_options_t o;
  TIDAL_RETURN_IF_ERROR(read_options(
      options, tidal_measure_options_t(TIDAL_MEASURE_OPTIONS_INITIALIZER),
      "TIDAL_MEASURE_OPTIONS_INITIALIZER", &o));
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
    max_count = std::max(max_count,
                         counts.back() * tuning::stream_length(counts.back() * 4, o.stream_bytes));
  }
  SweepBuffers buf;
  try {
    buf.send.assign(max_count, 1.0f);
    buf.recv.assign(max_count, 0.0f);
  } catch (const std::bad_alloc&) {
    return Status(TIDAL_ERR_NO_MEMORY, "profile buffers");
  }
  for (size_t i = 0; i < n; ++i) {
    const size_t k = tuning::stream_length(counts[i] * 4, o.stream_bytes);
    double pack_s = 0, unused = 0;
    TIDAL_RETURN_IF_ERROR(time_one_bucket(comm, kind, schedule, counts[i], k, world, o, buf,
                                          &seconds_out[i], &pack_s));
    if (o.pack_seconds_out) o.pack_seconds_out[i] = pack_s;
    if (o.alone_seconds_out) {
      TIDAL_RETURN_IF_ERROR(time_one_bucket(comm, kind, schedule, counts[i], 1, world, o, buf,
                                            &o.alone_seconds_out[i], &unused));
    }
    report_progress(comm, o.progress, o.progress_user, i + 1, n, sizes[i]);
  }
  if (o.alone_seconds_out) TIDAL_RETURN_IF_ERROR(max_over_ranks(comm, o.alone_seconds_out, n));
  if (o.pack_seconds_out) TIDAL_RETURN_IF_ERROR(max_over_ranks(comm, o.pack_seconds_out, n));
  return max_over_ranks(comm, seconds_out, n);
}

// ---- refinement: synthetic steps with the real grad reducer -------------

namespace {

// ZeRO-3's forward: the parameters of every bucket gathered from this
// rank's shard with the param gatherer, layer by layer, prefetching
// `prefetch_depth` buckets ahead (as the model's forward does); the compute
// on a bucket's parameters sleeps its share of the forward time.
struct SyntheticForward {
  tidal_tensor_list_t list = nullptr;
  tidal_param_gatherer_t gatherer = nullptr;
  std::vector<double> compute_s;  // per bucket
  int depth = 0;
  std::vector<char> shard;
  ~SyntheticForward() {
    tidal_param_gatherer_destroy(gatherer);
    tidal_tensor_list_destroy(list);
  }
};

Status make_forward(tidal_comm_t comm, const tuning::StepInputs& in, size_t bucket_bytes,
                    std::vector<float>& params, SyntheticForward* f) {
  const size_t count = static_cast<size_t>(in.gather_bytes / 4);
  try {
    params.assign(count, 1.0f);
  } catch (const std::bad_alloc&) {
    return Status(TIDAL_ERR_NO_MEMORY, "synthetic parameters");
  }
  tidal_tensor_desc_t desc{params.data(), count, TIDAL_F32};
  tidal_bucket_options_t bo = TIDAL_BUCKET_OPTIONS_INITIALIZER;
  bo.bucket_bytes = bucket_bytes;
  bo.first_bucket_bytes = static_cast<size_t>(in.first_bucket_bytes);
  bo.order = TIDAL_BUCKET_ORDER_FORWARD;
  TIDAL_RETURN_IF_ERROR(
      from_c(tidal_tensor_list_create(comm, &desc, 1, &bo, &f->list), "parameter list"));
  size_t shard_bytes = 0, n = 0;
  tidal_tensor_list_shard_bytes(f->list, &shard_bytes);
  tidal_tensor_list_num_buckets(f->list, &n);
  f->shard.assign(shard_bytes, 0);
  for (size_t b = 0; b < n; ++b) {
    tidal_bucket_info_t info;
    TIDAL_RETURN_IF_ERROR(from_c(tidal_tensor_list_bucket_info(f->list, b, &info), "bucket"));
    f->compute_s.push_back(in.fwd_s * static_cast<double>(info.count) / static_cast<double>(count));
  }
  f->depth = in.prefetch_depth;
  tidal_param_gatherer_options_t go = TIDAL_PARAM_GATHERER_OPTIONS_INITIALIZER;
  go.depth = static_cast<size_t>(std::max(1, in.prefetch_depth));
  return from_c(tidal_param_gatherer_create(f->list, f->shard.data(), &go, &f->gatherer),
                "param gatherer");
}

Status run_forward(SyntheticForward& f) {
  const size_t n = f.compute_s.size();
  for (size_t j = 0; j < n; ++j) {
    TIDAL_RETURN_IF_ERROR(from_c(tidal_param_wait(f.gatherer, j), "param wait"));
    for (size_t k = j + 1; k <= j + static_cast<size_t>(f.depth) && k < n; ++k) {
      TIDAL_RETURN_IF_ERROR(from_c(tidal_param_prefetch(f.gatherer, k), "param prefetch"));
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(f.compute_s[j]));
  }
  return from_c(tidal_param_release(f.gatherer, SIZE_MAX), "param release");
}

// One step: the forward (sleeps, or gathers and sleeps under ZeRO-3), then
// the backward marks gradients at their pace.
Status synthetic_step(tidal_comm_t comm, tidal_grad_reducer_t reducer,
                      const tuning::StepInputs& in, const tuning::SyntheticBackward& m,
                      SyntheticForward* forward, double* seconds) {
  TIDAL_RETURN_IF_ERROR(barrier(comm));
  auto start = Clock::now();
  if (forward) {
    TIDAL_RETURN_IF_ERROR(run_forward(*forward));
  } else {
    std::this_thread::sleep_for(std::chrono::duration<double>(in.fwd_s));
  }
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

// One round's measurement of one size: a fresh gradient list and reducer
// (and gatherer), o.warmup_steps untimed steps (they also fault in the
// bucket storage), then one timed step; its time on the slowest rank.
Status measure_step(tidal_comm_t comm, const tuning::StepInputs& in, size_t bucket_bytes,
                    const tidal_tune_refine_options_t& o, std::vector<float>& storage,
                    double* step_s) {
  tuning::SyntheticBackward m = tuning::synthetic_backward(in, o.num_tensors);
  std::vector<tidal_tensor_desc_t> descs;
  size_t offset = 0;
  for (size_t c : m.counts) {
    descs.push_back({storage.data() + offset, c, TIDAL_F32});
    offset += c;
  }
  std::vector<float> params;
  std::unique_ptr<SyntheticForward> forward;
  if (in.gather_bytes > 0) {
    forward.reset(new SyntheticForward);
    TIDAL_RETURN_IF_ERROR(make_forward(comm, in, bucket_bytes, params, forward.get()));
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
  for (int i = 0; s.ok() && i <= o.warmup_steps; ++i) {
    s = synthetic_step(comm, reducer, in, m, forward.get(), step_s);
  }
  tidal_grad_reducer_destroy(reducer);
  tidal_tensor_list_destroy(list);
  TIDAL_RETURN_IF_ERROR(s);
  return max_over_ranks(comm, step_s, 1);
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

}  // namespace

Status refine(tidal_comm_t comm, const tidal_tune_refine_options_t* options,
              tidal_tune_result* r) {
  TIDAL_RETURN_IF_ERROR(check_comm(comm));
  TIDAL_RETURN_IF_ERROR(check_live(r, "result"));
  if (!r->tuned) return Status(TIDAL_ERR_INVALID_USAGE, "the result was never tuned");
  tidal_tune_refine_options_t o;
  TIDAL_RETURN_IF_ERROR(read_options(
      options, tidal_tune_refine_options_t(TIDAL_TUNE_REFINE_OPTIONS_INITIALIZER),
      "TIDAL_TUNE_REFINE_OPTIONS_INITIALIZER", &o));
  if (o.steps < 1 || o.warmup_steps < 0 || o.num_tensors < 1 || o.neighbours < 0 ||
      (o.num_sizes > 0 && !o.sizes)) {
    return invalid("refine options: steps >= 1, warmup >= 0, tensors >= 1, neighbours >= 0");
  }
  std::vector<size_t> given(o.sizes, o.sizes + (o.sizes ? o.num_sizes : 0));
  std::vector<size_t> sizes = tuning::refinement_sizes(r->model_pick, r->inputs.grad_bytes,
                                                       o.neighbours, given, kTuneGranularity);
  if (sizes.front() == 0) return invalid("a refinement size is 0");
  std::vector<float> storage;
  try {
    storage.assign(static_cast<size_t>(r->inputs.grad_bytes / 4) + 64, 0.0f);
  } catch (const std::bad_alloc&) {
    return Status(TIDAL_ERR_NO_MEMORY, "synthetic gradients");
  }
  // Rounds, each measuring every size once (A B C A B C ..., as
  // docs/benchmarks ask of any comparison): a disturbance of a shared
  // machine then costs one round of several sizes, not all of one size.
  std::vector<std::vector<double>> times(sizes.size());
  const size_t total = sizes.size() * static_cast<size_t>(o.steps);
  for (int round = 0, done = 0; round < o.steps; ++round) {
    for (size_t i = 0; i < sizes.size(); ++i) {
      double t = 0;
      TIDAL_RETURN_IF_ERROR(measure_step(comm, r->inputs, sizes[i], o, storage, &t)
                                .with_context(fmt::format("bucket {}", sizes[i])));
      times[i].push_back(t);
      report_progress(comm, o.progress, o.progress_user, static_cast<size_t>(++done), total,
                      sizes[i]);
    }
  }
  double best_s = 0;
  size_t best_bytes = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    const double t = tuning::median(times[i]);
    TIDAL_RETURN_IF_ERROR(record_measurement(r, sizes[i], t));
    if (best_bytes == 0 || t < best_s) {
      best_s = t;
      best_bytes = sizes[i];
    }
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
  TIDAL_RETURN_IF_ERROR(check_comm(comm));
  if (!out || model_bytes == 0) return invalid("bucket_bytes NULL or model_bytes 0");
  if (bwd_s <= 0) {
    const char* env = std::getenv("TIDAL_TUNE_BWD_MS");
    if (env && *env) bwd_s = std::atof(env) / 1e3;
  }
  std::vector<size_t> sizes = tuning::auto_profile_sizes(model_bytes);
  std::vector<double> seconds(sizes.size()), alone(sizes.size()), pack(sizes.size());
  tidal_measure_options_t mo = TIDAL_MEASURE_OPTIONS_INITIALIZER;
  mo.repetitions = 3;
  mo.alone_seconds_out = alone.data();
  mo.pack_seconds_out = pack.data();
  mo.stream_bytes = std::min(model_bytes, kMaxProfileStreamBytes);  // a step's working set
  TIDAL_RETURN_IF_ERROR(measure_profile(comm, TIDAL_TUNE_REDUCE_SCATTER, TIDAL_SCHEDULE_UNSET,
                                        sizes.data(), sizes.size(), &mo, seconds.data()));
  double pick = 0;
  if (bwd_s > 0 && std::isfinite(bwd_s)) {
    tuning::CommProfile profile;
    for (size_t i = 0; i < sizes.size(); ++i) {
      TIDAL_RETURN_IF_ERROR(profile.curve(tuning::CommKind::kReduceScatter)
                                .add_point(double(sizes[i]), seconds[i]));
      TIDAL_RETURN_IF_ERROR(profile.alone(tuning::CommKind::kReduceScatter)
                                .add_point(double(sizes[i]), alone[i]));
      if (pack[i] > 0) {
        TIDAL_RETURN_IF_ERROR(profile.pack(tuning::CommKind::kReduceScatter)
                                  .add_point(double(sizes[i]), pack[i]));
      }
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
  *out = static_cast<size_t>(tuning::round_to_granularity(pick, kTuneGranularity));
  return Status();
}

}  // namespace api
}  // namespace tidal
