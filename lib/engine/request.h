// request.h — the completion state of one queued operation.
//
// A request starts pending and completes exactly once with a Status. Host
// requests complete when the progress thread finishes the work; a CUDA
// engine's requests complete when an event recorded after the work fires
// (see stream_engine.h), so wait/test are virtual.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>

#include "lib/core/deadline.h"
#include "lib/core/status.h"

namespace tidal {

class Request {
 public:
  virtual ~Request() = default;

  // Completes the request; later calls are ignored.
  void complete(const Status& status);

  // Blocks until complete or `deadline`; returns the work's status, or
  // TIDAL_ERR_TIMEOUT if the deadline passed first.
  virtual Status wait(const Deadline& deadline);

  // Non-blocking: true and *status set when complete.
  virtual bool test(Status* status);

  // Makes a CUDA stream wait for this request (host requests: host wait).
  virtual Status wait_on_stream(void* stream, const Deadline& deadline);

 protected:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  Status status_;
};

using RequestPtr = std::shared_ptr<Request>;

// A request that is already complete with `status`.
RequestPtr completed_request(const Status& status);

}  // namespace tidal
