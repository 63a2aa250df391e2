// Bucketed collectives and overlap hooks on local thread ranks (2, 3, 4, 8),
// bitwise against the per-tensor reference.
#include <unistd.h>

#include <cstdio>

#include "tests/bucketing/fp8_gather_suite.h"
#include "tests/bucketing/overlap_suite.h"
#include "tests/common/local_ranks.h"

namespace {

using tidal_testing::run_local_ranks;

class LocalBucketing : public ::testing::TestWithParam<int> {};

TEST_P(LocalBucketing, BucketedReduceScatterAndAllGatherEqualThePerTensorReference) {
  run_local_ranks(GetParam(), [](tidal_comm_t comm, int) {
    tidal_testing::run_bucketed_suite(comm);
  });
}

// Direct buckets off (config.direct_buckets = 0): every bucket packs, as
// on a backend whose ranks cannot read each other's memory.
TEST_P(LocalBucketing, WithDirectBucketsOffEveryBucketPacksAndTheResultsAreTheSame) {
  tidal_config_t config = TIDAL_CONFIG_INITIALIZER;
  config.direct_buckets = 0;
  run_local_ranks(GetParam(), [](tidal_comm_t comm, int) {
    ASSERT_FALSE(tidal_testing::runs_direct_buckets(comm));
    tidal_testing::run_bucketed_suite(comm);
    tidal_testing::check_grad_reducer(comm, tidal_testing::bucketed_cases()[0]);
    tidal_testing::check_zero1(comm, {"zero1-f32", TIDAL_F32, -1});
  }, &config);
}

// Rank 0 packs its buckets while the others take theirs direct: each
// rank's collective reads every peer's input in whatever form it posted.
TEST_P(LocalBucketing, RanksThatPackAndRanksThatRunDirectReduceAndGatherTogether) {
  run_local_ranks(GetParam(), [](tidal_comm_t comm, int rank) {
    tidal_config_t config = TIDAL_CONFIG_INITIALIZER;
    config.direct_buckets = rank == 0 ? 0 : 1;
    tidal_comm_t mixed = nullptr;
    ASSERT_EQ(tidal_comm_split(comm, 0, rank, &config, &mixed), TIDAL_SUCCESS)
        << tidal_last_error();
    EXPECT_EQ(tidal_testing::runs_direct_buckets(mixed), rank != 0);
    tidal_testing::run_bucketed_suite(mixed);
    tidal_testing::check_grad_reducer(mixed, tidal_testing::bucketed_cases()[0]);
    tidal_testing::check_zero1(mixed, {"zero1-f32", TIDAL_F32, -1});
    EXPECT_EQ(tidal_comm_destroy(mixed), TIDAL_SUCCESS);
  });
}

// TIDAL_CHECK_ARGS=1: every direct bucket's collective compares its
// arguments across ranks first; the results and counts do not change.
TEST_P(LocalBucketing, DirectBucketsWithArgumentChecksGiveTheSameResults) {
  tidal_config_t config = TIDAL_CONFIG_INITIALIZER;
  config.check_args = 1;
  run_local_ranks(GetParam(), [](tidal_comm_t comm, int) {
    ASSERT_TRUE(tidal_testing::runs_direct_buckets(comm));
    tidal_testing::run_bucketed_suite(comm);
    tidal_testing::check_zero1(comm, {"zero1-f32", TIDAL_F32, -1});
  }, &config);
}

TEST_P(LocalBucketing, Fp8AllGatherEqualsEachRanksOwnEncodeAndDecode) {
  run_local_ranks(GetParam(), [](tidal_comm_t comm, int) {
    tidal_testing::run_fp8_gather_suite(comm);
  });
}

TEST_P(LocalBucketing, GradReducerWithRandomOrdersAndThreadsEqualsTheReference) {
  run_local_ranks(GetParam(), [](tidal_comm_t comm, int) {
    for (const auto& c : tidal_testing::bucketed_cases()) {
      if (c.order == TIDAL_BUCKET_ORDER_FORWARD && !c.zero_copy && c.comm_dtype < 0) continue;
      tidal_testing::check_grad_reducer(comm, c);
    }
    tidal_testing::ListCase reverse_f32{"reverse-f32", TIDAL_F32, -1, 1.0f, 1.0f, 0, TIDAL_SUM,
                                        TIDAL_BUCKET_ORDER_REVERSE};
    tidal_testing::check_grad_reducer(comm, reverse_f32);
    tidal_testing::check_grad_reducer(comm, reverse_f32, /*pack_on_progress_thread=*/1);
  });
}

TEST_P(LocalBucketing, ReducerStepDoesNotPackOverAPendingBucketedCall) {
  run_local_ranks(GetParam(), [](tidal_comm_t comm, int) {
    tidal_testing::check_reducer_after_unfinished_call(comm);
  });
}

TEST_P(LocalBucketing, NoSyncStepAccumulatesAndTheNextStepReducesTheSum) {
  run_local_ranks(GetParam(), [](tidal_comm_t comm, int) {
    tidal_testing::check_no_sync_accumulation(comm);
  });
}

TEST_P(LocalBucketing, ZeroOneAllReduceFillsTensorsAndShard) {
  run_local_ranks(GetParam(), [](tidal_comm_t comm, int) {
    tidal_testing::check_zero1(comm, {"zero1-f32", TIDAL_F32, -1});
    tidal_testing::check_zero1(comm, {"zero1-bf16", TIDAL_F32, TIDAL_BF16, 0.5f, 1.0f});
  });
}

TEST_P(LocalBucketing, ParamGathererFillsEveryLayerUnderDepthAndByteCap) {
  run_local_ranks(GetParam(), [](tidal_comm_t comm, int) {
    tidal_testing::check_param_gatherer(comm);
  });
}

TEST_P(LocalBucketing, BadInputFailsWithAClearStatus) {
  run_local_ranks(GetParam(), [](tidal_comm_t comm, int) {
    tidal_testing::check_bad_input(comm);
  });
}

TEST_P(LocalBucketing, MismatchedRegistrationsAreDetectedOnEveryRank) {
  run_local_ranks(GetParam(), [](tidal_comm_t comm, int) {
    tidal_testing::check_mismatched_registration(comm);
  });
}

INSTANTIATE_TEST_SUITE_P(Ranks, LocalBucketing, ::testing::Values(2, 3, 4, 8),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return std::to_string(info.param) + "ranks";
                         });

