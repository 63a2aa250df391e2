// The C API of the tuner without communication: bad input is reported with
// a reason and changes nothing; results read back through the accessors.
#include <cstddef>
#include <string>

#include <gtest/gtest.h>

#include "tidal/tune.h"

namespace {

class TuneApi : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(tidal_comm_profile_create(&profile_), TIDAL_SUCCESS);
    ASSERT_EQ(tidal_tune_result_create(&result_), TIDAL_SUCCESS);
    inputs_.grad_bytes = 1e9;
    inputs_.bwd_s = 2.0;
  }
  void TearDown() override {
    EXPECT_EQ(tidal_tune_result_destroy(result_), TIDAL_SUCCESS);
    EXPECT_EQ(tidal_comm_profile_destroy(profile_), TIDAL_SUCCESS);
  }
  void use_alpha_beta() {
    ASSERT_EQ(tidal_comm_profile_set_alpha_beta(profile_, TIDAL_TUNE_REDUCE_SCATTER, 1e-3, 1e9),
              TIDAL_SUCCESS);
  }
  // The exposed time the model predicts for one candidate size.
  double exposed_at(size_t bucket_bytes) {
    inputs_.num_candidates = 1;
    inputs_.candidates = &bucket_bytes;
    EXPECT_EQ(tidal_tune_bucket_size(&inputs_, profile_, result_), TIDAL_SUCCESS)
        << tidal_last_error();
    double exposed = -1;
    EXPECT_EQ(tidal_tune_result_recommended(result_, nullptr, &exposed, nullptr), TIDAL_SUCCESS);
    inputs_.candidates = nullptr;
    inputs_.num_candidates = 0;
    return exposed;
  }
  // Tunes and expects `code` with `reason` in the message.
  void expect_rejected(tidal_status_t code, const std::string& reason) {
    EXPECT_EQ(tidal_tune_bucket_size(&inputs_, profile_, result_), code);
    EXPECT_NE(std::string(tidal_last_error()).find(reason), std::string::npos)
        << tidal_last_error();
  }

  tidal_comm_profile_t profile_ = nullptr;
  tidal_tune_result_t result_ = nullptr;
  tidal_tune_inputs_t inputs_ = TIDAL_TUNE_INPUTS_INITIALIZER;
};

TEST_F(TuneApi, ZeroPhiIsRejected) {
  use_alpha_beta();
  inputs_.grad_bytes = 0;
  expect_rejected(TIDAL_ERR_INVALID_ARGUMENT, "phi");
}

TEST_F(TuneApi, ZeroOrNegativeTimesAreRejected) {
  use_alpha_beta();
  inputs_.bwd_s = 0;
  expect_rejected(TIDAL_ERR_INVALID_ARGUMENT, "backward time");
  inputs_.bwd_s = -1;
  expect_rejected(TIDAL_ERR_INVALID_ARGUMENT, "backward time");
  inputs_.bwd_s = 1;
  inputs_.fwd_s = -1;
  expect_rejected(TIDAL_ERR_INVALID_ARGUMENT, "forward time");
}

// The model's other input rules, each with its reason.
TEST_F(TuneApi, ImpossibleModelInputsAreRejectedWithTheReason) {
  use_alpha_beta();
  inputs_.grad_collective = TIDAL_TUNE_ALL_GATHER;
  expect_rejected(TIDAL_ERR_INVALID_ARGUMENT, "reduce_scatter or all_reduce");
  inputs_.grad_collective = TIDAL_TUNE_REDUCE_SCATTER;
  inputs_.prefetch_depth = -1;
  expect_rejected(TIDAL_ERR_INVALID_ARGUMENT, "prefetch depth -1");
  inputs_.prefetch_depth = 1;
  inputs_.max_inflight = 0;
  expect_rejected(TIDAL_ERR_INVALID_ARGUMENT, "buckets in flight 0");
  inputs_.max_inflight = 1;
  const double bytes[2] = {0, 0}, seconds[2] = {1, 1};  // layers that produce nothing
  inputs_.layer_grad_bytes = bytes;
  inputs_.layer_bwd_s = seconds;
  inputs_.num_layers = 2;
  expect_rejected(TIDAL_ERR_INVALID_ARGUMENT, "total bytes and seconds must be > 0");
  inputs_.num_layers = 0;
  inputs_.layer_grad_bytes = nullptr;
  inputs_.layer_bwd_s = nullptr;
  inputs_.points_per_octave = 0;
  expect_rejected(TIDAL_ERR_INVALID_ARGUMENT, "points per octave 1..64");
}

