// The UCX transport between processes: ctest runs this file under
// mpiexec -n 2 and -n 4. MPI is only the out-of-band all-gather that
// bootstraps UCX (as a framework's store would be); every message of the
// tests travels over UCP.
#include <mpi.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "lib/transport/ucx/ucx_transport.h"
#include "tidal/oob.h"
#include "tidal/tidal.h"

namespace {

int world_rank() {
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}
int world_size() {
  int n = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &n);
  return n;
}

int mpi_allgather(const void* send, void* recv, size_t bytes, void*) {
  return MPI_Allgather(send, static_cast<int>(bytes), MPI_BYTE, recv, static_cast<int>(bytes),
                       MPI_BYTE, MPI_COMM_WORLD);
}

tidal::Status mpi_oob(const void* send, void* recv, size_t bytes) {
  if (mpi_allgather(send, recv, bytes, nullptr) == MPI_SUCCESS) return tidal::Status();
  return tidal::Status(TIDAL_ERR_TRANSPORT, "MPI_Allgather failed");
}

// A fresh transport per test: a timed-out or aborted one is unusable.
std::unique_ptr<tidal::Transport> make_transport() {
  std::unique_ptr<tidal::Transport> t;
  tidal::Status s = tidal::UcxTransport::create(world_rank(), world_size(), mpi_oob, &t);
  EXPECT_TRUE(s.ok()) << s.message();
  return t;
}

std::vector<int32_t> pattern(int rank, size_t count) {
  std::vector<int32_t> v(count);
  for (size_t i = 0; i < count; ++i) v[i] = rank * 1000003 + static_cast<int32_t>(i);
  return v;
}

const tidal::Deadline kGenerous = tidal::Deadline::after(60);

TEST(UcxTransport, ReportsItsShapeAndHasNoNativeCollectives) {
  auto t = make_transport();
  ASSERT_TRUE(t);
  EXPECT_STREQ(t->name(), "ucx");
  EXPECT_EQ(t->rank(), world_rank());
  EXPECT_EQ(t->size(), world_size());
  EXPECT_FALSE(t->has_native_collectives());
  int32_t x = 1, y = 0;
  tidal::Status s = t->all_reduce(&x, &y, 1, TIDAL_I32, TIDAL_SUM, kGenerous, nullptr);
  EXPECT_EQ(s.code(), TIDAL_ERR_UNSUPPORTED);
  EXPECT_NE(s.message().find("schedule"), std::string::npos) << s.message();
}

// Ring shifts of several sizes (eager-sized to rendezvous-sized messages),
// every op of a step in one batch.
TEST(UcxTransport, RingShiftDeliversEveryByteForSmallAndLargeMessages) {
  auto t = make_transport();
  ASSERT_TRUE(t);
  const int rank = t->rank(), n = t->size();
  const int next = (rank + 1) % n, prev = (rank + n - 1) % n;
  for (size_t count : {size_t(0), size_t(1), size_t(1000), size_t(1) << 20}) {
    auto out = pattern(rank, count);
    std::vector<int32_t> in(count, -1);
    tidal::P2POp ops[] = {{tidal::P2POp::kSend, out.data(), count * 4, next, 3},
                          {tidal::P2POp::kRecv, in.data(), count * 4, prev, 3}};
    tidal::Status s = t->p2p(ops, 2, kGenerous, nullptr);
    ASSERT_TRUE(s.ok()) << s.message();
    EXPECT_EQ(in, pattern(prev, count)) << "count " << count;
  }
}

TEST(UcxTransport, MessagesWithTheSameTagMatchInOrderAndTagsStayApart) {
  auto t = make_transport();
  ASSERT_TRUE(t);
  const int rank = t->rank(), n = t->size();
  const int next = (rank + 1) % n, prev = (rank + n - 1) % n;
  int32_t out[3] = {rank * 10 + 1, rank * 10 + 2, rank * 10 + 3};
  int32_t in[3] = {-1, -1, -1};
  // Receives posted in a different tag order than the sends.
  tidal::P2POp ops[] = {{tidal::P2POp::kSend, &out[0], 4, next, 5},
                        {tidal::P2POp::kSend, &out[1], 4, next, 5},
                        {tidal::P2POp::kSend, &out[2], 4, next, 9},
                        {tidal::P2POp::kRecv, &in[2], 4, prev, 9},
                        {tidal::P2POp::kRecv, &in[0], 4, prev, 5},
                        {tidal::P2POp::kRecv, &in[1], 4, prev, 5}};
  tidal::Status s = t->p2p(ops, 6, kGenerous, nullptr);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(in[0], prev * 10 + 1);
  EXPECT_EQ(in[1], prev * 10 + 2);
  EXPECT_EQ(in[2], prev * 10 + 3);
}

