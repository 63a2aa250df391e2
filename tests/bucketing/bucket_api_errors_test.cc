// The tensor-list and hook C API's argument errors that the multi-rank
// suites do not reach (one local rank is enough: these are checked before
// anything is communicated): NULL arguments, indexes out of range, an
// unknown bucket order or op, handles used after destroy, and handles
// destroyed after what they depend on. Each is a clear status, never a
// crash; the sanitizer builds run this file too. Also what
// tidal_tensor_list_buckets_of returns for a tensor split across buckets,
// and tidal_param_release (a released bucket is gathered again).
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tidal/bucket.h"
#include "tidal/local.h"
#include "tidal/overlap.h"

namespace {

void expect_error(tidal_status_t rc, tidal_status_t want, const char* text) {
  EXPECT_EQ(rc, want) << tidal_last_error();
  EXPECT_NE(std::string(tidal_last_error()).find(text), std::string::npos)
      << "wanted '" << text << "' in: " << tidal_last_error();
}

class BucketApiErrors : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(tidal_comm_create_local(1, nullptr, &comm_), TIDAL_SUCCESS) << tidal_last_error();
    for (size_t i = 0; i < 3; ++i) descs_.push_back({data_[i].data(), data_[i].size(), TIDAL_F32});
    options_.bucket_bytes = 4096;  // tensor 1 (10000 floats) spans several buckets
    options_.first_bucket_bytes = 0;
    ASSERT_EQ(tidal_tensor_list_create(comm_, descs_.data(), descs_.size(), &options_, &list_),
              TIDAL_SUCCESS)
        << tidal_last_error();
  }
  void TearDown() override {
    if (list_) EXPECT_EQ(tidal_tensor_list_destroy(list_), TIDAL_SUCCESS);
    if (comm_) EXPECT_EQ(tidal_comm_destroy(comm_), TIDAL_SUCCESS);
  }

  // This rank's shard buffer of the fixture's list.
  std::vector<unsigned char> shard_buffer() {
    size_t bytes = 0;
    EXPECT_EQ(tidal_tensor_list_shard_bytes(list_, &bytes), TIDAL_SUCCESS);
    return std::vector<unsigned char>(bytes);
  }

  tidal_comm_t comm_ = nullptr;
  std::vector<float> data_[3] = {std::vector<float>(10), std::vector<float>(10000),
                                 std::vector<float>(7)};
  std::vector<tidal_tensor_desc_t> descs_;
  tidal_bucket_options_t options_ = TIDAL_BUCKET_OPTIONS_INITIALIZER;
  tidal_tensor_list_t list_ = nullptr;
};

TEST_F(BucketApiErrors, CreateRejectsNullArgumentsAndAnUnknownOrder) {
  tidal_tensor_list_t list = nullptr;
  expect_error(tidal_tensor_list_create(comm_, descs_.data(), descs_.size(), nullptr, nullptr),
               TIDAL_ERR_INVALID_ARGUMENT, "NULL argument");
  expect_error(tidal_tensor_list_create(comm_, nullptr, 2, nullptr, &list),
               TIDAL_ERR_INVALID_ARGUMENT, "NULL argument");
  EXPECT_EQ(tidal_tensor_list_create(nullptr, descs_.data(), descs_.size(), nullptr, &list),
            TIDAL_ERR_INVALID_ARGUMENT);
  std::vector<tidal_tensor_desc_t> with_null = descs_;
  with_null[2].data = nullptr;
  expect_error(tidal_tensor_list_create(comm_, with_null.data(), with_null.size(), nullptr, &list),
               TIDAL_ERR_INVALID_ARGUMENT, "tensor 2 has a NULL pointer");
  // Sizes no process holds are refused before the plan grows with them.
  tidal_tensor_desc_t huge{data_[0].data(), size_t(1) << 50, TIDAL_F32};
  expect_error(tidal_tensor_list_create(comm_, &huge, 1, nullptr, &list), TIDAL_ERR_NO_MEMORY,
               "more than one process can address");
  // 512 MiB in buckets of 4 bytes: each holds one 16-byte aligned unit, 33.6M buckets.
  tidal_tensor_desc_t many{data_[0].data(), size_t(1) << 27, TIDAL_F32};
  tidal_bucket_options_t tiny = TIDAL_BUCKET_OPTIONS_INITIALIZER;
  tiny.bucket_bytes = 4;
  expect_error(tidal_tensor_list_create(comm_, &many, 1, &tiny, &list),
               TIDAL_ERR_INVALID_ARGUMENT, "raise bucket_bytes");
  EXPECT_EQ(list, nullptr);
  tidal_bucket_options_t o = TIDAL_BUCKET_OPTIONS_INITIALIZER;
  o.order = 7;
  expect_error(tidal_tensor_list_create(comm_, descs_.data(), descs_.size(), &o, &list),
               TIDAL_ERR_INVALID_ARGUMENT, "unknown bucket order 7");
  EXPECT_EQ(list, nullptr);
}

