#include "lib/engine/stream_engine.h"

#include <cuda_runtime_api.h>
#include <sched.h>

#include <fmt/format.h>

#include "lib/core/log.h"

namespace tidal {
namespace {

Status cuda_status(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return Status();
  return Status(TIDAL_ERR_TRANSPORT, fmt::format("cuda: {} failed: {}", what,
                                                 cudaGetErrorString(e)));
}

// A request that completes when its CUDA event has fired.
class EventRequest final : public Request {
 public:
  EventRequest(cudaEvent_t event, double timeout_s, std::function<void()> on_timeout)
      : event_(event), timeout_s_(timeout_s), on_timeout_(std::move(on_timeout)) {}
  ~EventRequest() override { cudaEventDestroy(event_); }

  Status wait(const Deadline&) override {
    Deadline deadline = Deadline::after(timeout_s_);
    for (;;) {
      Status s;
      if (test(&s)) return s;
      if (deadline.expired()) {
        on_timeout_();
        Status t(TIDAL_ERR_TIMEOUT, "cuda: operation did not complete before the timeout");
        complete(t);
        return t;
      }
      sched_yield();
    }
  }

  bool test(Status* status) override {
    if (Request::test(status)) return true;
    cudaError_t e = cudaEventQuery(event_);
    if (e == cudaErrorNotReady) return false;
    complete(cuda_status(e, "cudaEventQuery"));
    return Request::test(status);
  }

  Status wait_on_stream(void* stream, const Deadline&) override {
    return cuda_status(cudaStreamWaitEvent(static_cast<cudaStream_t>(stream), event_, 0),
                       "cudaStreamWaitEvent");
  }

 private:
  cudaEvent_t event_;
  const double timeout_s_;
  std::function<void()> on_timeout_;
};

}  // namespace

StreamEngine::StreamEngine(double timeout_s, void* user_stream, void* comm_stream,
                           std::function<void()> on_abort, int rank)
    : timeout_s_(timeout_s),
      user_stream_(user_stream),
      comm_stream_(comm_stream),
      on_abort_(std::move(on_abort)),
      rank_(rank) {}

StreamEngine::~StreamEngine() = default;

void StreamEngine::fail(const Status& status) {
  if (error_.ok()) error_ = status;
}

RequestPtr StreamEngine::submit(const char* name, WorkFn work) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!error_.ok()) {
    return completed_request(error_.with_context(
        fmt::format("{} not run: the communicator failed earlier", name)));
  }
  auto comm = static_cast<cudaStream_t>(comm_stream_);
  cudaEvent_t ready = nullptr, done = nullptr;
  Status s = cuda_status(cudaEventCreateWithFlags(&ready, cudaEventDisableTiming), "event");
  if (s.ok()) s = cuda_status(cudaEventRecord(ready, static_cast<cudaStream_t>(user_stream_)),
                              "cudaEventRecord");
  if (s.ok()) s = cuda_status(cudaStreamWaitEvent(comm, ready, 0), "cudaStreamWaitEvent");
  if (ready) cudaEventDestroy(ready);
  if (s.ok()) {
    ExecContext ctx;
    ctx.deadline = Deadline::after(timeout_s_);
    ctx.stream = comm_stream_;
    s = work(ctx);
  }
  if (s.ok()) s = cuda_status(cudaEventCreateWithFlags(&done, cudaEventDisableTiming), "event");
  if (s.ok()) s = cuda_status(cudaEventRecord(done, comm), "cudaEventRecord");
  if (!s.ok()) {
    if (done) cudaEventDestroy(done);
    s = s.with_context(name);
    log_warn(rank_, "{} failed: {}", tidal_status_string(s.code()), s.message());
    fail(s);
    return completed_request(s);
  }
  auto on_timeout = [this] {
    std::lock_guard<std::mutex> l(mu_);
    fail(Status(TIDAL_ERR_TIMEOUT, "cuda: an operation timed out"));
    if (on_abort_) on_abort_();
  };
  return std::make_shared<EventRequest>(done, timeout_s_, on_timeout);
}

void StreamEngine::abort() {
  std::lock_guard<std::mutex> lock(mu_);
  if (aborted_) return;
  aborted_ = true;
  fail(Status(TIDAL_ERR_ABORTED, "the communicator was aborted"));
  if (on_abort_) on_abort_();
}

void StreamEngine::drain() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!aborted_) cudaStreamSynchronize(static_cast<cudaStream_t>(comm_stream_));
}

Status StreamEngine::async_error() {
  std::lock_guard<std::mutex> lock(mu_);
  return error_;
}

}  // namespace tidal
