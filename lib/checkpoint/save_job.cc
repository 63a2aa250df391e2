// save_job.cc — completion points and pipeline counters of one save.
#include "lib/checkpoint/save_job.h"

#include <fmt/format.h>

namespace tidal {
namespace ckpt {

Status plan_save(const SaveRequest& request, const std::vector<uint64_t>& checksums,
                 HeaderPlan* plan) {
  if (request.path.empty()) return Status(TIDAL_ERR_INVALID_ARGUMENT, "checkpoint path is empty");
  std::vector<TensorLayout> layouts;
  layouts.reserve(request.tensors.size());
  for (const TensorSource& t : request.tensors) {
    layouts.push_back(TensorLayout{t.name, t.dtype, t.shape});
  }
  std::map<std::string, std::string> metadata = request.metadata;
  for (const auto& kv : metadata)
    if (kv.first.rfind("tidal.", 0) == 0)
      return Status(TIDAL_ERR_INVALID_ARGUMENT,
                    fmt::format("metadata key '{}': the 'tidal.' prefix is reserved", kv.first));
  if (request.step >= 0) metadata[kStepKey] = std::to_string(request.step);
  TIDAL_RETURN_IF_ERROR(plan_header(
      layouts, metadata, checksums.empty() ? std::vector<uint64_t>(layouts.size(), 0) : checksums, plan));
  for (size_t i = 0; i < request.tensors.size(); ++i)
    if (plan->byte_sizes[i] > 0 && !request.tensors[i].data)
      return Status(TIDAL_ERR_INVALID_ARGUMENT,
                    fmt::format("tensor '{}': data is NULL", request.tensors[i].name));
  return Status();
}

Status SaveJob::wait_snapshot() {
  std::unique_lock<std::mutex> lock(mu_);
  changed_.wait(lock, [this] { return snapshot_done_; });
  return snapshot_status_;
}

Status SaveJob::wait_durable() {
  std::unique_lock<std::mutex> lock(mu_);
  changed_.wait(lock, [this] { return durable_done_; });
  return durable_status_;
}

bool SaveJob::test_snapshot(Status* status) {
  std::lock_guard<std::mutex> lock(mu_);
  if (snapshot_done_) *status = snapshot_status_;
  return snapshot_done_;
}

bool SaveJob::test_durable(Status* status) {
  std::lock_guard<std::mutex> lock(mu_);
  if (durable_done_) *status = durable_status_;
  return durable_done_;
}

void SaveJob::finish_snapshot(const Status& status) {
  std::lock_guard<std::mutex> lock(mu_);
  snapshot_done_ = true;
  snapshot_status_ = status;
  changed_.notify_all();
}

void SaveJob::finish_durable(const Status& status) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!snapshot_done_) {  // a failure can end the save before its snapshot
    snapshot_done_ = true;
    snapshot_status_ = status;
  }
  durable_done_ = true;
  durable_status_ = status;
  changed_.notify_all();
}

void SaveJob::fail(const Status& status) {
  std::lock_guard<std::mutex> lock(mu_);
  if (error_.ok()) error_ = status.with_context(request_.path);
}

bool SaveJob::failed() {
  std::lock_guard<std::mutex> lock(mu_);
  return !error_.ok();
}

Status SaveJob::first_error() {
  std::lock_guard<std::mutex> lock(mu_);
  return error_;
}

void SaveJob::slot_issued() {
  std::lock_guard<std::mutex> lock(mu_);
  outstanding_++;
}

bool SaveJob::slot_written() {
  std::lock_guard<std::mutex> lock(mu_);
  outstanding_--;
  return outstanding_ == 0 && issued_all_;
}

bool SaveJob::all_issued(std::string final_prefix) {
  std::lock_guard<std::mutex> lock(mu_);
  issued_all_ = true;
  final_prefix_ = std::move(final_prefix);
  return outstanding_ == 0;
}

std::string SaveJob::final_prefix() {
  std::lock_guard<std::mutex> lock(mu_);
  return final_prefix_;
}

}  // namespace ckpt
}  // namespace tidal
