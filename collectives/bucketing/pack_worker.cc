#include "collectives/bucketing/pack_worker.h"

#include <unistd.h>

namespace tidal {

void PassTicket::finish(const Status& status) {
  std::lock_guard<std::mutex> lock(mu_);
  status_ = status;
  done_ = true;
  cv_.notify_all();
}

Status PassTicket::wait() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return done_; });
  return status_;
}

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

PassTicketPtr PackWorker::post(std::function<Status()> pass) {
  auto ticket = std::make_shared<PassTicket>();
  if (getpid() != owner_) {
    ticket->finish(pass());
    return ticket;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.emplace_back(std::move(pass), ticket);
    if (!thread_) thread_ = std::make_unique<std::thread>([this] { loop(); });
  }
  cv_.notify_one();
  return ticket;
}

void PackWorker::loop() {
  for (;;) {
    std::pair<std::function<Status()>, PassTicketPtr> item;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, nothing left
      item = std::move(queue_.front());
      queue_.pop_front();
    }
    item.second->finish(item.first());
  }
}

}  // namespace tidal