// Sizes beyond what the model simulates are refused up front (before, phi
// = 1e18 made it allocate per-bucket tables until memory ran out; the
// sweep's own floor is tested in bucket_model_test).
TEST_F(TuneApi, ModelsBeyondTheSimulatedRangeAreRefused) {
  use_alpha_beta();
  inputs_.grad_bytes = 1e18;
  expect_rejected(TIDAL_ERR_INVALID_ARGUMENT, "beyond the model (at most 256 TiB)");
  inputs_.grad_bytes = 1e9;
  size_t one_byte = 1;
  inputs_.candidates = &one_byte;
  inputs_.num_candidates = 1;
  expect_rejected(TIDAL_ERR_INVALID_ARGUMENT, "use larger buckets");
  inputs_.candidates = nullptr;
  inputs_.num_candidates = 0;
}

TEST_F(TuneApi, EmptyProfileIsRejected) {
  expect_rejected(TIDAL_ERR_INVALID_ARGUMENT, "empty");
}

TEST_F(TuneApi, NullArgumentsAreRejected) {
  use_alpha_beta();
  EXPECT_EQ(tidal_tune_bucket_size(nullptr, profile_, result_), TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tidal_tune_bucket_size(&inputs_, nullptr, result_), TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tidal_tune_bucket_size(&inputs_, profile_, nullptr), TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tidal_comm_profile_create(nullptr), TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tidal_tune_result_create(nullptr), TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tidal_tune_result_reasoning(result_, nullptr), TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tidal_tune_refine(nullptr, nullptr, result_), TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tidal_tune_auto_bucket_bytes(nullptr, 1 << 20, 0.1, nullptr),
            TIDAL_ERR_INVALID_ARGUMENT);
  size_t size = 1 << 20;
  double seconds = 0;
  EXPECT_EQ(tidal_measure_comm_profile(nullptr, TIDAL_TUNE_REDUCE_SCATTER,
                                       TIDAL_SCHEDULE_UNSET, &size, 1, nullptr, &seconds),
            TIDAL_ERR_INVALID_ARGUMENT);
}

TEST_F(TuneApi, InputsNotMadeWithTheInitializerAreRejected) {
  use_alpha_beta();
  inputs_.size = 8;
  expect_rejected(TIDAL_ERR_INVALID_ARGUMENT, "TIDAL_TUNE_INPUTS_INITIALIZER");
}

TEST_F(TuneApi, LayerCountWithoutArraysIsRejected) {
  use_alpha_beta();
  inputs_.num_layers = 3;
  expect_rejected(TIDAL_ERR_INVALID_ARGUMENT, "layer");
}

TEST_F(TuneApi, BadProfilePointsAddNothing) {
  size_t bytes[2] = {1 << 20, 4 << 20};
  double seconds[2] = {1e-3, 0};  // the second is impossible
  EXPECT_EQ(tidal_comm_profile_add(profile_, TIDAL_TUNE_REDUCE_SCATTER, bytes, seconds, 2),
            TIDAL_ERR_INVALID_ARGUMENT);
  double t = 0;
  EXPECT_EQ(tidal_comm_profile_seconds(profile_, TIDAL_TUNE_REDUCE_SCATTER, 1 << 20, &t),
            TIDAL_ERR_INVALID_ARGUMENT);  // still no curve
  EXPECT_EQ(tidal_comm_profile_add(profile_, TIDAL_TUNE_REDUCE_SCATTER, bytes, seconds, 0),
            TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tidal_comm_profile_add(profile_, static_cast<tidal_tune_collective_t>(7), bytes,
                                   seconds, 1), TIDAL_ERR_INVALID_ARGUMENT);
}

TEST_F(TuneApi, ProfileSecondsInterpolatesWhatWasAdded) {
  size_t bytes[2] = {1000, 100000};
  double seconds[2] = {1e-5, 1e-4};
  ASSERT_EQ(tidal_comm_profile_add(profile_, TIDAL_TUNE_ALL_GATHER, bytes, seconds, 2),
            TIDAL_SUCCESS);
  double t = 0;
  ASSERT_EQ(tidal_comm_profile_seconds(profile_, TIDAL_TUNE_REDUCE_SCATTER, 10000, &t),
            TIDAL_SUCCESS);  // borrowed from all-gather
  EXPECT_NEAR(t, 3.1623e-5, 1e-9);
}

