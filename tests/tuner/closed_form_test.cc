// The alpha-beta closed form in its three regimes, and the event-driven
// model and the tuner agreeing with it.
#include <cmath>

#include <gtest/gtest.h>

#include "topology/tuning/bucket_tuner.h"
#include "topology/tuning/closed_form.h"

namespace tidal {
namespace tuning {
namespace {

constexpr double kAlpha = 1e-3, kBeta = 1e9, kPhi = 1e9;  // phi / beta = 1 s
// Powers of two so that phi / b is a whole number of buckets at b0 = 1 MiB
// (the continuous closed form ignores a last, partial bucket).
constexpr double kPhi2 = 1073741824.0, kBeta2 = 1073741824.0;

CommProfile alpha_beta_profile(double beta = kBeta) {
  CommProfile p;
  EXPECT_TRUE(p.curve(CommKind::kReduceScatter).set_alpha_beta(kAlpha, beta).ok());
  return p;
}

StepInputs uniform_inputs(double bwd_s, double phi = kPhi) {
  StepInputs in;
  in.grad_bytes = phi;
  in.bwd_s = bwd_s;
  return in;
}

TEST(ClosedForm, KeepsPaceOptimumIsAlphaPhiOverSlack) {
  ClosedFormOptimum cf;
  ASSERT_TRUE(closed_form_optimum(kAlpha, kBeta, kPhi, 2.0, &cf).ok());
  EXPECT_EQ(cf.regime, Regime::kKeepsPace);
  EXPECT_DOUBLE_EQ(cf.keep_pace_bytes, 1e6);  // 1e-3 * 1e9 / (2 - 1)
  EXPECT_DOUBLE_EQ(cf.bucket_bytes, 1e6);
  EXPECT_DOUBLE_EQ(cf.exposed_s, 2e-3);       // alpha + b / beta
}

TEST(ClosedForm, SmallSlackMakesTheChainOptimumWin) {
  ClosedFormOptimum cf;
  ASSERT_TRUE(closed_form_optimum(kAlpha, kBeta, kPhi, 1.01, &cf).ok());
  EXPECT_EQ(cf.regime, Regime::kLatencyBound);
  EXPECT_NEAR(cf.keep_pace_bytes, 1e8, 1);
  EXPECT_NEAR(cf.bucket_bytes, kPhi * std::sqrt(kAlpha / 1.01), 1);
  // 2 * sqrt(alpha * T_bwd) + phi / beta - T_bwd
  EXPECT_NEAR(cf.exposed_s, 2 * std::sqrt(kAlpha * 1.01) + 1.0 - 1.01, 1e-9);
}

TEST(ClosedForm, ThroughputBoundWhenBackwardIsShorterThanPhiOverBeta) {
  ClosedFormOptimum cf;
  ASSERT_TRUE(closed_form_optimum(kAlpha, kBeta, kPhi, 0.5, &cf).ok());
  EXPECT_EQ(cf.regime, Regime::kThroughputBound);
  EXPECT_TRUE(std::isinf(cf.keep_pace_bytes));
  EXPECT_NEAR(cf.bucket_bytes, kPhi * std::sqrt(kAlpha / 0.5), 1);
  EXPECT_NEAR(cf.exposed_s, 2 * std::sqrt(kAlpha * 0.5) + 1.0 - 0.5, 1e-9);
}

TEST(ClosedForm, RejectsImpossibleInputs) {
  ClosedFormOptimum cf;
  EXPECT_EQ(closed_form_optimum(-1, kBeta, kPhi, 1, &cf).code(), TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(closed_form_optimum(kAlpha, 0, kPhi, 1, &cf).code(), TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(closed_form_optimum(kAlpha, kBeta, 0, 1, &cf).code(), TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(closed_form_optimum(kAlpha, kBeta, kPhi, 0, &cf).code(),
            TIDAL_ERR_INVALID_ARGUMENT);
}

TEST(ClosedForm, EventModelMatchesItOnBothSidesOfTheKeepPaceSize) {
  CommProfile profile = alpha_beta_profile();
  for (double b : {5e5, 1e6, 2e6, 1e8}) {
    StepPrediction p;
    ASSERT_TRUE(predict_step(uniform_inputs(2.0), profile, b, &p).ok());
    EXPECT_NEAR(p.bwd_exposed_s, closed_form_exposed(kAlpha, kBeta, kPhi, 2.0, b), 1e-9)
        << "bucket " << b;
  }
  StepPrediction behind;
  ASSERT_TRUE(predict_step(uniform_inputs(2.0), profile, 5e5, &behind).ok());
  EXPECT_NEAR(behind.bwd_exposed_s, 1.001, 1e-9);  // 2000 buckets of 1.5 ms from 1 ms
}

struct RegimeCase {
  double bwd_s;
  Regime regime;
};

class TunerFindsTheClosedForm : public ::testing::TestWithParam<RegimeCase> {};

// With no tie tolerance the tuner's pick is the event model's optimum; it
// matches the closed form up to the discreteness of whole buckets.
TEST_P(TunerFindsTheClosedForm, PickAndExposedTimeAgree) {
  ClosedFormOptimum cf;
  ASSERT_TRUE(closed_form_optimum(kAlpha, kBeta2, kPhi2, GetParam().bwd_s, &cf).ok());
  ASSERT_EQ(cf.regime, GetParam().regime);
  TuneOptions options;
  options.tie_tolerance = 0;
  TuneResult r;
  ASSERT_TRUE(tune_bucket_size(uniform_inputs(GetParam().bwd_s, kPhi2),
                               alpha_beta_profile(kBeta2), options, &r).ok());
  if (cf.regime == Regime::kKeepsPace) {
    EXPECT_DOUBLE_EQ(cf.bucket_bytes, 1 << 20);
    EXPECT_DOUBLE_EQ(r.best.bucket_bytes, 1 << 20);
    EXPECT_NEAR(r.best.exposed_s / cf.exposed_s, 1.0, 1e-6);
  } else {
    EXPECT_NEAR(r.best.bucket_bytes / cf.bucket_bytes, 1.0, 0.15);
    EXPECT_NEAR(r.best.exposed_s / cf.exposed_s, 1.0, 0.02);
  }
  EXPECT_TRUE(r.has_closed_form);
  EXPECT_EQ(r.closed_form.regime, cf.regime);
  EXPECT_NE(r.reasoning.find("picks"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Regimes, TunerFindsTheClosedForm,
                         ::testing::Values(
                             // T_bwd - phi/beta = alpha * phi / 1 MiB
                             RegimeCase{1.0 + kAlpha * 1024, Regime::kKeepsPace},
                             RegimeCase{1.01, Regime::kLatencyBound},
                             RegimeCase{0.5, Regime::kThroughputBound}));

TEST(TunerTieRule, PrefersTheLargerBucketWithinTheTolerance) {
  // Throughput-bound: the exposed time is flat around the optimum, so a 1%
  // tolerance moves the pick up, at no more than 1% of exposed time.
  TuneOptions strict, tolerant;
  strict.tie_tolerance = 0;
  tolerant.tie_tolerance = 0.01;
  TuneResult a, b;
  ASSERT_TRUE(tune_bucket_size(uniform_inputs(0.5), alpha_beta_profile(), strict, &a).ok());
  ASSERT_TRUE(tune_bucket_size(uniform_inputs(0.5), alpha_beta_profile(), tolerant, &b).ok());
  EXPECT_GT(b.best.bucket_bytes, a.best.bucket_bytes);
  EXPECT_LE(b.best.exposed_s, a.best.exposed_s * 1.01);
}

}  // namespace
}  // namespace tuning
}  // namespace tidal

namespace tidal {
namespace tuning {
namespace {

TEST(TunerReasoning, ZeroLatencyThroughputBoundNamesTheUnhideableTransfer) {
  CommProfile p;
  ASSERT_TRUE(p.curve(CommKind::kReduceScatter).set_alpha_beta(0, 1e9).ok());
  TuneResult r;
  ASSERT_TRUE(tune_bucket_size(uniform_inputs(0.5), p, TuneOptions(), &r).ok());
  EXPECT_EQ(r.closed_form.regime, Regime::kThroughputBound);
  EXPECT_NE(r.reasoning.find("at least 500.0 ms"), std::string::npos) << r.reasoning;
  EXPECT_EQ(r.reasoning.find("= 1 B"), std::string::npos) << r.reasoning;
}

}  // namespace
}  // namespace tuning
}  // namespace tidal
