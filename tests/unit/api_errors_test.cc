// Every public entry point rejects bad input with its documented status and
// a message, and never crashes.
#include <cerrno>
#include <cstdint>
#include <new>
#include <string>
#include <system_error>
#include <vector>

#include <gtest/gtest.h>

#include "lib/api/handles.h"
#include "tidal/local.h"
#include "tidal/tidal.h"

namespace {

class ApiErrors : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(tidal_comm_create_local(2, nullptr, comms_), TIDAL_SUCCESS);
  }
  void TearDown() override {
    for (auto c : comms_) tidal_comm_destroy(c);
  }
  // Expects `rc` == want and the thread's and communicator's last error to
  // mention `needle`.
  void expect_error(tidal_status_t rc, tidal_status_t want, const std::string& needle) {
    EXPECT_EQ(rc, want) << tidal_last_error();
    std::string msg = tidal_last_error();
    EXPECT_NE(msg.find(needle), std::string::npos) << msg;
    EXPECT_NE(msg.find(tidal_status_string(want)), std::string::npos) << msg;
  }
  tidal_comm_t comms_[2] = {nullptr, nullptr};
  std::vector<float> buf_ = std::vector<float>(64);
};

TEST_F(ApiErrors, NullCommunicatorIsAnInvalidArgument) {
  int r = 0;
  expect_error(tidal_comm_rank(nullptr, &r), TIDAL_ERR_INVALID_ARGUMENT, "NULL");
  expect_error(tidal_all_reduce(buf_.data(), buf_.data(), 4, TIDAL_F32, TIDAL_SUM, nullptr,
                                nullptr),
               TIDAL_ERR_INVALID_ARGUMENT, "communicator is NULL");
  EXPECT_STREQ(tidal_comm_last_error(nullptr), "");
}

TEST_F(ApiErrors, NullBuffersWithElementsAreRejected) {
  tidal_comm_t c = comms_[0];
  expect_error(tidal_all_gather(nullptr, buf_.data(), 4, TIDAL_F32, c, nullptr),
               TIDAL_ERR_INVALID_ARGUMENT, "sendbuf is NULL");
  expect_error(tidal_reduce_scatter(buf_.data(), nullptr, 4, TIDAL_F32, TIDAL_SUM, c, nullptr),
               TIDAL_ERR_INVALID_ARGUMENT, "recvbuf is NULL");
  expect_error(tidal_send(nullptr, 4, TIDAL_F32, 1, 0, c, nullptr), TIDAL_ERR_INVALID_ARGUMENT,
               "buffer is NULL");
  // The communicator keeps the message too.
  EXPECT_NE(std::string(tidal_comm_last_error(c)).find("buffer is NULL"), std::string::npos);
}

TEST_F(ApiErrors, NegativeAndOverflowingCountsAreRejected) {
  tidal_comm_t c = comms_[0];
  const size_t negative = static_cast<size_t>(-5);
  expect_error(tidal_all_reduce(buf_.data(), buf_.data(), negative, TIDAL_F32, TIDAL_SUM, c,
                                nullptr),
               TIDAL_ERR_INVALID_ARGUMENT, "overflows");
  expect_error(tidal_all_gather(buf_.data(), buf_.data() + 8, SIZE_MAX / 4, TIDAL_F32, c,
                                nullptr),
               TIDAL_ERR_INVALID_ARGUMENT, "overflows");
  expect_error(tidal_recv(buf_.data(), negative, TIDAL_F64, 1, 0, c, nullptr),
               TIDAL_ERR_INVALID_ARGUMENT, "overflows");
}

TEST_F(ApiErrors, UnknownDtypeAndOpAreRejected) {
  tidal_comm_t c = comms_[0];
  expect_error(tidal_all_reduce(buf_.data(), buf_.data(), 4, static_cast<tidal_dtype_t>(42),
                                TIDAL_SUM, c, nullptr),
               TIDAL_ERR_INVALID_ARGUMENT, "unknown dtype 42");
  expect_error(tidal_reduce_scatter(buf_.data(), buf_.data() + 32, 4, TIDAL_F32,
                                    static_cast<tidal_op_t>(9), c, nullptr),
               TIDAL_ERR_INVALID_ARGUMENT, "unknown reduce op 9");
}

TEST_F(ApiErrors, RootAndPeerMustBeRanksOfTheCommunicator) {
  tidal_comm_t c = comms_[0];
  expect_error(tidal_broadcast(buf_.data(), buf_.data(), 4, TIDAL_F32, 2, c, nullptr),
               TIDAL_ERR_INVALID_ARGUMENT, "root 2");
  expect_error(tidal_send(buf_.data(), 4, TIDAL_F32, 5, 0, c, nullptr),
               TIDAL_ERR_INVALID_ARGUMENT, "peer 5");
  expect_error(tidal_send(buf_.data(), 4, TIDAL_F32, 0, 0, c, nullptr),
               TIDAL_ERR_INVALID_ARGUMENT, "calling rank");
  expect_error(tidal_recv(buf_.data(), 4, TIDAL_F32, 1, -1, c, nullptr),
               TIDAL_ERR_INVALID_ARGUMENT, "tag -1");
  expect_error(tidal_send(buf_.data(), 4, TIDAL_F32, 1, TIDAL_TAG_RESERVED, c, nullptr),
               TIDAL_ERR_INVALID_ARGUMENT, "tidal's own");
}

