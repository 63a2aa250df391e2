#include "collectives/bucketing/pack_worker.h"

#include <unistd.h>

namespace tidal {

PackWorker::PackWorker() : owner_(getpid()) {}

PackWorker::~PackWorker() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (!thread_) return;
  if (getpid() == owner_) {
    thread_->join();
  } else {
    (void)thread_.release();  // a forked child: the thread lives only in the parent
  }
}

RequestPtr PackWorker::post(std::function<Status()> pass) {
  if (getpid() != owner_) return completed_request(pass());
  auto request = std::make_shared<Request>();
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.emplace_back(std::move(pass), request);
    if (!thread_) thread_ = std::make_unique<std::thread>([this] { loop(); });
  }
  cv_.notify_one();
  return request;
}

void PackWorker::loop() {
  for (;;) {
    std::pair<std::function<Status()>, RequestPtr> item;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, nothing left
      item = std::move(queue_.front());
      queue_.pop_front();
    }
    item.second->complete(item.first());
  }
}

}  // namespace tidal
