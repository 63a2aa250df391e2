// Communicator life cycle on local ranks: timeouts, abort, split, argument
// mismatches across ranks, request polling and detaching.
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/common/local_ranks.h"
#include "tidal/local.h"
#include "tidal/tidal.h"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

TEST(Timeout, RanksWaitingForARankThatNeverJoinsTimeOutWithinTwiceTheTimeout) {
  tidal_config_t cfg = TIDAL_CONFIG_INITIALIZER;
  cfg.timeout_s = 1.0;
  const int n = 4;
  std::vector<tidal_comm_t> comms(n);
  ASSERT_EQ(tidal_comm_create_local(n, &cfg, comms.data()), TIDAL_SUCCESS);
  std::vector<tidal_status_t> rc(n, TIDAL_SUCCESS);
  std::vector<double> took(n, 0);
  std::vector<std::thread> threads;
  for (int r = 0; r < n - 1; ++r) {  // rank n-1 never joins
    threads.emplace_back([&, r] {
      float x = 1, y = 0;
      auto t0 = Clock::now();
      rc[r] = tidal_all_reduce(&x, &y, 1, TIDAL_F32, TIDAL_SUM, comms[r], nullptr);
      took[r] = seconds_since(t0);
    });
  }
  for (auto& t : threads) t.join();
  for (int r = 0; r < n - 1; ++r) {
    EXPECT_EQ(rc[r], TIDAL_ERR_TIMEOUT) << "rank " << r;
    EXPECT_LT(took[r], 2 * cfg.timeout_s) << "rank " << r;
    EXPECT_NE(std::string(tidal_comm_last_error(comms[r])).find("rank(s) 3"),
              std::string::npos) << tidal_comm_last_error(comms[r]);
    tidal_status_t async = TIDAL_SUCCESS;
    ASSERT_EQ(tidal_comm_get_async_error(comms[r], &async), TIDAL_SUCCESS);
    EXPECT_EQ(async, TIDAL_ERR_TIMEOUT);
  }
  // The communicator is broken: later calls fail fast with the same status.
  float x = 1, y = 0;
  auto t0 = Clock::now();
  EXPECT_EQ(tidal_all_reduce(&x, &y, 1, TIDAL_F32, TIDAL_SUM, comms[0], nullptr),
            TIDAL_ERR_TIMEOUT);
  EXPECT_LT(seconds_since(t0), 0.5);
  for (auto c : comms) EXPECT_EQ(tidal_comm_abort(c), TIDAL_SUCCESS);
  for (auto c : comms) EXPECT_EQ(tidal_comm_destroy(c), TIDAL_SUCCESS);
}

TEST(Abort, AbortReleasesAWaiterAndFailsQueuedWork) {
  tidal_config_t cfg = TIDAL_CONFIG_INITIALIZER;
  cfg.timeout_s = 120;  // abort, not the timeout, must end the wait
  tidal_comm_t comms[2];
  ASSERT_EQ(tidal_comm_create_local(2, &cfg, comms), TIDAL_SUCCESS);
  float x[4] = {1, 2, 3, 4}, y[4];
  tidal_request_t first = nullptr, second = nullptr;
  ASSERT_EQ(tidal_all_reduce(x, y, 4, TIDAL_F32, TIDAL_SUM, comms[0], &first), TIDAL_SUCCESS);
  ASSERT_EQ(tidal_all_reduce(x, y, 4, TIDAL_F32, TIDAL_SUM, comms[0], &second), TIDAL_SUCCESS);
  std::thread aborter([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    tidal_comm_abort(comms[0]);
  });
  auto t0 = Clock::now();
  EXPECT_EQ(tidal_wait(first), TIDAL_ERR_ABORTED);
  EXPECT_EQ(tidal_wait(second), TIDAL_ERR_ABORTED);
  EXPECT_LT(seconds_since(t0), 10.0);
  aborter.join();
  // The peer learns about the abort too instead of waiting for its timeout.
  EXPECT_EQ(tidal_all_reduce(x, y, 4, TIDAL_F32, TIDAL_SUM, comms[1], nullptr), TIDAL_ERR_ABORTED);
  tidal_request_free(first);
  tidal_request_free(second);
  for (auto c : comms) EXPECT_EQ(tidal_comm_destroy(c), TIDAL_SUCCESS);
}

