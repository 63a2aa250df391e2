// cpu_engine.h — the host engine: a progress thread owns every transport
// call of its communicator and runs the queue in order.
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

 private:
  struct Item {
    const char* name;
    WorkFn work;
    RequestPtr request;
  };
  void run();
  void fail_locked(const Status& status);

  const double timeout_s_;
  const std::function<void()> on_abort_;
  const int rank_;
  std::mutex mu_;
  std::condition_variable cv_;       // new work or stop
  std::condition_variable idle_cv_;  // queue drained
  std::deque<Item> queue_;
  bool running_item_ = false;
  bool stop_ = false;
  bool aborted_ = false;
  Status error_;
  std::thread thread_;
};

}  // namespace tidal