TEST_F(BucketApiErrors, IndexesOutOfRangeAndNullOutputsAreInvalidArguments) {
  size_t nb = 0;
  ASSERT_EQ(tidal_tensor_list_num_buckets(list_, &nb), TIDAL_SUCCESS);
  tidal_bucket_info_t info;
  expect_error(tidal_tensor_list_bucket_info(list_, nb, &info), TIDAL_ERR_INVALID_ARGUMENT,
               "out of range");
  void* data = nullptr;
  expect_error(tidal_tensor_list_data(list_, 3, &data), TIDAL_ERR_INVALID_ARGUMENT,
               "tensor index 3 out of range (list has 3)");
  size_t first = 0, last = 0, n = 0;
  expect_error(tidal_tensor_list_buckets_of(list_, 3, &first, &last), TIDAL_ERR_INVALID_ARGUMENT,
               "tensor index 3");
  expect_error(tidal_tensor_list_buckets_of(list_, 0, nullptr, &last), TIDAL_ERR_INVALID_ARGUMENT,
               "NULL");
  expect_error(tidal_tensor_list_buckets_of(list_, 0, &first, nullptr),
               TIDAL_ERR_INVALID_ARGUMENT, "NULL");
  expect_error(tidal_tensor_list_shard_segments(list_, 3, nullptr, 0, &n),
               TIDAL_ERR_INVALID_ARGUMENT, "tensor index 3");
  expect_error(tidal_tensor_list_shard_segments(list_, 0, nullptr, 4, &n),
               TIDAL_ERR_INVALID_ARGUMENT, "NULL");
  expect_error(tidal_tensor_list_num_buckets(list_, nullptr), TIDAL_ERR_INVALID_ARGUMENT, "NULL");
}

TEST_F(BucketApiErrors, BucketsOfATensorSplitAcrossBucketsSpanItsPieces) {
  size_t nb = 0, first = 99, last = 99;
  ASSERT_EQ(tidal_tensor_list_num_buckets(list_, &nb), TIDAL_SUCCESS);
  ASSERT_EQ(tidal_tensor_list_buckets_of(list_, 1, &first, &last), TIDAL_SUCCESS)
      << tidal_last_error();
  EXPECT_LT(first, last) << "40000 bytes in buckets of 4096 span several";
  EXPECT_LT(last, nb);
  // Every element of tensor 1 lies in [first, last]: its shard segments
  // (on one rank, the whole tensor) say which buckets hold them.
  size_t n = 0;
  ASSERT_EQ(tidal_tensor_list_shard_segments(list_, 1, nullptr, 0, &n), TIDAL_SUCCESS);
  std::vector<tidal_shard_segment_t> segs(n);
  ASSERT_EQ(tidal_tensor_list_shard_segments(list_, 1, segs.data(), n, &n), TIDAL_SUCCESS);
  size_t covered = 0;
  for (const auto& s : segs) {
    EXPECT_GE(s.bucket, first);
    EXPECT_LE(s.bucket, last);
    covered += s.count;
  }
  EXPECT_EQ(covered, 10000u);
  ASSERT_EQ(tidal_tensor_list_buckets_of(list_, 2, &first, &last), TIDAL_SUCCESS);
  EXPECT_EQ(first, last) << "7 floats fit in one bucket";
}