TEST(Split, ColorsFormGroupsOrderedByKeyAndNoColorGivesNull) {
  tidal_testing::run_local_ranks(8, [](tidal_comm_t comm, int rank) {
    int color = rank == 7 ? TIDAL_SPLIT_NOCOLOR : rank % 3;
    tidal_comm_t sub = nullptr;
    ASSERT_EQ(tidal_comm_split(comm, color, 100 - rank, nullptr, &sub), TIDAL_SUCCESS)
        << tidal_last_error();
    if (rank == 7) {
      EXPECT_EQ(sub, nullptr);
      return;
    }
    ASSERT_NE(sub, nullptr);
    // Members of color c: ranks c, c+3, c+6 (< 7); key 100-rank reverses them.
    std::vector<int> members;
    for (int r = color; r < 7; r += 3) members.push_back(r);
    int srank = -1, ssize = 0;
    tidal_comm_rank(sub, &srank);
    tidal_comm_size(sub, &ssize);
    EXPECT_EQ(ssize, static_cast<int>(members.size()));
    int pos = 0;
    while (members[pos] != rank) ++pos;
    EXPECT_EQ(srank, ssize - 1 - pos);
    int32_t v = rank, sum = 0, want = 0;
    for (int m : members) want += m;
    ASSERT_EQ(tidal_all_reduce(&v, &sum, 1, TIDAL_I32, TIDAL_SUM, sub, nullptr), TIDAL_SUCCESS);
    EXPECT_EQ(sum, want);
    EXPECT_EQ(tidal_comm_destroy(sub), TIDAL_SUCCESS);
  });
}

TEST(Mismatch, RanksCallingDifferentCountsAllGetAMismatchNamingTheRank) {
  tidal_testing::run_local_ranks(3, [](tidal_comm_t comm, int rank) {
    std::vector<float> x(16, 1), y(16);
    size_t count = rank == 2 ? 9 : 8;
    EXPECT_EQ(tidal_all_reduce(x.data(), y.data(), count, TIDAL_F32, TIDAL_SUM, comm, nullptr),
              TIDAL_ERR_MISMATCH);
    std::string msg = tidal_comm_last_error(comm);
    EXPECT_NE(msg.find("rank 2 called all_reduce(count=9"), std::string::npos) << msg;
  });
}

TEST(Mismatch, DifferentCollectivesOrDtypesAreCaught) {
  tidal_testing::run_local_ranks(2, [](tidal_comm_t comm, int rank) {
    std::vector<float> x(16, 1), y(32);
    tidal_status_t rc = rank == 0
        ? tidal_all_reduce(x.data(), y.data(), 8, TIDAL_F32, TIDAL_SUM, comm, nullptr)
        : tidal_all_gather(x.data(), y.data(), 8, TIDAL_F32, comm, nullptr);
    EXPECT_EQ(rc, TIDAL_ERR_MISMATCH);
  });
}

TEST(PointToPoint, AReceiveOfTheWrongSizeIsAMismatch) {
  tidal_testing::run_local_ranks(2, [](tidal_comm_t comm, int rank) {
    std::vector<int32_t> b(8, rank);
    tidal_status_t rc = rank == 0 ? tidal_send(b.data(), 8, TIDAL_I32, 1, 3, comm, nullptr)
                                  : tidal_recv(b.data(), 4, TIDAL_I32, 0, 3, comm, nullptr);
    if (rank == 1) {
      EXPECT_EQ(rc, TIDAL_ERR_MISMATCH);
      EXPECT_NE(std::string(tidal_last_error()).find("sent 32 bytes"), std::string::npos);
    } else {
      EXPECT_EQ(rc, TIDAL_SUCCESS);  // an eager send completes once buffered
    }
  });
}

TEST(PointToPoint, AReceiveFromARankThatNeverSendsTimesOutNamingBoth) {
  tidal_config_t cfg = TIDAL_CONFIG_INITIALIZER;
  cfg.timeout_s = 0.3;
  tidal_comm_t comms[2];
  ASSERT_EQ(tidal_comm_create_local(2, &cfg, comms), TIDAL_SUCCESS);
  std::vector<int32_t> b(4);
  auto t0 = Clock::now();
  EXPECT_EQ(tidal_recv(b.data(), 4, TIDAL_I32, 0, 5, comms[1], nullptr), TIDAL_ERR_TIMEOUT);
  EXPECT_LT(seconds_since(t0), 10.0);
  EXPECT_NE(std::string(tidal_comm_last_error(comms[1]))
                .find("rank 1 timed out receiving 16 bytes from rank 0 (tag 5)"),
            std::string::npos)
      << tidal_comm_last_error(comms[1]);
  for (auto c : comms) EXPECT_EQ(tidal_comm_destroy(c), TIDAL_SUCCESS);
}

