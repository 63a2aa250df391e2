#include "bench/perf/perf_team.h"

#include <algorithm>
#include <utility>

namespace tidal_perf {

Team::Team(int local_ranks, CrossProcessReduce cross_process)
    : local_ranks_(local_ranks), cross_process_(std::move(cross_process)) {}

bool Team::all_reduce(double* value, TeamReduce how, int local_slot) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (failed_) return false;
  const unsigned long my_generation = generation_;
  if (how == TeamReduce::kRank0) {
    if (local_slot == 0) accumulator_ = *value;
  } else if (arrived_ == 0) {
    accumulator_ = *value;
  } else if (how == TeamReduce::kSum) {
    accumulator_ += *value;
  } else if (how == TeamReduce::kMin) {
    accumulator_ = std::min(accumulator_, *value);
  } else {
    accumulator_ = std::max(accumulator_, *value);
  }
  if (++arrived_ == local_ranks_) {
    // The last thread of this process extends the reduction across
    // processes; the others of this process wait for it.
    double total = accumulator_;
    if (cross_process_) cross_process_(&total, how);
    result_ = total;
    arrived_ = 0;
    ++generation_;
    cv_.notify_all();
  } else {
    cv_.wait(lock, [&] { return generation_ != my_generation || failed_; });
    if (generation_ == my_generation) return false;
  }
  *value = result_;
  return true;
}

void Team::fail(const std::string& message, bool agreed) {
  std::function<void()> hook;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!failed_) {
      error_ = message;
      hook = abort_hook_;
    }
    agreed_ = agreed_ && agreed;
    failed_ = true;
    cv_.notify_all();
  }
  if (hook && !agreed) hook();
}

bool Team::failure_agreed() {
  std::lock_guard<std::mutex> lock(mutex_);
  return failed_ && agreed_;
}

void Team::set_abort_hook(std::function<void()> hook) {
  std::lock_guard<std::mutex> lock(mutex_);
  abort_hook_ = std::move(hook);
}

bool Team::failed() {
  std::lock_guard<std::mutex> lock(mutex_);
  return failed_;
}

std::string Team::first_error() {
  std::lock_guard<std::mutex> lock(mutex_);
  return error_;
}

}  // namespace tidal_perf