TEST_F(TuneApi, AloneCurveSetsTheLatencyFromReadyToDone) {
  // Compute-bound: 1 GB in 2 s, 16 MiB buckets of ~18 ms queued. One alone
  // point of 0.2 s (a floor below its size): every bucket ends 0.2 s after
  // it is ready, so the last one 0.2 s after the backward.
  use_alpha_beta();
  EXPECT_LT(exposed_at(16 << 20), 0.02);
  size_t bytes = 64 << 20;
  double alone = 0.2;
  ASSERT_EQ(tidal_comm_profile_add_alone(profile_, TIDAL_TUNE_REDUCE_SCATTER, &bytes, &alone, 1),
            TIDAL_SUCCESS);
  EXPECT_NEAR(exposed_at(16 << 20), 0.2, 1e-9);
}

TEST_F(TuneApi, BadAlonePointsAddNothing) {
  size_t bytes[2] = {1 << 20, 4 << 20};
  double seconds[2] = {1e-3, -1};
  EXPECT_EQ(tidal_comm_profile_add_alone(profile_, TIDAL_TUNE_REDUCE_SCATTER, bytes, seconds, 2),
            TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(tidal_last_error()).find("tidal_comm_profile_add_alone"),
            std::string::npos) << tidal_last_error();
  EXPECT_EQ(tidal_comm_profile_add_alone(profile_, TIDAL_TUNE_REDUCE_SCATTER, nullptr, seconds,
                                         1), TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tidal_comm_profile_add_alone(nullptr, TIDAL_TUNE_REDUCE_SCATTER, bytes, seconds, 1),
            TIDAL_ERR_INVALID_ARGUMENT);
  // An alone curve alone is not a profile: tuning still asks for the queued one.
  ASSERT_EQ(tidal_comm_profile_add_alone(profile_, TIDAL_TUNE_REDUCE_SCATTER, bytes, seconds, 1),
            TIDAL_SUCCESS);
  expect_rejected(TIDAL_ERR_INVALID_ARGUMENT, "profile");
}

TEST_F(TuneApi, PackCurveStretchesACommBoundBackward) {
  // 1 GB in 2 s with 16 MiB buckets: a pack of 0.1 s per bucket on the
  // marking thread (60 buckets: 6 s) keeps the marks 0.1 s apart, so the
  // last gradient is marked after ~6 s, not 2.
  use_alpha_beta();
  size_t bytes = 64 << 20;
  double pack = 0.1;
  ASSERT_EQ(tidal_comm_profile_add_pack(profile_, TIDAL_TUNE_REDUCE_SCATTER, &bytes, &pack, 1),
            TIDAL_SUCCESS);
  const double exposed = exposed_at(16 << 20);
  EXPECT_GT(exposed, 3.5);
  EXPECT_LT(exposed, 4.5);
  double bad = 0;
  EXPECT_EQ(tidal_comm_profile_add_pack(profile_, TIDAL_TUNE_REDUCE_SCATTER, &bytes, &bad, 1),
            TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(tidal_last_error()).find("tidal_comm_profile_add_pack"),
            std::string::npos) << tidal_last_error();
}

TEST_F(TuneApi, ResultBeforeTuningIsAUsageError) {
  size_t bytes = 0;
  EXPECT_EQ(tidal_tune_result_recommended(result_, &bytes, nullptr, nullptr),
            TIDAL_ERR_INVALID_USAGE);
  EXPECT_EQ(tidal_tune_refine(nullptr, nullptr, result_), TIDAL_ERR_INVALID_ARGUMENT);
}