TEST_F(BucketApiErrors, AnUnknownOpIsAnInvalidArgumentAndQueuesNothing) {
  std::vector<unsigned char> shard = shard_buffer();
  tidal_request_t req = reinterpret_cast<tidal_request_t>(shard.data());  // must be cleared
  expect_error(tidal_bucketed_reduce_scatter(list_, shard.data(), TIDAL_OP_COUNT, nullptr, &req),
               TIDAL_ERR_INVALID_ARGUMENT, "unknown op");
  EXPECT_EQ(req, nullptr);
  tidal_bucket_counters_t k;
  ASSERT_EQ(tidal_tensor_list_get_counters(list_, &k), TIDAL_SUCCESS);
  EXPECT_EQ(k.collective_calls, 0u);
}

TEST_F(BucketApiErrors, HandlesUsedAfterDestroyAreInvalidUsage) {
  std::vector<unsigned char> shard = shard_buffer();
  tidal_param_gatherer_t g = nullptr;
  ASSERT_EQ(tidal_param_gatherer_create(list_, shard.data(), nullptr, &g), TIDAL_SUCCESS);
  ASSERT_EQ(tidal_param_gatherer_destroy(g), TIDAL_SUCCESS);
  expect_error(tidal_param_prefetch(g, 0), TIDAL_ERR_INVALID_USAGE, "not live");
  expect_error(tidal_param_gatherer_destroy(g), TIDAL_ERR_INVALID_USAGE, "destroyed twice");
  expect_error(tidal_param_prefetch(nullptr, 0), TIDAL_ERR_INVALID_ARGUMENT, "NULL");

  ASSERT_EQ(tidal_tensor_list_destroy(list_), TIDAL_SUCCESS);
  size_t nb = 0;
  expect_error(tidal_tensor_list_num_buckets(list_, &nb), TIDAL_ERR_INVALID_USAGE, "not live");
  expect_error(tidal_bucketed_all_gather(list_, shard.data(), nullptr, nullptr),
               TIDAL_ERR_INVALID_USAGE, "not live");
  list_ = nullptr;
}

TEST_F(BucketApiErrors, AHookOutlivingItsListAndAListOutlivingItsCommFailCleanly) {
  std::vector<unsigned char> shard = shard_buffer();
  tidal_param_gatherer_t g = nullptr;
  ASSERT_EQ(tidal_param_gatherer_create(list_, shard.data(), nullptr, &g), TIDAL_SUCCESS);
  ASSERT_EQ(tidal_tensor_list_destroy(list_), TIDAL_SUCCESS);
  list_ = nullptr;
  expect_error(tidal_param_prefetch(g, 0), TIDAL_ERR_INVALID_USAGE, "param gatherer's tensor list");
  expect_error(tidal_param_gatherer_destroy(g), TIDAL_ERR_INVALID_USAGE,
               "destroyed after its tensor list");

  tidal_tensor_list_t list = nullptr;
  ASSERT_EQ(tidal_tensor_list_create(comm_, descs_.data(), descs_.size(), &options_, &list),
            TIDAL_SUCCESS);
  ASSERT_EQ(tidal_comm_destroy(comm_), TIDAL_SUCCESS);
  comm_ = nullptr;
  EXPECT_NE(tidal_tensor_list_destroy(list), TIDAL_SUCCESS);
  EXPECT_NE(std::string(tidal_last_error()).find("destroy lists before their communicator"),
            std::string::npos)
      << tidal_last_error();
}