// Each rank sends in one batch and receives in a later one: only eager
// sends make this finish (both ranks send first).
TEST(UcxTransport, EagerSendsCompleteBeforeTheReceiverPosts) {
  auto t = make_transport();
  ASSERT_TRUE(t);
  const int rank = t->rank(), n = t->size();
  const int next = (rank + 1) % n, prev = (rank + n - 1) % n;
  for (size_t count : {size_t(16), size_t(1) << 20}) {
    auto out = pattern(rank, count);
    std::vector<int32_t> in(count, -1);
    tidal::P2POp send{tidal::P2POp::kSend, out.data(), count * 4, next, 11, true};
    ASSERT_TRUE(t->p2p(&send, 1, tidal::Deadline::after(10), nullptr).ok());
    std::fill(out.begin(), out.end(), -7);  // the eager copy must be what travels
    tidal::P2POp recv{tidal::P2POp::kRecv, in.data(), count * 4, prev, 11};
    tidal::Status s = t->p2p(&recv, 1, kGenerous, nullptr);
    ASSERT_TRUE(s.ok()) << s.message();
    EXPECT_EQ(in, pattern(prev, count)) << "count " << count;
  }
}

TEST(UcxTransport, ReceivingAMessageOfTheWrongSizeIsAMismatch) {
  auto t = make_transport();
  ASSERT_TRUE(t);
  const int rank = t->rank(), n = t->size();
  const int next = (rank + 1) % n, prev = (rank + n - 1) % n;
  // Rank r sends 8 bytes; its receiver expects 4 (truncation) on even
  // ranks and 16 (short message) on odd ones.
  int64_t out = rank;
  std::vector<char> in(16);
  const size_t expect = rank % 2 == 0 ? 4 : 16;
  tidal::P2POp ops[] = {{tidal::P2POp::kSend, &out, 8, next, 1},
                        {tidal::P2POp::kRecv, in.data(), expect, prev, 1}};
  tidal::Status s = t->p2p(ops, 2, kGenerous, nullptr);
  EXPECT_EQ(s.code(), TIDAL_ERR_MISMATCH) << s.message();
  EXPECT_NE(s.message().find("expected"), std::string::npos) << s.message();
}

TEST(UcxTransport, AReceiveNoPeerSendsTimesOut) {
  auto t = make_transport();
  ASSERT_TRUE(t);
  if (t->rank() == 0) {
    int32_t x = 0;
    tidal::P2POp recv{tidal::P2POp::kRecv, &x, 4, t->size() - 1, 77};
    auto start = std::chrono::steady_clock::now();
    tidal::Status s = t->p2p(&recv, 1, tidal::Deadline::after(0.3), nullptr);
    double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_EQ(s.code(), TIDAL_ERR_TIMEOUT) << s.message();
    EXPECT_GE(waited, 0.3);
    // Unusable afterwards, and says so.
    EXPECT_EQ(t->p2p(&recv, 1, tidal::Deadline::after(0.1), nullptr).code(),
              TIDAL_ERR_INVALID_USAGE);
  }
  MPI_Barrier(MPI_COMM_WORLD);
}

TEST(UcxTransport, AbortWakesABlockedReceive) {
  auto t = make_transport();
  ASSERT_TRUE(t);
  if (t->rank() == 0) {
    int32_t x = 0;
    tidal::P2POp recv{tidal::P2POp::kRecv, &x, 4, t->size() - 1, 78};
    std::thread aborter([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      t->abort();
    });
    tidal::Status s = t->p2p(&recv, 1, kGenerous, nullptr);
    aborter.join();
    EXPECT_EQ(s.code(), TIDAL_ERR_ABORTED) << s.message();
  }
  MPI_Barrier(MPI_COMM_WORLD);
}

