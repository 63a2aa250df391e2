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

}  // namespace
