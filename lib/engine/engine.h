// engine.h — the async engine: one ordered queue of opaque work items per
// communicator. It knows nothing of buckets or schedules: a work item is a
// function that talks to the transport and returns a Status.
//
// Contract: items run one at a time in submission order, so requests
// complete in issue order. The first failing item breaks the engine: every
// later item fails fast with the same status (the communicator is unusable,
// as in NCCL after an async error). abort() fails queued items with
// TIDAL_ERR_ABORTED and calls the abort hook that wakes a running one.
#pragma once

#include <functional>
#include <string>

#include "lib/core/deadline.h"
#include "lib/engine/request.h"

namespace tidal {

// What a running work item gets: its deadline (the communicator's timeout,
// counted from when the item starts running) and, on a CUDA engine, the
// communication stream to enqueue on.
struct ExecContext {
  Deadline deadline;
  void* stream = nullptr;
};

using WorkFn = std::function<Status(const ExecContext&)>;

class Engine {
 public:
  virtual ~Engine() = default;

  // Queues `work` (named for logs and errors) and returns its request.
  virtual RequestPtr submit(const char* name, WorkFn work) = 0;

  // Stops: queued items fail with TIDAL_ERR_ABORTED; returns at once.
  virtual void abort() = 0;

  // Waits until every queued item has finished (or failed).
  virtual void drain() = 0;

  // Blocks until `request` (one of this engine's) completes or `deadline`
  // passes. An engine may use the waiting thread to run queued work.
  virtual Status wait(const RequestPtr& request, const Deadline& deadline) {
    return request->wait(deadline);
  }

  // The first error of any item (OK when none).
  virtual Status async_error() = 0;
};

}  // namespace tidal
