#include "lib/engine/cpu_engine.h"

#include <fmt/format.h>

#include "lib/core/log.h"

namespace tidal {

CpuEngine::CpuEngine(double timeout_s, std::function<void()> on_abort, int rank)
    : timeout_s_(timeout_s), on_abort_(std::move(on_abort)), rank_(rank) {
  thread_ = std::thread([this] { run(); });
}

CpuEngine::~CpuEngine() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

RequestPtr CpuEngine::submit(const char* name, WorkFn work) {
  auto request = std::make_shared<Request>();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!error_.ok()) {
      request->complete(error_.with_context(
          fmt::format("{} not run: the communicator failed earlier", name)));
      return request;
    }
    queue_.push_back(Item{name, std::move(work), request});
  }
  cv_.notify_one();
  return request;
}

void CpuEngine::fail_locked(const Status& status) {
  if (error_.ok()) error_ = status;
}

void CpuEngine::abort() {
  std::deque<Item> dropped;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (aborted_) return;
    aborted_ = true;
    fail_locked(Status(TIDAL_ERR_ABORTED, "the communicator was aborted"));
    dropped.swap(queue_);
  }
  for (Item& item : dropped) {
    item.request->complete(Status(TIDAL_ERR_ABORTED,
                                  fmt::format("{}: the communicator was aborted", item.name)));
  }
  if (on_abort_) on_abort_();
  idle_cv_.notify_all();
}

void CpuEngine::drain() {
  std::unique_lock<std::mutex> lock(mu_);
  idle_cv_.wait(lock, [&] { return queue_.empty() && !running_item_; });
}

Status CpuEngine::async_error() {
  std::lock_guard<std::mutex> lock(mu_);
  return error_;
}

Status CpuEngine::wait(const RequestPtr& request, const Deadline& deadline) {
  Status done;
  while (!request->test(&done)) {
    Item item;
    {
      std::lock_guard<std::mutex> lock(mu_);
      // Busy (the progress thread or another waiter runs an item), empty,
      // or broken (the progress thread fails the rest fast): just wait.
      if (running_item_ || queue_.empty() || !error_.ok() || stop_) break;
      item = std::move(queue_.front());
      queue_.pop_front();
      running_item_ = true;
    }
    execute(item);
  }
  return request->wait(deadline);
}

void CpuEngine::run() {
  for (;;) {
    Item item;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return !running_item_ && (stop_ || !queue_.empty()); });
      if (queue_.empty()) return;  // stop_ and nothing left
      item = std::move(queue_.front());
      queue_.pop_front();
      running_item_ = true;
      if (!error_.ok()) {
        // Broken by an earlier item: fail fast without touching the transport.
        Status s = error_.with_context(
            fmt::format("{} not run: the communicator failed earlier", item.name));
        running_item_ = false;
        lock.unlock();
        item.request->complete(s);
        idle_cv_.notify_all();
        continue;
      }
    }
    execute(item);
  }
}

void CpuEngine::execute(Item& item) {
  log_trace(rank_, "engine: start {}", item.name);
  ExecContext ctx;
  ctx.deadline = Deadline::after(timeout_s_);
  Status s;
  try {
    s = item.work(ctx);
  } catch (const std::bad_alloc&) {
    s = Status(TIDAL_ERR_NO_MEMORY, "out of memory");
  } catch (const std::exception& e) {
    s = Status(TIDAL_ERR_INTERNAL, e.what());
  }
  if (!s.ok()) {
    s = s.with_context(item.name);
    log_warn(rank_, "{} failed: {}", tidal_status_string(s.code()), s.message());
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!s.ok()) fail_locked(s);
    running_item_ = false;
  }
  item.request->complete(s);
  cv_.notify_one();  // the next item, if a waiter ran this one
  idle_cv_.notify_all();
  log_trace(rank_, "engine: done {}", item.name);
}

}  // namespace tidal
