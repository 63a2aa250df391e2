#include "collectives/hooks/grad_reducer.h"

#include <fmt/format.h>

#include "collectives/bucketing/bucket_storage.h"
#include "lib/core/log.h"

namespace tidal {

GradReducer::GradReducer(TensorList& list, const ReducerOptions& options)
    : list_(list), options_(options), device_(list.device()) {}

GradReducer::~GradReducer() {
  if (list_alive_) list_.comm().drain();  // queued buckets write into the shard
  free_bucket_storage(device_, shard_);
}

Status GradReducer::create(TensorList& list, const ReducerOptions& options,
                           std::unique_ptr<GradReducer>* out) {
  if (static_cast<int>(options.op) < 0 || options.op >= TIDAL_OP_COUNT) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT,
                  fmt::format("unknown op {}", static_cast<int>(options.op)));
  }
  TIDAL_RETURN_IF_ERROR(list.check_reducible());
  TIDAL_RETURN_IF_ERROR(list.check_ops(options.scales));
  std::unique_ptr<GradReducer> r(new GradReducer(list, options));
  TIDAL_RETURN_IF_ERROR(
      alloc_bucket_storage(list.device(), list.plan().shard_bytes, &r->shard_));
  const BucketPlan& plan = list.plan();
  r->tensors_in_.assign(plan.buckets.size(), 0);
  r->buckets_of_.resize(plan.tensors.size());
  for (size_t b = 0; b < plan.buckets.size(); ++b) {
    r->tensors_in_[b] = plan.buckets[b].piece_count;  // one piece per tensor per bucket
    for (size_t k = 0; k < plan.buckets[b].piece_count; ++k) {
      r->buckets_of_[plan.pieces[plan.buckets[b].first_piece + k].tensor].push_back(b);
    }
  }
  // Which buckets' collectives run on the tensors in place (fixed by the
  // list and the options): the marking threads never pack those.
  const CollKind kind = options.all_reduce ? CollKind::kAllReduce : CollKind::kReduceScatter;
  r->direct_.assign(plan.buckets.size(), 0);
  for (size_t b = 0; b < plan.buckets.size(); ++b) {
    r->direct_[b] = list.direct(b, kind, options.scales, options.schedule);
  }
  r->reset_step_locked();
  *out = std::move(r);
  return Status();
}

void GradReducer::reset_step_locked() {
  ready_.assign(list_.plan().tensors.size(), 0);
  pending_ = tensors_in_;
  marked_ = 0;
  next_launch_ = 0;
  last_.reset();
  launch_error_ = Status();
  step_started_ = false;
  sync_ = next_sync_;
}

Status GradReducer::mark_ready(size_t tensor) {
  std::unique_lock<std::mutex> lock(mu_);
  const BucketPlan& plan = list_.plan();
  if (tensor >= plan.tensors.size()) {
    return Status(TIDAL_ERR_INVALID_ARGUMENT,
                  fmt::format("gradient index {} out of range (the list has {} tensors)", tensor,
                              plan.tensors.size()));
  }
  if (ready_[tensor]) {
    return Status(TIDAL_ERR_INVALID_USAGE,
                  fmt::format("gradient {} was marked ready twice in one step (end a step "
                              "with tidal_grad_reducer_wait)",
                              tensor));
  }
  if (!step_started_) start_step_locked();
  ready_[tensor] = 1;
  ++marked_;
  if (!sync_) return Status();  // no-sync step: gradients accumulate locally
  if (!pack_now_) {
    for (size_t b : buckets_of_[tensor]) --pending_[b];
    return launch_ready_buckets_locked();
  }
  // Pack the buckets this gradient completes here, outside the lock; a
  // bucket counts as ready (pending 0) only once packed.
  std::vector<size_t> complete;
  bool direct_done = false;
  for (size_t b : buckets_of_[tensor]) {
    if (pending_[b] != 1) {
      --pending_[b];
    } else if (direct_[b]) {  // its collective reads the tensors: nothing to pack
      --pending_[b];
      direct_done = true;
    } else {
      complete.push_back(b);
    }
  }
  Status launched = direct_done ? launch_ready_buckets_locked() : Status();
  if (complete.empty()) return launched;
  packing_ += complete.size();
  // One bucket at a time, launched as soon as it is packed: a gradient
  // spanning several buckets starts the first one's collective while the
  // next is still being packed.
  for (size_t b : complete) {
    lock.unlock();
    Status s = list_.pack_now(b, options_.scales.pre, &counters_);
    lock.lock();
    --pending_[b];
    --packing_;
    if (!s.ok() && launch_error_.ok()) {
      launch_error_ = s.with_context(fmt::format("packing bucket {}", b));
    }
    launch_ready_buckets_locked();
  }
  if (packing_ == 0) packs_done_.notify_all();
  return launch_error_;
}