TEST(Requests, TestPollsUntilDoneAndRequestsCompleteInIssueOrder) {
  tidal_testing::run_local_ranks(2, [](tidal_comm_t comm, int rank) {
    const int k = 6;
    std::vector<std::vector<int32_t>> in(k, std::vector<int32_t>(1000, rank + 1));
    std::vector<std::vector<int32_t>> out(k, std::vector<int32_t>(1000));
    std::vector<tidal_request_t> reqs(k);
    for (int i = 0; i < k; ++i) {
      ASSERT_EQ(tidal_all_reduce(in[i].data(), out[i].data(), 1000, TIDAL_I32, TIDAL_SUM, comm,
                                 &reqs[i]), TIDAL_SUCCESS);
    }
    // Wait on the last: every earlier one must be complete too.
    ASSERT_EQ(tidal_wait(reqs[k - 1]), TIDAL_SUCCESS);
    for (int i = 0; i < k; ++i) {
      int done = 0;
      ASSERT_EQ(tidal_test(reqs[i], &done), TIDAL_SUCCESS);
      EXPECT_EQ(done, 1) << "request " << i;
      EXPECT_EQ(out[i][999], 3);
      tidal_request_free(reqs[i]);
    }
  });
}

TEST(Requests, AFreedIncompleteRequestStillRunsToCompletion) {
  tidal_testing::run_local_ranks(2, [](tidal_comm_t comm, int rank) {
    std::vector<int32_t> x(100, rank), y(100, -1);
    tidal_request_t r = nullptr;
    ASSERT_EQ(tidal_all_reduce(x.data(), y.data(), 100, TIDAL_I32, TIDAL_MAX, comm, &r),
              TIDAL_SUCCESS);
    ASSERT_EQ(tidal_request_free(r), TIDAL_SUCCESS);
    int32_t z = 0, w = 0;  // a later blocking call orders after the detached one
    ASSERT_EQ(tidal_all_reduce(&z, &w, 1, TIDAL_I32, TIDAL_SUM, comm, nullptr), TIDAL_SUCCESS);
    EXPECT_EQ(y[42], 1);
  });
}

TEST(Destroy, DestroyWaitsForQueuedWork) {
  tidal_comm_t comms[2];
  ASSERT_EQ(tidal_comm_create_local(2, nullptr, comms), TIDAL_SUCCESS);
  std::vector<int32_t> x0(4096, 1), x1(4096, 2), y0(4096), y1(4096);
  tidal_request_t r0, r1;
  ASSERT_EQ(tidal_all_reduce(x0.data(), y0.data(), 4096, TIDAL_I32, TIDAL_SUM, comms[0], &r0),
            TIDAL_SUCCESS);
  ASSERT_EQ(tidal_all_reduce(x1.data(), y1.data(), 4096, TIDAL_I32, TIDAL_SUM, comms[1], &r1),
            TIDAL_SUCCESS);
  std::thread t([&] { EXPECT_EQ(tidal_comm_destroy(comms[1]), TIDAL_SUCCESS); });
  EXPECT_EQ(tidal_comm_destroy(comms[0]), TIDAL_SUCCESS);
  t.join();
  EXPECT_EQ(tidal_wait(r0), TIDAL_SUCCESS);  // requests outlive their communicator
  EXPECT_EQ(y0[4095], 3);
  EXPECT_EQ(y1[0], 3);
  tidal_request_free(r0);
  tidal_request_free(r1);
}

TEST(Backend, LocalCommunicatorsSayTheirBackend) {
  tidal_comm_t c;
  ASSERT_EQ(tidal_comm_create_local(1, nullptr, &c), TIDAL_SUCCESS);
  const char* name = nullptr;
  ASSERT_EQ(tidal_comm_backend(c, &name), TIDAL_SUCCESS);
  EXPECT_STREQ(name, "local");
  tidal_comm_destroy(c);
}

}  // namespace
