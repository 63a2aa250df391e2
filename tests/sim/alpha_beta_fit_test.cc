// Least-squares alpha/beta fit: exact recovery from noiseless points, and
// clear errors on data it cannot fit.
#include <vector>

#include <gtest/gtest.h>

#include "topology/cost/alpha_beta_fit.h"

namespace {

using tidal::cost::AlphaBetaFit;
using tidal::cost::TimedTransfer;

TEST(AlphaBetaFit, RecoversAlphaAndBetaFromExactPoints) {
  const double alpha = 3e-6, beta = 12e9;
  std::vector<TimedTransfer> points;
  for (double bytes = 65536; bytes <= 16e6; bytes *= 4) points.push_back({bytes, alpha + bytes / beta});
  AlphaBetaFit fit;
  ASSERT_TRUE(tidal::cost::fit_alpha_beta(points, &fit).ok());
  EXPECT_NEAR(fit.tier.alpha_s, alpha, 1e-12);
  EXPECT_NEAR(fit.tier.beta_Bps, beta, beta * 1e-9);
  EXPECT_NEAR(fit.r_squared, 1.0, 1e-12);
  EXPECT_LT(fit.max_rel_error, 1e-9);
}

TEST(AlphaBetaFit, NoisyPointsGiveAnR2BelowOneAndTheWorstResidual) {
  std::vector<TimedTransfer> points = {{1e6, 1.1e-4}, {2e6, 1.9e-4}, {4e6, 4.1e-4}, {8e6, 7.9e-4}};
  AlphaBetaFit fit;
  ASSERT_TRUE(tidal::cost::fit_alpha_beta(points, &fit).ok());
  EXPECT_LT(fit.r_squared, 1.0);
  EXPECT_GT(fit.r_squared, 0.99);
  EXPECT_GT(fit.max_rel_error, 0.0);
  EXPECT_NEAR(fit.tier.beta_Bps, 1e10, 0.05e10);
}

TEST(AlphaBetaFit, ANegativeInterceptIsClampedToZeroLatency) {
  std::vector<TimedTransfer> points = {{1e6, 0.9e-4}, {2e6, 1.9e-4}, {4e6, 3.9e-4}};
  AlphaBetaFit fit;
  ASSERT_TRUE(tidal::cost::fit_alpha_beta(points, &fit).ok());
  EXPECT_EQ(fit.tier.alpha_s, 0.0);
}

TEST(AlphaBetaFit, UnfittableDataIsAnInvalidArgument) {
  AlphaBetaFit fit;
  EXPECT_EQ(tidal::cost::fit_alpha_beta({}, &fit).code(), TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tidal::cost::fit_alpha_beta({{1e6, 1e-3}, {1e6, 2e-3}}, &fit).code(),
            TIDAL_ERR_INVALID_ARGUMENT);  // one size only
  EXPECT_EQ(tidal::cost::fit_alpha_beta({{1e6, 2e-3}, {2e6, 1e-3}}, &fit).code(),
            TIDAL_ERR_INVALID_ARGUMENT);  // shrinking with size
  EXPECT_EQ(tidal::cost::fit_alpha_beta({{1e6, 0}, {2e6, 1e-3}}, &fit).code(),
            TIDAL_ERR_INVALID_ARGUMENT);  // a zero time
}

// A probe that times the larger size faster on its first runs (a preempted
// small message) is run again until the fit accepts its points.
TEST(ProbeAndFit, ReRunsAProbeTheFitRefusesUntilItFits) {
  int calls = 0;
  auto probe = [&](std::vector<TimedTransfer>* p) {
    ++calls;
    const double small = calls < 3 ? 5e-3 : 1e-5 + 4096 / 10e9;  // preempted twice
    p->push_back({4096, small});
    p->push_back({4e6, 1e-5 + 4e6 / 10e9});
    return tidal::Status();
  };
  AlphaBetaFit fit;
  std::vector<TimedTransfer> points;
  int attempts = 0;
  ASSERT_TRUE(tidal::cost::probe_and_fit(probe, 3, &fit, &points, &attempts).ok());
  EXPECT_EQ(attempts, 3);
  EXPECT_EQ(points.size(), 2u);  // the last run's points only
  EXPECT_NEAR(fit.tier.beta_Bps, 10e9, 1e6);
}

TEST(ProbeAndFit, KeepsTheRefusalAfterTheLastRunAndStopsAtAProbeError) {
  auto never_grows = [](std::vector<TimedTransfer>* p) {
    p->push_back({4096, 2e-3});
    p->push_back({4e6, 1e-3});
    return tidal::Status();
  };
  AlphaBetaFit fit;
  std::vector<TimedTransfer> points;
  int attempts = 0;
  tidal::Status s = tidal::cost::probe_and_fit(never_grows, 2, &fit, &points, &attempts);
  EXPECT_EQ(s.code(), TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_NE(s.message().find("does not grow"), std::string::npos) << s.message();
  EXPECT_EQ(attempts, 2);

  int calls = 0;
  auto broken = [&](std::vector<TimedTransfer>*) {
    ++calls;
    return tidal::Status(TIDAL_ERR_TIMEOUT, "peer gone");
  };
  EXPECT_EQ(tidal::cost::probe_and_fit(broken, 3, &fit, &points, &attempts).code(),
            TIDAL_ERR_TIMEOUT);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(tidal::cost::probe_and_fit(never_grows, 0, &fit, &points, &attempts).code(),
            TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(attempts, 0);
}

}  // namespace