// The first mark of a step decides where this step packs: on the marking
// threads only if nothing queued on the list before the step is still
// running (it could be reading or writing the bucket storage).
void GradReducer::start_step_locked() {
  step_started_ = true;
  pack_now_ = sync_ && options_.pack_on_marking_thread && list_.can_pack_now() && list_.idle();
}

// Launches complete buckets in plan order, stopping at the first bucket
// still missing a gradient (the order every rank follows).
Status GradReducer::launch_ready_buckets_locked() {
  const size_t n = list_.plan().buckets.size();
  while (launch_error_.ok() && next_launch_ < n && pending_[next_launch_] == 0) {
    const size_t b = next_launch_++;
    Status s = options_.all_reduce
                   ? list_.queue_all_reduce(b, shard_, options_.op, options_.scales,
                                            options_.schedule, &last_, &counters_, pack_now_)
                   : list_.queue_reduce_scatter(b, shard_, options_.op, options_.scales,
                                                options_.schedule, &last_, &counters_,
                                                pack_now_);
    if (!s.ok()) launch_error_ = s.with_context(fmt::format("launching bucket {}", b));
    log_trace(list_.comm().rank(), "grad reducer: launched bucket {} of {}", b, n);
  }
  return launch_error_;
}

Status GradReducer::set_sync(bool sync) {
  std::lock_guard<std::mutex> lock(mu_);
  next_sync_ = sync;
  if (!step_started_) sync_ = sync;
  return Status();
}

Status GradReducer::wait(void* stream) {
  RequestPtr last;
  {
    std::unique_lock<std::mutex> lock(mu_);
    // A mark that completed a bucket may still be packing it (a caller
    // racing its own last mark): let it launch before ending the step.
    packs_done_.wait(lock, [&] { return packing_ == 0; });
    if (marked_ < ready_.size()) {
      size_t missing = 0;
      while (ready_[missing]) ++missing;
      return Status(TIDAL_ERR_INVALID_USAGE,
                    fmt::format("wait before every gradient was marked ready: {} of {} marked, "
                                "gradient {} is missing; the step continues",
                                marked_, ready_.size(), missing));
    }
    TIDAL_RETURN_IF_ERROR(launch_error_);
    last = last_;
  }
  auto start = std::chrono::steady_clock::now();
  Status s;
  if (last) {
    s = stream ? last->wait_on_stream(stream, Deadline::never()) : list_.comm().wait(last);
  }
  counters_.wait_ns += elapsed_ns(start);
  std::lock_guard<std::mutex> lock(mu_);
  if (sync_) {
    counters_.steps += 1;
    CounterValues v = counters_.snapshot();
    log_info(list_.comm().rank(),
             "grad reducer: step {} done: {} buckets, {} bytes, pack {:.3f} ms, unpack {:.3f} "
             "ms, exposed wait {:.3f} ms (totals)",
             v.steps, v.buckets_launched, v.bytes_communicated, v.pack_ns / 1e6,
             v.unpack_ns / 1e6, v.wait_ns / 1e6);
  }
  reset_step_locked();
  return s;
}

}  // namespace tidal
