// cpu_engine.h — the host engine: the queue of a communicator runs in
// order on its progress thread, or on a thread that waits for one of its
// requests: a waiter whose queue is idle runs the items up to its own
// itself (one at a time, in order, never beside the progress thread), as
// MPI progresses inside MPI_Wait. On a VM a thread's wake-up costs tens of
// microseconds; a small collective through the progress thread paid two of
// them (waking it, and it waking the waiter).
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "lib/engine/engine.h"

namespace tidal {

class CpuEngine final : public Engine {
 public:
  // `timeout_s` bounds each item (<= 0: no bound). `on_abort` is called
  // once by abort() to wake a transport call that is blocked. `rank` is
  // for log lines.
  CpuEngine(double timeout_s, std::function<void()> on_abort, int rank);
  ~CpuEngine() override;

  RequestPtr submit(const char* name, WorkFn work) override;
  void abort() override;
  void drain() override;
  Status async_error() override;
  Status wait(const RequestPtr& request, const Deadline& deadline) override;

 private:
  struct Item {
    const char* name;
    WorkFn work;
    RequestPtr request;
  };
  void run();
  // Runs an item taken off the queue (running_item_ set), completes its
  // request and wakes the progress thread and drain().
  void execute(Item& item);
  void fail_locked(const Status& status);

  const double timeout_s_;
  const std::function<void()> on_abort_;
  const int rank_;
  std::mutex mu_;
  std::condition_variable cv_;       // new work, an item finished, or stop
  std::condition_variable idle_cv_;  // queue drained
  std::deque<Item> queue_;
  bool running_item_ = false;
  bool stop_ = false;
  bool aborted_ = false;
  Status error_;
  std::thread thread_;
};

}  // namespace tidal
