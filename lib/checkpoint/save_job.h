// save_job.h — one checkpoint file being saved: what to write, where the
// snapshot stands, and the two completion points a caller waits on
// (snapshot complete: the tensors may change again; durable: the file is
// fsynced and renamed into place).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "lib/checkpoint/safetensors_header.h"
#include "lib/core/status.h"

namespace tidal {
namespace ckpt {

struct TensorSource {
  std::string name;
  tidal_dtype_t dtype = TIDAL_F32;
  std::vector<uint64_t> shape;
  const void* data = nullptr;  // host or (CUDA builds) device memory
};

struct SaveRequest {
  std::string path;  // final path of the .safetensors file
  std::vector<TensorSource> tensors;
  std::map<std::string, std::string> metadata;  // user string -> string
  int64_t step = -1;            // recorded as tidal.step when >= 0
  void* cuda_stream = nullptr;  // stream that produced device tensors
};

// Validates the request and lays the file out. `checksums` (by tensor) go
// into the header; empty means zeros (the placeholder a writer rewrites).
Status plan_save(const SaveRequest& request, const std::vector<uint64_t>& checksums,
                 HeaderPlan* plan);

class SaveJob {
 public:
  SaveJob(SaveRequest request, HeaderPlan plan)
      : request_(std::move(request)), plan_(std::move(plan)) {}

  const SaveRequest& request() const { return request_; }
  const HeaderPlan& plan() const { return plan_; }

  // Blocks until the snapshot is complete; returns its status.
  Status wait_snapshot();
  // Blocks until the file is durable (or the save failed); the final status.
  Status wait_durable();
  // Non-blocking: true when the stage is over (then *status is its result).
  bool test_snapshot(Status* status);
  bool test_durable(Status* status);

  // Called by the writer's threads.
  void finish_snapshot(const Status& status);
  void finish_durable(const Status& status);
  void fail(const Status& status);  // the first failure wins
  bool failed();
  Status first_error();

  // Pipeline bookkeeping, guarded by the job's own lock.
  void slot_issued();
  // True when the caller should finalize (last slot written, all issued).
  bool slot_written();
  // True when every slot is already written (so the snapshot thread must
  // finalize itself).
  bool all_issued(std::string final_prefix);
  std::string final_prefix();

  int fd = -1;           // the temp file, opened by save_async
  int direct_fd = -1;    // O_DIRECT descriptor of the same file, or -1
  std::string temp_path;
  std::vector<bool> on_device;   // by tensor: copy with D2H
  void* ready_event = nullptr;   // cudaEvent_t recorded on the caller's stream

 private:
  SaveRequest request_;
  HeaderPlan plan_;
  std::mutex mu_;
  std::condition_variable changed_;
  bool snapshot_done_ = false;
  bool durable_done_ = false;
  Status snapshot_status_;
  Status durable_status_;
  Status error_;
  uint64_t outstanding_ = 0;
  bool issued_all_ = false;
  std::string final_prefix_;
};

}  // namespace ckpt
}  // namespace tidal
