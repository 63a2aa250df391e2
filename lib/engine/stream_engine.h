// stream_engine.h — the CUDA engine. Work items run inline on the calling
// thread and enqueue on the communication stream, which first waits for
// the user stream (an event recorded there), so the stream order is the
// issue order. Each request holds an event recorded after its work:
// tidal_wait polls it on the host (bounded by the timeout, aborting the
// transport when it expires); tidal_request_wait_stream makes another
// stream wait on it without blocking the host.
#pragma once

#include <functional>
#include <mutex>

#include "lib/engine/engine.h"

namespace tidal {

class StreamEngine final : public Engine {
 public:
  StreamEngine(double timeout_s, void* user_stream, void* comm_stream,
               std::function<void()> on_abort, int rank);
  ~StreamEngine() override;

  RequestPtr submit(const char* name, WorkFn work) override;
  void abort() override;
  void drain() override;
  Status async_error() override;

 private:
  void fail(const Status& status);

  const double timeout_s_;
  void* user_stream_;
  void* comm_stream_;
  const std::function<void()> on_abort_;
  const int rank_;
  std::mutex mu_;  // one submitter at a time keeps the stream order
  Status error_;
  bool aborted_ = false;
};

}  // namespace tidal
