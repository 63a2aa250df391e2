#include "collectives/hooks/param_gatherer.h"

#include <algorithm>

#include <fmt/format.h>

#include "lib/core/dtype.h"
#include "lib/core/log.h"

namespace tidal {

ParamGatherer::ParamGatherer(TensorList& list, const void* shard, const GathererOptions& options)
    : list_(list), shard_(shard), options_(options) {}

ParamGatherer::~ParamGatherer() {
  if (list_alive_) list_.comm().drain();  // queued unpacks write the parameters
}

Status ParamGatherer::create(TensorList& list, const void* shard, const GathererOptions& options,
                             std::unique_ptr<ParamGatherer>* out) {
  if (!shard) return Status(TIDAL_ERR_INVALID_ARGUMENT, "the parameter shard buffer is NULL");
  if (options.depth < 1) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT, "prefetch depth must be at least 1");
  }
  TIDAL_RETURN_IF_ERROR(list.check_ops(options.scales));
  std::unique_ptr<ParamGatherer> g(new ParamGatherer(list, shard, options));
  g->state_.assign(list.plan().buckets.size(), State::kIdle);
  g->request_.resize(list.plan().buckets.size());
  *out = std::move(g);
  return Status();
}

Status ParamGatherer::check_bucket(size_t bucket) const {
  if (bucket < state_.size()) return Status();
  return Status(TIDAL_ERR_INVALID_ARGUMENT,
                fmt::format("bucket {} out of range (the list has {})", bucket, state_.size()));
}

size_t ParamGatherer::bucket_bytes(size_t bucket) const {
  const BucketPlan& p = list_.plan();
  return p.buckets[bucket].count * dtype_size(p.comm_dtype(p.buckets[bucket]));
}

bool ParamGatherer::may_launch_locked(size_t bucket) const {
  if (inflight_ == 0) return true;  // a bucket larger than the cap must still run
  if (inflight_ >= options_.depth) return false;
  return options_.max_inflight_bytes == 0 ||
         inflight_bytes_ + bucket_bytes(bucket) <= options_.max_inflight_bytes;
}

Status ParamGatherer::launch_locked(size_t bucket) {
  TIDAL_RETURN_IF_ERROR(list_.queue_all_gather(bucket, shard_, options_.scales,
                                               options_.schedule, &request_[bucket],
                                               &counters_));
  state_[bucket] = State::kInFlight;
  ++inflight_;
  inflight_bytes_ += bucket_bytes(bucket);
  log_trace(list_.comm().rank(), "param gatherer: launched bucket {} ({} in flight)", bucket,
            inflight_);
  return Status();
}

// Launches deferred buckets in prefetch order: all of them up to `until`
// when a caller is waiting for it, else as many as the limits allow.
Status ParamGatherer::launch_deferred_locked(bool ignore_limits, size_t until) {
  while (!deferred_.empty()) {
    const size_t b = deferred_.front();
    if (!ignore_limits && !may_launch_locked(b)) break;
    deferred_.pop_front();
    TIDAL_RETURN_IF_ERROR(launch_locked(b));
    if (b == until) break;
  }
  return Status();
}

Status ParamGatherer::prefetch(size_t bucket) {
  std::lock_guard<std::mutex> lock(mu_);
  TIDAL_RETURN_IF_ERROR(check_bucket(bucket));
  if (state_[bucket] != State::kIdle) return Status();
  if (deferred_.empty() && may_launch_locked(bucket)) return launch_locked(bucket);
  state_[bucket] = State::kDeferred;
  deferred_.push_back(bucket);
  return Status();
}

Status ParamGatherer::wait(size_t bucket, void* stream) {
  RequestPtr request;
  {
    std::lock_guard<std::mutex> lock(mu_);
    TIDAL_RETURN_IF_ERROR(check_bucket(bucket));
    if (state_[bucket] == State::kGathered) return Status();
    if (state_[bucket] == State::kIdle) {
      state_[bucket] = State::kDeferred;
      deferred_.push_back(bucket);
    }
    if (state_[bucket] == State::kDeferred) {
      TIDAL_RETURN_IF_ERROR(launch_deferred_locked(true, bucket));
    }
    request = request_[bucket];
  }
  auto start = std::chrono::steady_clock::now();
  Status s = stream ? request->wait_on_stream(stream, Deadline::never())
                   : list_.comm().wait(request);
  counters_.wait_ns += elapsed_ns(start);
  std::lock_guard<std::mutex> lock(mu_);
  if (state_[bucket] == State::kInFlight) {
    // A failed gather leaves the parameters unusable: gather again next time.
    state_[bucket] = s.ok() ? State::kGathered : State::kIdle;
    request_[bucket].reset();
    --inflight_;
    inflight_bytes_ -= bucket_bytes(bucket);
    if (bucket + 1 == state_.size()) {
      counters_.steps += 1;
      CounterValues v = counters_.snapshot();
      log_info(list_.comm().rank(),
               "param gatherer: round {} done: {} buckets, {} bytes, unpack {:.3f} ms, "
               "exposed wait {:.3f} ms (totals)",
               v.steps, v.buckets_launched, v.bytes_communicated, v.unpack_ns / 1e6,
               v.wait_ns / 1e6);
    }
  }
  TIDAL_RETURN_IF_ERROR(s);
  return launch_deferred_locked(false, SIZE_MAX);
}

Status ParamGatherer::gather_layer(size_t first_tensor, size_t last_tensor) {
  const BucketPlan& p = list_.plan();
  if (first_tensor > last_tensor || last_tensor >= p.tensors.size()) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT,
                  fmt::format("layer tensors [{}, {}] are not a range of the list's {} tensors",
                              first_tensor, last_tensor, p.tensors.size()));
  }
  size_t lo = SIZE_MAX, hi = 0;
  for (size_t t = first_tensor; t <= last_tensor; ++t) {
    lo = std::min(lo, p.tensor_first_bucket[t]);
    hi = std::max(hi, p.tensor_last_bucket[t]);
  }
  for (size_t b = lo; b <= hi; ++b) TIDAL_RETURN_IF_ERROR(wait(b));
  for (size_t b = hi + 1; b < p.buckets.size() && b <= hi + options_.depth; ++b) {
    TIDAL_RETURN_IF_ERROR(prefetch(b));
  }
  return Status();
}

Status ParamGatherer::release(size_t bucket) {
  std::lock_guard<std::mutex> lock(mu_);
  TIDAL_RETURN_IF_ERROR(check_bucket(bucket));
  if (state_[bucket] == State::kInFlight || state_[bucket] == State::kDeferred) {
    return Status(TIDAL_ERR_INVALID_USAGE,
                  fmt::format("bucket {} is being gathered; wait for it before releasing it",
                              bucket));
  }
  state_[bucket] = State::kIdle;
  return Status();
}

void ParamGatherer::release_all() {
  std::lock_guard<std::mutex> lock(mu_);
  for (State& s : state_) {
    if (s == State::kGathered) s = State::kIdle;
  }
}

}  // namespace tidal