TEST_F(ApiErrors, PartlyOverlappingBuffersAreNotInPlace) {
  tidal_comm_t c = comms_[1];  // rank 1: in place is recvbuf + 1*count
  float* b = buf_.data();
  expect_error(tidal_all_gather(b + 1, b, 8, TIDAL_F32, c, nullptr), TIDAL_ERR_INVALID_ARGUMENT,
               "in place needs");
  expect_error(tidal_reduce_scatter(b, b + 1, 8, TIDAL_F32, TIDAL_SUM, c, nullptr),
               TIDAL_ERR_INVALID_ARGUMENT, "in place needs");
  expect_error(tidal_all_reduce(b, b + 2, 8, TIDAL_F32, TIDAL_SUM, c, nullptr),
               TIDAL_ERR_INVALID_ARGUMENT, "partly overlap");
  expect_error(tidal_all_to_all(b, b + 4, 8, TIDAL_F32, c, nullptr), TIDAL_ERR_INVALID_ARGUMENT,
               "overlap");
}

TEST_F(ApiErrors, UseAfterDestroyAndAfterFreeAreInvalidUsage) {
  tidal_comm_t c = nullptr;
  ASSERT_EQ(tidal_comm_create_local(1, nullptr, &c), TIDAL_SUCCESS);
  tidal_request_t req = nullptr;
  ASSERT_EQ(tidal_all_reduce(buf_.data(), buf_.data(), 4, TIDAL_F32, TIDAL_SUM, c, &req),
            TIDAL_SUCCESS);
  ASSERT_EQ(tidal_wait(req), TIDAL_SUCCESS);
  ASSERT_EQ(tidal_request_free(req), TIDAL_SUCCESS);
  expect_error(tidal_wait(req), TIDAL_ERR_INVALID_USAGE, "tidal_request_free");
  ASSERT_EQ(tidal_comm_destroy(c), TIDAL_SUCCESS);
  int r = 0;
  expect_error(tidal_comm_rank(c, &r), TIDAL_ERR_INVALID_USAGE, "tidal_comm_destroy");
  expect_error(tidal_comm_destroy(c), TIDAL_ERR_INVALID_USAGE, "not live");
}

TEST_F(ApiErrors, OutputPointersMustNotBeNull) {
  tidal_comm_t c = comms_[0];
  expect_error(tidal_comm_rank(c, nullptr), TIDAL_ERR_INVALID_ARGUMENT, "rank is NULL");
  expect_error(tidal_comm_size(c, nullptr), TIDAL_ERR_INVALID_ARGUMENT, "size is NULL");
  expect_error(tidal_comm_split(c, 0, 0, nullptr, nullptr), TIDAL_ERR_INVALID_ARGUMENT,
               "newcomm is NULL");
  expect_error(tidal_comm_get_async_error(c, nullptr), TIDAL_ERR_INVALID_ARGUMENT, "NULL");
  expect_error(tidal_test(nullptr, nullptr), TIDAL_ERR_INVALID_ARGUMENT, "request is NULL");
  expect_error(tidal_wait_all(2, nullptr), TIDAL_ERR_INVALID_ARGUMENT, "requests is NULL");
  EXPECT_EQ(tidal_request_free(nullptr), TIDAL_SUCCESS);
}

TEST(CreateLocal, RankCountOutOfRangeOrNullOutputIsRejected) {
  tidal_comm_t c[1];
  EXPECT_EQ(tidal_comm_create_local(0, nullptr, c), TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(tidal_last_error()).find("nranks 0"), std::string::npos);
  EXPECT_EQ(tidal_comm_create_local(5000, nullptr, c), TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tidal_comm_create_local(1, nullptr, nullptr), TIDAL_ERR_INVALID_ARGUMENT);
}

TEST(Version, TheLibraryReportsTheVersionItWasBuiltAs) {
  int v = -1;
  ASSERT_EQ(tidal_get_version(&v), TIDAL_SUCCESS);
  EXPECT_EQ(v, TIDAL_VERSION_CODE);
  EXPECT_EQ(v / 10000, TIDAL_VERSION_MAJOR);
  EXPECT_EQ(v / 100 % 100, TIDAL_VERSION_MINOR);
  EXPECT_EQ(tidal_get_version(nullptr), TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(tidal_last_error()).find("version is NULL"), std::string::npos);
}

TEST(Backends, AvailabilityMatchesTheBuild) {
  EXPECT_EQ(tidal_backend_available("local"), 1);
  EXPECT_EQ(tidal_backend_available("mpi"), TIDAL_HAVE_MPI);
  EXPECT_EQ(tidal_backend_available("nccl"), TIDAL_HAVE_CUDA);
  EXPECT_EQ(tidal_backend_available("carrier-pigeon"), 0);
  EXPECT_EQ(tidal_backend_available(nullptr), 0);
}

// Every C entry point is a function-try-block whose handler is
// report_exception: what a body throws becomes a status naming the entry
// point, never an exception through the C API.
TEST(ApiExceptions, WhatABodyThrowsBecomesAStatusNamingTheEntryPoint) {
  auto as_status = [](auto thrower) {
    try {
      thrower();
    } catch (...) {
      return tidal::api::report_exception("tidal_example");
    }
    return TIDAL_SUCCESS;
  };
  EXPECT_EQ(as_status([] { throw std::bad_alloc(); }), TIDAL_ERR_NO_MEMORY);
  EXPECT_NE(std::string(tidal_last_error()).find("tidal_example: out of memory"),
            std::string::npos) << tidal_last_error();
  EXPECT_EQ(as_status([] { throw std::system_error(EINVAL, std::generic_category(), "join"); }),
            TIDAL_ERR_INTERNAL);
  EXPECT_NE(std::string(tidal_last_error()).find("tidal_example: join"), std::string::npos)
      << tidal_last_error();
  EXPECT_EQ(as_status([] { throw 42; }), TIDAL_ERR_INTERNAL);
  EXPECT_NE(std::string(tidal_last_error()).find("unknown exception"), std::string::npos);
}

}  // namespace
