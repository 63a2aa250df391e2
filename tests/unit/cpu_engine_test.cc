// The host engine's contract (lib/engine/engine.h) now that a waiting
// thread may run queued items itself (lib/engine/cpu_engine.h): items run
// one at a time, in submission order, whichever thread runs them; a
// failure breaks the engine for the items after it; waits time out.
#include <atomic>
#include <chrono>
#include <mutex>
#include <new>
#include <stdexcept>
#include <set>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "lib/engine/cpu_engine.h"

namespace {

using tidal::CpuEngine;
using tidal::Deadline;
using tidal::ExecContext;
using tidal::RequestPtr;
using tidal::Status;

// An item that runs (on the progress thread) until released: while it
// runs, the queue behind it is held.
struct HeldItem {
  explicit HeldItem(CpuEngine& engine) {
    request = engine.submit("held", [this](const ExecContext&) {
      started = true;
      while (!released) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      return Status();
    });
    while (!started) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  // A failed assertion must not leave the engine held, and the item reads
  // `released`: it must end before this object does.
  ~HeldItem() {
    release();
    request->wait(Deadline::never());
  }
  void release() { released = true; }
  std::atomic<bool> started{false}, released{false};
  RequestPtr request;
};

TEST(CpuEngine, ItemsRunOneAtATimeInSubmissionOrderWhicheverThreadRunsThem) {
  CpuEngine engine(60, nullptr, 0);
  std::mutex mu;
  std::vector<int> submitted, ran;
  std::set<std::thread::id> submitters;
  std::atomic<int> running{0}, overlaps{0}, on_submitters{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      {
        std::lock_guard<std::mutex> lock(mu);
        submitters.insert(std::this_thread::get_id());
      }
      for (int i = 0; i < 300; ++i) {
        RequestPtr r;
        {
          std::lock_guard<std::mutex> lock(mu);  // the order submit() saw
          const int id = t * 1000 + i;
          submitted.push_back(id);
          r = engine.submit("item", [&, id](const ExecContext&) {
            if (running.fetch_add(1) != 0) overlaps.fetch_add(1);
            {
              std::lock_guard<std::mutex> lock2(mu);
              ran.push_back(id);
              if (submitters.count(std::this_thread::get_id())) on_submitters.fetch_add(1);
            }
            running.fetch_sub(1);
            return Status();
          });
        }
        if (i % 3 == 0) ASSERT_TRUE(engine.wait(r, Deadline::never()).ok());
      }
    });
  }
  for (auto& th : threads) th.join();
  engine.drain();
  EXPECT_EQ(overlaps.load(), 0);
  EXPECT_EQ(ran, submitted);
  // A waiter whose queue is idle runs the items up to its own: over 400
  // waits some ran on a submitting thread (a progress thread's wake-up
  // takes far longer than the waiter's next lock).
  EXPECT_GT(on_submitters.load(), 0);
  RecordProperty("items_run_by_waiters", on_submitters.load());
}

TEST(CpuEngine, AFailureBreaksTheEngineForLaterItemsWhoeverRanIt) {
  CpuEngine engine(60, nullptr, 0);
  RequestPtr bad = engine.submit("bad", [](const ExecContext&) {
    return Status(TIDAL_ERR_INTERNAL, "boom");
  });
  Status s = engine.wait(bad, Deadline::never());
  EXPECT_EQ(s.code(), TIDAL_ERR_INTERNAL);
  EXPECT_NE(s.message().find("boom"), std::string::npos) << s.message();
  bool ran = false;
  RequestPtr later = engine.submit("later", [&](const ExecContext&) {
    ran = true;
    return Status();
  });
  s = engine.wait(later, Deadline::never());
  EXPECT_EQ(s.code(), TIDAL_ERR_INTERNAL);
  EXPECT_NE(s.message().find("failed earlier"), std::string::npos) << s.message();
  EXPECT_FALSE(ran);
  EXPECT_EQ(engine.async_error().code(), TIDAL_ERR_INTERNAL);
}

// A work item that throws (a user callback, an allocation) fails its
// request with a status instead of taking the process down.
TEST(CpuEngine, AnItemThatThrowsFailsItsRequestInsteadOfTheProcess) {
  {
    CpuEngine engine(60, nullptr, 0);
    RequestPtr r = engine.submit("throws", [](const ExecContext&) -> Status {
      throw std::runtime_error("callback exploded");
    });
    Status s = engine.wait(r, Deadline::never());
    EXPECT_EQ(s.code(), TIDAL_ERR_INTERNAL);
    EXPECT_NE(s.message().find("callback exploded"), std::string::npos) << s.message();
  }
  {
    CpuEngine engine(60, nullptr, 0);
    RequestPtr r = engine.submit("allocates", [](const ExecContext&) -> Status {
      throw std::bad_alloc();
    });
    Status s = engine.wait(r, Deadline::never());
    EXPECT_EQ(s.code(), TIDAL_ERR_NO_MEMORY);
    EXPECT_NE(s.message().find("out of memory"), std::string::npos) << s.message();
  }
}

// The same when nobody waits: the progress thread runs the failing item,
// then fails the next one without running it (Request::test polls without
// running queued items, so the progress thread does all the work here).
TEST(CpuEngine, TheProgressThreadFailsItemsQueuedAfterAFailure) {
  CpuEngine engine(60, nullptr, 0);
  bool ran = false;
  HeldItem hold(engine);  // both queue behind it
  RequestPtr bad = engine.submit("bad", [](const ExecContext&) {
    return Status(TIDAL_ERR_INTERNAL, "boom");
  });
  RequestPtr later = engine.submit("later", [&](const ExecContext&) {
    ran = true;
    return Status();
  });
  hold.release();
  Status s;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!later->test(&s) && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(s.code(), TIDAL_ERR_INTERNAL);
  EXPECT_NE(s.message().find("later not run: the communicator failed earlier"),
            std::string::npos) << s.message();
  EXPECT_FALSE(ran);
  EXPECT_TRUE(bad->test(&s));
  EXPECT_NE(s.message().find("boom"), std::string::npos) << s.message();
}

TEST(CpuEngine, AWaitTimesOutWhileAnotherItemHoldsTheQueue) {
  CpuEngine engine(60, nullptr, 0);
  HeldItem slow(engine);
  RequestPtr next = engine.submit("next", [](const ExecContext&) { return Status(); });
  Status s = engine.wait(next, Deadline::after(0.05));
  EXPECT_EQ(s.code(), TIDAL_ERR_TIMEOUT) << s.message();
  slow.release();
  EXPECT_TRUE(engine.wait(next, Deadline::never()).ok());
  EXPECT_TRUE(engine.wait(slow.request, Deadline::never()).ok());
}

TEST(CpuEngine, AbortFailsQueuedItemsAWaiterHasNotTaken) {
  CpuEngine engine(60, nullptr, 0);
  HeldItem slow(engine);
  RequestPtr queued = engine.submit("queued", [](const ExecContext&) { return Status(); });
  engine.abort();
  EXPECT_EQ(engine.wait(queued, Deadline::never()).code(), TIDAL_ERR_ABORTED);
  slow.release();
  EXPECT_TRUE(engine.wait(slow.request, Deadline::never()).ok());
}

}  // namespace
