#include "lib/engine/request.h"

namespace tidal {

void Request::complete(const Status& status) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (done_) return;
    done_ = true;
    status_ = status;
  }
  cv_.notify_all();
}

Status Request::wait(const Deadline& deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  if (deadline.infinite()) {
    cv_.wait(lock, [&] { return done_; });
  } else if (!cv_.wait_until(lock, deadline.when(), [&] { return done_; })) {
    return Status(TIDAL_ERR_TIMEOUT, "request did not complete before the timeout");
  }
  return status_;
}

bool Request::test(Status* status) {
  std::lock_guard<std::mutex> lock(mu_);
  if (done_) *status = status_;
  return done_;
}

Status Request::wait_on_stream(void* /*stream*/, const Deadline& deadline) {
  return wait(deadline);
}

RequestPtr completed_request(const Status& status) {
  auto r = std::make_shared<Request>();
  r->complete(status);
  return r;
}

}  // namespace tidal