TEST(LocalBucketingOneRank, Fp8AllGatherOnOneRankIsARoundTrip) {
  run_local_ranks(1, [](tidal_comm_t comm, int) { tidal_testing::run_fp8_gather_suite(comm); });
}

// Resident memory of this process, bytes (Linux).
size_t resident_bytes() {
  long pages = 0, resident = 0;
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
  std::fclose(f);
  return static_cast<size_t>(resident) * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

// Direct buckets never touch the list's bucket storage, and the storage
// comes as untouched zero pages: a list whose calls all run direct costs
// no memory beyond the tensors. With direct buckets off the packs fault
// it in.
TEST(LocalBucketingOneRank, DirectBucketsLeaveTheBucketStorageUntouched) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "sanitizer shadow memory makes resident sizes meaningless";
#endif
  const size_t count = size_t(16) << 20;  // 64 MiB of f32
  std::vector<float> grads(count, 1.0f), shard(count, 0.0f);
  for (int direct : {1, 0}) {
    tidal_config_t config = TIDAL_CONFIG_INITIALIZER;
    config.direct_buckets = direct;
    run_local_ranks(1, [&](tidal_comm_t comm, int) {
      tidal_tensor_desc_t desc{grads.data(), count, TIDAL_F32};
      tidal_bucket_options_t bo = TIDAL_BUCKET_OPTIONS_INITIALIZER;
      bo.bucket_bytes = size_t(4) << 20;
      tidal_tensor_list_t list = nullptr;
      const size_t before = resident_bytes();
      ASSERT_EQ(tidal_tensor_list_create(comm, &desc, 1, &bo, &list), TIDAL_SUCCESS)
          << tidal_last_error();
      ASSERT_EQ(tidal_bucketed_reduce_scatter(list, shard.data(), TIDAL_SUM, nullptr, nullptr),
                TIDAL_SUCCESS) << tidal_last_error();
      const double grown_mib = (double(resident_bytes()) - double(before)) / (1 << 20);
      if (direct) {
        EXPECT_LT(grown_mib, 16.0) << "a direct list faulted in its bucket storage";
      } else {
        EXPECT_GT(grown_mib, 48.0) << "the packs should have written 64 MiB of storage";
      }
      EXPECT_EQ(shard[count - 1], 1.0f);
      tidal_tensor_list_destroy(list);
    }, &config);
  }
}

TEST(LocalBucketingOneRank, ReduceScatterOnOneRankIsACopy) {
  run_local_ranks(1, [](tidal_comm_t comm, int) {
    tidal_testing::check_bucketed_reduce_scatter(comm, tidal_testing::bucketed_cases()[0]);
  });
}

}  // namespace
