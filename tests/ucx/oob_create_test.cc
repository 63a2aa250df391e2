// tidal_comm_create_oob without a launcher: bad arguments, a failing or
// misbehaving all-gather callback, and a one-rank UCX communicator whose
// all-gather is a plain copy.
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tidal/oob.h"
#include "tidal/tidal.h"
#include "tidal/version.h"
#if TIDAL_HAVE_CUDA
#include "tidal/nccl.h"
#endif

namespace {

// One rank: gathering is copying.
int copy_allgather(const void* send, void* recv, size_t bytes, void* calls) {
  ++*static_cast<int*>(calls);
  std::memcpy(recv, send, bytes);
  return 0;
}

int failing_allgather(const void*, void*, size_t, void*) { return 42; }

// Pretends to be two ranks but fills slot 1 with slot 0's bytes, as a
// callback that ignores rank order would.
int duplicating_allgather(const void* send, void* recv, size_t bytes, void*) {
  std::memcpy(recv, send, bytes);
  std::memcpy(static_cast<char*>(recv) + bytes, send, bytes);
  return 0;
}

tidal_oob_t one_rank_oob(int* calls) {
  tidal_oob_t oob = TIDAL_OOB_INITIALIZER;
  oob.allgather = copy_allgather;
  oob.user = calls;
  oob.rank = 0;
  oob.nranks = 1;
  return oob;
}

bool ucx_built() { return tidal_backend_available("ucx") == 1; }

bool gpu_usable() {
#if TIDAL_HAVE_CUDA
  return tidal_cuda_device_available() == 1;
#else
  return false;
#endif
}

TEST(CreateOob, NullArgumentsAreInvalid) {
  int calls = 0;
  tidal_oob_t oob = one_rank_oob(&calls);
  tidal_comm_t comm = reinterpret_cast<tidal_comm_t>(&calls);
  EXPECT_EQ(tidal_comm_create_oob(nullptr, "ucx", nullptr, &comm), TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(comm, nullptr);  // cleared on error
  EXPECT_NE(std::string(tidal_last_error()).find("oob is NULL"), std::string::npos);
  EXPECT_EQ(tidal_comm_create_oob(&oob, "ucx", nullptr, nullptr), TIDAL_ERR_INVALID_ARGUMENT);
  oob.allgather = nullptr;
  EXPECT_EQ(tidal_comm_create_oob(&oob, "ucx", nullptr, &comm), TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(tidal_last_error()).find("allgather"), std::string::npos);
  EXPECT_EQ(calls, 0);
}

TEST(CreateOob, AStructNotMadeWithTheInitializerIsInvalid) {
  int calls = 0;
  tidal_oob_t oob = one_rank_oob(&calls);
  oob.size = 8;
  tidal_comm_t comm = nullptr;
  EXPECT_EQ(tidal_comm_create_oob(&oob, "ucx", nullptr, &comm), TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(tidal_last_error()).find("TIDAL_OOB_INITIALIZER"), std::string::npos);
}

TEST(CreateOob, RankOutsideTheGroupIsInvalid) {
  int calls = 0;
  for (auto rank_nranks : {std::make_pair(-1, 2), std::make_pair(2, 2), std::make_pair(0, 0)}) {
    tidal_oob_t oob = one_rank_oob(&calls);
    oob.rank = rank_nranks.first;
    oob.nranks = rank_nranks.second;
    tidal_comm_t comm = nullptr;
    EXPECT_EQ(tidal_comm_create_oob(&oob, "ucx", nullptr, &comm), TIDAL_ERR_INVALID_ARGUMENT)
        << "rank " << oob.rank << " of " << oob.nranks;
  }
  EXPECT_EQ(calls, 0);
}

TEST(CreateOob, UnknownBackendIsInvalid) {
  int calls = 0;
  tidal_oob_t oob = one_rank_oob(&calls);
  tidal_comm_t comm = nullptr;
  EXPECT_EQ(tidal_comm_create_oob(&oob, "infiniband", nullptr, &comm),
            TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(tidal_last_error()).find("infiniband"), std::string::npos);
}

TEST(CreateOob, AFailingCallbackIsATransportError) {
  if (!ucx_built()) GTEST_SKIP() << "tidal is built without UCX";
  tidal_oob_t oob = TIDAL_OOB_INITIALIZER;
  oob.allgather = failing_allgather;
  oob.rank = 0;
  oob.nranks = 1;
  tidal_comm_t comm = nullptr;
  EXPECT_EQ(tidal_comm_create_oob(&oob, "ucx", nullptr, &comm), TIDAL_ERR_TRANSPORT);
  EXPECT_NE(std::string(tidal_last_error()).find("returned 42"), std::string::npos)
      << tidal_last_error();
  EXPECT_EQ(comm, nullptr);
}

TEST(CreateOob, ACallbackThatIgnoresRankOrderIsDetected) {
  if (!ucx_built()) GTEST_SKIP() << "tidal is built without UCX";
  tidal_oob_t oob = TIDAL_OOB_INITIALIZER;
  oob.allgather = duplicating_allgather;
  oob.rank = 0;
  oob.nranks = 2;
  tidal_comm_t comm = nullptr;
  EXPECT_EQ(tidal_comm_create_oob(&oob, "ucx", nullptr, &comm), TIDAL_ERR_TRANSPORT);
  EXPECT_NE(std::string(tidal_last_error()).find("rank order"), std::string::npos)
      << tidal_last_error();
}

TEST(CreateOob, NcclWithoutAUsableGpuIsUnsupported) {
  if (gpu_usable()) GTEST_SKIP() << "a GPU is usable here";
  int calls = 0;
  tidal_oob_t oob = one_rank_oob(&calls);
  tidal_comm_t comm = nullptr;
  EXPECT_EQ(tidal_comm_create_oob(&oob, "nccl", nullptr, &comm), TIDAL_ERR_UNSUPPORTED)
      << tidal_last_error();
  EXPECT_EQ(comm, nullptr);
}

TEST(CreateOob, OneRankUcxCommunicatorIsCreatedSplitAndDestroyed) {
  int calls = 0;
  tidal_oob_t oob = one_rank_oob(&calls);
  tidal_comm_t comm = nullptr;
  tidal_status_t st = tidal_comm_create_oob(&oob, "ucx", nullptr, &comm);
  if (!ucx_built()) {
    EXPECT_EQ(st, TIDAL_ERR_UNSUPPORTED);
    return;
  }
  ASSERT_EQ(st, TIDAL_SUCCESS) << tidal_last_error();
  EXPECT_EQ(calls, 3);  // headers, addresses, then "connected"
  int rank = -1, size = 0;
  tidal_comm_rank(comm, &rank);
  tidal_comm_size(comm, &size);
  EXPECT_EQ(rank, 0);
  EXPECT_EQ(size, 1);
  tidal_comm_t child = nullptr;
  ASSERT_EQ(tidal_comm_split(comm, 3, 0, nullptr, &child), TIDAL_SUCCESS) << tidal_last_error();
  ASSERT_NE(child, nullptr);
  tidal_comm_size(child, &size);
  EXPECT_EQ(size, 1);
  EXPECT_EQ(tidal_comm_destroy(child), TIDAL_SUCCESS);
  EXPECT_EQ(tidal_comm_destroy(comm), TIDAL_SUCCESS);
}

TEST(CreateOob, NullBackendPicksUcxWithoutAGpu) {
  if (gpu_usable()) GTEST_SKIP() << "a GPU is usable here: NULL picks nccl";
  if (!ucx_built()) GTEST_SKIP() << "tidal is built without UCX";
  int calls = 0;
  tidal_oob_t oob = one_rank_oob(&calls);
  tidal_comm_t comm = nullptr;
  ASSERT_EQ(tidal_comm_create_oob(&oob, nullptr, nullptr, &comm), TIDAL_SUCCESS)
      << tidal_last_error();
  const char* backend = nullptr;
  tidal_comm_backend(comm, &backend);
  EXPECT_STREQ(backend, "ucx");
  EXPECT_EQ(tidal_comm_destroy(comm), TIDAL_SUCCESS);
}

}  // namespace