// The grad reducer's handle follows the same rules as the gatherer's.
TEST_F(BucketApiErrors, AGradReducerOutlivingItsListOrDestroyedTwiceFailsCleanly) {
  tidal_grad_reducer_t r = nullptr;
  ASSERT_EQ(tidal_grad_reducer_create(list_, nullptr, &r), TIDAL_SUCCESS) << tidal_last_error();
  ASSERT_EQ(tidal_grad_reducer_destroy(r), TIDAL_SUCCESS);
  expect_error(tidal_grad_ready(r, 0), TIDAL_ERR_INVALID_USAGE, "not live");
  expect_error(tidal_grad_reducer_destroy(r), TIDAL_ERR_INVALID_USAGE, "destroyed twice");

  ASSERT_EQ(tidal_grad_reducer_create(list_, nullptr, &r), TIDAL_SUCCESS) << tidal_last_error();
  ASSERT_EQ(tidal_tensor_list_destroy(list_), TIDAL_SUCCESS);
  list_ = nullptr;
  expect_error(tidal_grad_ready(r, 0), TIDAL_ERR_INVALID_USAGE, "grad reducer's tensor list");
  expect_error(tidal_grad_reducer_wait(r), TIDAL_ERR_INVALID_USAGE, "grad reducer's tensor list");
  expect_error(tidal_grad_reducer_destroy(r), TIDAL_ERR_INVALID_USAGE,
               "destroyed after its tensor list");
}

TEST_F(BucketApiErrors, ReleasedBucketsAreGatheredAgainAndInFlightOnesCannotBeReleased) {
  size_t nb = 0;
  ASSERT_EQ(tidal_tensor_list_num_buckets(list_, &nb), TIDAL_SUCCESS);
  ASSERT_GE(nb, 2u);
  std::vector<unsigned char> shard = shard_buffer();
  tidal_param_gatherer_options_t o = TIDAL_PARAM_GATHERER_OPTIONS_INITIALIZER;
  o.depth = 0;
  tidal_param_gatherer_t g = nullptr;
  expect_error(tidal_param_gatherer_create(list_, shard.data(), &o, &g),
               TIDAL_ERR_INVALID_ARGUMENT, "prefetch depth must be at least 1");
  EXPECT_EQ(g, nullptr);
  ASSERT_EQ(tidal_param_gatherer_create(list_, shard.data(), nullptr, &g), TIDAL_SUCCESS);
  auto launched = [&] {
    tidal_bucket_counters_t k;
    EXPECT_EQ(tidal_param_gatherer_get_counters(g, &k), TIDAL_SUCCESS);
    return k.buckets_launched;
  };
  ASSERT_EQ(tidal_param_wait(g, 0), TIDAL_SUCCESS) << tidal_last_error();
  ASSERT_EQ(tidal_param_wait(g, 0), TIDAL_SUCCESS);
  EXPECT_EQ(launched(), 1u) << "a gathered bucket stays gathered";
  ASSERT_EQ(tidal_param_release(g, 0), TIDAL_SUCCESS);
  ASSERT_EQ(tidal_param_wait(g, 0), TIDAL_SUCCESS);
  EXPECT_EQ(launched(), 2u) << "a released bucket is gathered again";

  ASSERT_EQ(tidal_param_prefetch(g, 1), TIDAL_SUCCESS);
  expect_error(tidal_param_release(g, 1), TIDAL_ERR_INVALID_USAGE, "being gathered");
  ASSERT_EQ(tidal_param_wait(g, 1), TIDAL_SUCCESS);
  expect_error(tidal_param_release(g, nb), TIDAL_ERR_INVALID_ARGUMENT, "out of range");
  ASSERT_EQ(tidal_param_release(g, SIZE_MAX), TIDAL_SUCCESS) << "releases every bucket";
  ASSERT_EQ(tidal_param_wait(g, 0), TIDAL_SUCCESS);
  ASSERT_EQ(tidal_param_wait(g, 1), TIDAL_SUCCESS);
  EXPECT_EQ(launched(), 5u);
  EXPECT_EQ(tidal_param_gatherer_destroy(g), TIDAL_SUCCESS);
}

}  // namespace
