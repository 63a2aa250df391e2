// pack_worker.h — a background thread that runs a host tensor list's pack
// and unpack passes off the communicator's progress thread, in the order
// they were posted. The progress thread runs the collectives; with the
// passes here, the pack of bucket k+1 (or the unpack of bucket k-1) runs
// while bucket k is being communicated. Each pass has a request (the
// engine's completion type) that a progress-thread step waits on before
// the collective that needs it.
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>

#include "lib/core/status.h"
#include "lib/engine/request.h"

namespace tidal {

class PackWorker {
 public:
  PackWorker();
  // Runs every posted pass, then joins the thread.
  ~PackWorker();
  PackWorker(const PackWorker&) = delete;
  PackWorker& operator=(const PackWorker&) = delete;

  // Queues `pass`; the thread starts on the first post. In a process forked
  // after the thread started (which has no such thread), runs it at once.
  RequestPtr post(std::function<Status()> pass);

 private:
  void loop();

  const pid_t owner_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<std::function<Status()>, RequestPtr>> queue_;
  bool stop_ = false;
  std::unique_ptr<std::thread> thread_;  // leaked, never joined, in a forked child
};

}  // namespace tidal
