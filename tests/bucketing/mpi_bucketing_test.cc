// The bucketing suites on MPI processes (ctest runs this file under
// mpiexec -n 2 and -n 4).
#include <mpi.h>

#include "tests/bucketing/fp8_gather_suite.h"
#include "tests/bucketing/overlap_suite.h"
#include "tidal/mpi.h"

namespace {

class MpiBucketing : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(tidal_comm_create_mpi(MPI_COMM_WORLD, nullptr, &comm_), TIDAL_SUCCESS)
        << tidal_last_error();
  }
  void TearDown() override { EXPECT_EQ(tidal_comm_destroy(comm_), TIDAL_SUCCESS); }
  tidal_comm_t comm_ = nullptr;
};

TEST_F(MpiBucketing, BucketedReduceScatterAndAllGatherEqualThePerTensorReference) {
  tidal_testing::run_bucketed_suite(comm_);
}

TEST_F(MpiBucketing, Fp8AllGatherEqualsEachRanksOwnEncodeAndDecode) {
  tidal_testing::run_fp8_gather_suite(comm_);
}

TEST_F(MpiBucketing, GradReducerWithRandomOrdersAndThreadsEqualsTheReference) {
  tidal_testing::check_grad_reducer(comm_, {"reverse-f32", TIDAL_F32, -1, 1.0f, 1.0f, 0,
                                            TIDAL_SUM, TIDAL_BUCKET_ORDER_REVERSE});
  tidal_testing::check_grad_reducer(comm_, tidal_testing::bucketed_cases()[6]);
  tidal_testing::check_grad_reducer(comm_, tidal_testing::bucketed_cases()[8]);
  tidal_testing::check_grad_reducer(comm_, tidal_testing::bucketed_cases()[6],
                                    /*pack_on_progress_thread=*/1);
}

TEST_F(MpiBucketing, ReducerStepDoesNotPackOverAPendingBucketedCall) {
  tidal_testing::check_reducer_after_unfinished_call(comm_);
}

TEST_F(MpiBucketing, NoSyncStepAccumulatesAndTheNextStepReducesTheSum) {
  tidal_testing::check_no_sync_accumulation(comm_);
}

TEST_F(MpiBucketing, ZeroOneAllReduceFillsTensorsAndShard) {
  tidal_testing::check_zero1(comm_, {"zero1-bf16", TIDAL_F32, TIDAL_BF16, 0.5f, 1.0f});
}

TEST_F(MpiBucketing, ParamGathererFillsEveryLayerUnderDepthAndByteCap) {
  tidal_testing::check_param_gatherer(comm_);
}

TEST_F(MpiBucketing, BadInputFailsWithAClearStatus) { tidal_testing::check_bad_input(comm_); }

TEST_F(MpiBucketing, MismatchedRegistrationsAreDetectedOnEveryRank) {
  tidal_testing::check_mismatched_registration(comm_);
}

}  // namespace