TEST_F(TuneApi, CurveHasOneRecommendationAndItMatchesTheAccessor) {
  use_alpha_beta();
  ASSERT_EQ(tidal_tune_bucket_size(&inputs_, profile_, result_), TIDAL_SUCCESS);
  size_t bytes = 0, n = 0;
  double exposed = 0, iteration = 0;
  ASSERT_EQ(tidal_tune_result_recommended(result_, &bytes, &exposed, &iteration),
            TIDAL_SUCCESS);
  // The keep-pace size alpha*phi/(T - phi/beta) = 1e6, up to whole buckets
  // and the 1% tie rule.
  EXPECT_GE(bytes, size_t(1000000));
  EXPECT_LE(bytes, size_t(1500000));
  EXPECT_NEAR(iteration, 2.0 + exposed, 1e-12);
  ASSERT_EQ(tidal_tune_result_num_points(result_, &n), TIDAL_SUCCESS);
  ASSERT_GT(n, 10u);
  int recommended = 0;
  size_t previous = 0;
  for (size_t i = 0; i < n; ++i) {
    tidal_tune_point_t p = TIDAL_TUNE_POINT_INITIALIZER;
    ASSERT_EQ(tidal_tune_result_point(result_, i, &p), TIDAL_SUCCESS);
    EXPECT_GT(p.bucket_bytes, previous);
    previous = p.bucket_bytes;
    EXPECT_LT(p.measured_iteration_s, 0);  // nothing measured
    if (p.recommended) {
      ++recommended;
      EXPECT_EQ(p.bucket_bytes, bytes);
      EXPECT_EQ(p.model_pick, 1);
    }
  }
  EXPECT_EQ(recommended, 1);
  tidal_tune_point_t past = TIDAL_TUNE_POINT_INITIALIZER;
  EXPECT_EQ(tidal_tune_result_point(result_, n, &past), TIDAL_ERR_INVALID_ARGUMENT);
  const char* text = nullptr;
  ASSERT_EQ(tidal_tune_result_reasoning(result_, &text), TIDAL_SUCCESS);
  EXPECT_NE(std::string(text).find("keep pace"), std::string::npos) << text;
}

TEST_F(TuneApi, OlderPointStructIsFilledOnlyUpToItsSize) {
  use_alpha_beta();
  ASSERT_EQ(tidal_tune_bucket_size(&inputs_, profile_, result_), TIDAL_SUCCESS);
  tidal_tune_point_t p = TIDAL_TUNE_POINT_INITIALIZER;
  p.size = offsetof(tidal_tune_point_t, measured_iteration_s);
  p.measured_iteration_s = 123.0;
  p.recommended = 7;
  ASSERT_EQ(tidal_tune_result_point(result_, 0, &p), TIDAL_SUCCESS);
  EXPECT_GT(p.bucket_bytes, 0u);
  EXPECT_EQ(p.measured_iteration_s, 123.0);
  EXPECT_EQ(p.recommended, 7);
}

TEST_F(TuneApi, ExplicitCandidatesAreTheCurve) {
  use_alpha_beta();
  size_t candidates[3] = {size_t(4) << 20, size_t(1) << 20, size_t(16) << 20};
  inputs_.candidates = candidates;
  inputs_.num_candidates = 3;
  ASSERT_EQ(tidal_tune_bucket_size(&inputs_, profile_, result_), TIDAL_SUCCESS);
  size_t n = 0, bytes = 0;
  ASSERT_EQ(tidal_tune_result_num_points(result_, &n), TIDAL_SUCCESS);
  EXPECT_EQ(n, 3u);
  ASSERT_EQ(tidal_tune_result_recommended(result_, &bytes, nullptr, nullptr), TIDAL_SUCCESS);
  EXPECT_EQ(bytes, size_t(1) << 20);
}

TEST(TuneApiLifetime, DestroyingTwiceIsAUsageErrorNotACrash) {
  tidal_comm_profile_t profile = nullptr;
  tidal_tune_result_t result = nullptr;
  ASSERT_EQ(tidal_comm_profile_create(&profile), TIDAL_SUCCESS);
  ASSERT_EQ(tidal_tune_result_create(&result), TIDAL_SUCCESS);
  EXPECT_EQ(tidal_comm_profile_destroy(profile), TIDAL_SUCCESS);
  EXPECT_EQ(tidal_comm_profile_destroy(profile), TIDAL_ERR_INVALID_USAGE);
  EXPECT_EQ(tidal_tune_result_destroy(result), TIDAL_SUCCESS);
  EXPECT_EQ(tidal_tune_result_destroy(result), TIDAL_ERR_INVALID_USAGE);
  EXPECT_EQ(tidal_comm_profile_destroy(nullptr), TIDAL_SUCCESS);
}

}  // namespace