// A rank that aborts with an unmatched eager send still destroys cleanly
// (it cancels the send instead of waiting for a receiver).
TEST(UcxTransport, AbortedTransportWithAnUnreceivedEagerSendIsDestroyed) {
  auto t = make_transport();
  ASSERT_TRUE(t);
  if (t->rank() == 0) {
    std::vector<char> big(size_t(1) << 20, 'x');
    tidal::P2POp send{tidal::P2POp::kSend, big.data(), big.size(), t->size() - 1, 99, true};
    ASSERT_TRUE(t->p2p(&send, 1, kGenerous, nullptr).ok());
    t->abort();
    int32_t x = 0;
    tidal::P2POp recv{tidal::P2POp::kRecv, &x, 4, t->size() - 1, 99};
    EXPECT_EQ(t->p2p(&recv, 1, kGenerous, nullptr).code(), TIDAL_ERR_ABORTED);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  t.reset();  // must return: the eager send is cancelled, not flushed
  MPI_Barrier(MPI_COMM_WORLD);
}

TEST(UcxTransport, BadPeerIsAnInvalidArgument) {
  auto t = make_transport();
  ASSERT_TRUE(t);
  int32_t x = 0;
  tidal::P2POp send{tidal::P2POp::kSend, &x, 4, t->size(), 0};
  EXPECT_EQ(t->p2p(&send, 1, kGenerous, nullptr).code(), TIDAL_ERR_INVALID_ARGUMENT);
}

// Even/odd halves (key = -rank reverses the order), then a ring inside
// each half while the parent stays usable; a rank with color < 0 gets none.
TEST(UcxTransport, SplitBuildsWorkingChildrenOverTheSameEndpoints) {
  auto t = make_transport();
  ASSERT_TRUE(t);
  const int rank = t->rank(), n = t->size();
  std::unique_ptr<tidal::Transport> half;
  ASSERT_TRUE(t->split(rank % 2, -rank, kGenerous, &half).ok());
  ASSERT_TRUE(half);
  const int hsize = (n + 1 - rank % 2) / 2;
  EXPECT_EQ(half->size(), hsize);
  EXPECT_EQ(half->rank(), hsize - 1 - rank / 2);
  const int hr = half->rank();
  const int next = (hr + 1) % hsize, prev = (hr + hsize - 1) % hsize;
  int32_t out = rank, in = -1;
  tidal::P2POp ops[] = {{tidal::P2POp::kSend, &out, 4, next, 0},
                        {tidal::P2POp::kRecv, &in, 4, prev, 0}};
  ASSERT_TRUE(half->p2p(ops, 2, kGenerous, nullptr).ok());
  // prev in the reversed half is the next-higher world rank of my parity.
  const int prev_world = ((hsize - 1 - prev) * 2) + rank % 2;
  EXPECT_EQ(in, prev_world);

  std::unique_ptr<tidal::Transport> none;
  ASSERT_TRUE(t->split(rank == 0 ? -1 : 0, 0, kGenerous, &none).ok());
  EXPECT_EQ(none == nullptr, rank == 0);
  if (none) EXPECT_EQ(none->size(), n - 1);
}

TEST(UcxTransport, SignatureCheckNamesTheRankThatDisagrees) {
  auto t = make_transport();
  ASSERT_TRUE(t);
  tidal::CollSignature sig{0, TIDAL_F32, 0, 0, 100};
  EXPECT_TRUE(t->check_signature(sig, kGenerous).ok());
  if (t->rank() == t->size() - 1) sig.count = 101;
  tidal::Status s = t->check_signature(sig, kGenerous);
  EXPECT_EQ(s.code(), TIDAL_ERR_MISMATCH);
  EXPECT_NE(s.message().find("rank " + std::to_string(t->size() - 1)), std::string::npos)
      << s.message();
}

// The public path: tidal_comm_create_oob + tidal_send/recv requests.
TEST(UcxCommunicator, CreateOobThenSendRecvAroundARing) {
  tidal_oob_t oob = TIDAL_OOB_INITIALIZER;
  oob.allgather = mpi_allgather;
  oob.rank = world_rank();
  oob.nranks = world_size();
  tidal_comm_t comm = nullptr;
  ASSERT_EQ(tidal_comm_create_oob(&oob, "ucx", nullptr, &comm), TIDAL_SUCCESS)
      << tidal_last_error();
  const char* backend = nullptr;
  tidal_comm_backend(comm, &backend);
  EXPECT_STREQ(backend, "ucx");
  const int rank = oob.rank, n = oob.nranks;
  const int next = (rank + 1) % n, prev = (rank + n - 1) % n;
  auto out = pattern(rank, 4099);
  std::vector<int32_t> in(out.size(), -1);
  tidal_request_t reqs[2];
  ASSERT_EQ(tidal_send(out.data(), out.size(), TIDAL_I32, next, 7, comm, &reqs[0]),
            TIDAL_SUCCESS);
  ASSERT_EQ(tidal_recv(in.data(), in.size(), TIDAL_I32, prev, 7, comm, &reqs[1]),
            TIDAL_SUCCESS);
  ASSERT_EQ(tidal_wait_all(2, reqs), TIDAL_SUCCESS) << tidal_last_error();
  for (auto r : reqs) tidal_request_free(r);
  EXPECT_EQ(in, pattern(prev, out.size()));
  EXPECT_EQ(tidal_comm_destroy(comm), TIDAL_SUCCESS);
}

// UCX writes what it receives: a batch that asks a receive to fold is
// refused before anything is posted (the schedules stage and fold instead).
TEST(UcxTransport, AReceiveThatAsksToFoldIsUnsupported) {
  auto t = make_transport();
  ASSERT_TRUE(t);
  EXPECT_FALSE(t->folds_on_receive());
  float x = 0, addend = 1;
  const tidal::P2PFold fold{TIDAL_F32, TIDAL_SUM, &addend};
  tidal::P2POp recv{tidal::P2POp::kRecv, &x, 4, (t->rank() + 1) % t->size(), 5};
  recv.fold = &fold;
  tidal::Status s = t->p2p(&recv, 1, kGenerous, nullptr);
  EXPECT_EQ(s.code(), TIDAL_ERR_UNSUPPORTED) << s.message();
  EXPECT_NE(s.message().find("fold"), std::string::npos) << s.message();
  MPI_Barrier(MPI_COMM_WORLD);
}

}  // namespace
