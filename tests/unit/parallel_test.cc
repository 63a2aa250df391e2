// The copy pool (lib/core/parallel.h): every part runs exactly once, calls
// from many threads at once do not mix, and a forked child still works
// (it gets a pool of its own instead of the parent's lost threads).
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "lib/core/parallel.h"

namespace {

bool every_part_once(size_t parts) {
  std::vector<std::atomic<int>> hits(parts);
  tidal::run_parallel(parts, [&](size_t p) { hits[p].fetch_add(1); });
  for (auto& h : hits)
    if (h.load() != 1) return false;
  return true;
}

TEST(Parallel, EveryPartRunsExactlyOnce) {
  EXPECT_GE(tidal::parallel_width(), 1u);
  for (size_t parts : {0u, 1u, 2u, 7u, 64u, 1000u}) EXPECT_TRUE(every_part_once(parts)) << parts;
}

TEST(Parallel, ConcurrentCallersEachGetTheirOwnParts) {
  std::vector<std::thread> callers;
  std::atomic<int> failures{0};
  for (int c = 0; c < 6; ++c) {
    callers.emplace_back([&] {
      for (int round = 0; round < 50; ++round)
        if (!every_part_once(37)) failures.fetch_add(1);
    });
  }
  for (auto& t : callers) t.join();
  EXPECT_EQ(failures.load(), 0);
}

#if defined(__SANITIZE_THREAD__)
TEST(Parallel, ForkedChildGetsAPoolOfItsOwn) {
  GTEST_SKIP() << "TSan cannot start threads after a multi-threaded fork";
}
#else
TEST(Parallel, ForkedChildGetsAPoolOfItsOwn) {
  ASSERT_TRUE(every_part_once(64));  // the parent's workers exist now
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    alarm(20);  // a hang fails the test instead of blocking it
    _exit(every_part_once(64) && every_part_once(500) ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << "the child died (signal " << WTERMSIG(status) << ")";
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_TRUE(every_part_once(64));  // the parent's pool is untouched
}
#endif

}  // namespace
