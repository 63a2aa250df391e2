#include "lib/core/parallel.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace tidal {
namespace {

// One run_parallel call: workers and the caller claim parts until none are
// left; the caller waits for the stragglers.
struct Job {
  const std::function<void(size_t)>* body;
  size_t parts;
  std::atomic<size_t> next{0};
  std::atomic<size_t> done{0};
  std::mutex mu;
  std::condition_variable cv;

  // Claims and runs parts; true when this call finished the last one.
  void work() {
    for (size_t p; (p = next.fetch_add(1)) < parts;) {
      (*body)(p);
      if (done.fetch_add(1) + 1 == parts) {
        std::lock_guard<std::mutex> lock(mu);
        cv.notify_all();
      }
    }
  }
};

class Pool {
 public:
  Pool() : owner_(getpid()) {
    unsigned hw = std::max(1u, std::thread::hardware_concurrency());
    width_ = std::min<size_t>(hw, 16);
    // TIDAL_PACK_THREADS caps the threads of one pack: several processes
    // per node (one per GPU, or MPI ranks on a small host) share the cores.
    if (const char* env = std::getenv("TIDAL_PACK_THREADS")) {
      long v = std::strtol(env, nullptr, 10);
      if (v >= 1) width_ = std::min<size_t>(width_, static_cast<size_t>(v));
    }
    // Never destroyed (see instance()): the threads live for the process.
    for (size_t i = 1; i < width_; ++i) std::thread([this] { loop(); }).detach();
  }
  size_t width() const { return width_; }
  pid_t owner() const { return owner_; }

  void run(const std::shared_ptr<Job>& job) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back(job);
    }
    cv_.notify_all();
    job->work();
    std::unique_lock<std::mutex> lock(job->mu);
    job->cv.wait(lock, [&] { return job->done.load() == job->parts; });
  }

 private:
  void loop() {
    for (;;) {
      std::shared_ptr<Job> job;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return !queue_.empty(); });
        job = queue_.front();
        // Leave the job queued while parts remain so other workers join.
        if (job->next.load() >= job->parts) {
          queue_.pop_front();
          continue;
        }
      }
      job->work();
    }
  }

  const pid_t owner_;  // the process whose threads serve this pool
  size_t width_ = 1;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Job>> queue_;
};

std::atomic<Pool*> g_pool{nullptr};
std::mutex g_pool_mu;

// The process's pool, never destroyed (detached workers use it). A child
// made by fork() (a data-loader worker, say) has none of the parent's
// worker threads and perhaps a mutex a worker held at the fork, so it gets
// a fresh pool of its own; the parent's copy is left untouched.
Pool& instance() {
  Pool* pool = g_pool.load(std::memory_order_acquire);
  if (pool && pool->owner() == getpid()) return *pool;
  std::lock_guard<std::mutex> lock(g_pool_mu);
  pool = g_pool.load(std::memory_order_relaxed);
  if (!pool || pool->owner() != getpid()) {
    pool = new Pool;
    g_pool.store(pool, std::memory_order_release);
  }
  return *pool;
}

}  // namespace

size_t parallel_width() { return instance().width(); }

void run_parallel(size_t parts, const std::function<void(size_t)>& body) {
  if (parts == 0) return;
  if (parts == 1 || parallel_width() == 1) {
    for (size_t p = 0; p < parts; ++p) body(p);
    return;
  }
  auto job = std::make_shared<Job>();
  job->body = &body;
  job->parts = parts;
  instance().run(job);
}

}  // namespace tidal
