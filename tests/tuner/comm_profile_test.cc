// The communication profile: log-log interpolation, its edges, the
// alpha-beta form and bad points.
#include <cmath>

#include <gtest/gtest.h>

#include "topology/tuning/comm_profile.h"

namespace tidal {
namespace tuning {
namespace {

TEST(CommCurve, InterpolatesMidpointsInLogLogSpace) {
  CommCurve c;
  ASSERT_TRUE(c.add_point(1e5, 1e-4).ok());
  ASSERT_TRUE(c.add_point(1e3, 1e-5).ok());  // out of order on purpose
  EXPECT_NEAR(c.seconds(1e4), std::sqrt(1e-5 * 1e-4), 1e-12);
  EXPECT_DOUBLE_EQ(c.seconds(1e3), 1e-5);
  EXPECT_DOUBLE_EQ(c.seconds(1e5), 1e-4);
}

TEST(CommCurve, KeepsTheLatencyFloorBelowAndTheBandwidthAbove) {
  CommCurve c;
  ASSERT_TRUE(c.add_point(1e3, 1e-5).ok());
  ASSERT_TRUE(c.add_point(1e5, 1e-4).ok());
  EXPECT_DOUBLE_EQ(c.seconds(10), 1e-5);
  EXPECT_DOUBLE_EQ(c.seconds(4e5), 4e-4);
  EXPECT_DOUBLE_EQ(c.peak_bandwidth_Bps(), 1e9);
}

TEST(CommCurve, SinglePointIsAFloorAndABandwidth) {
  CommCurve c;
  ASSERT_TRUE(c.add_point(1e6, 1e-3).ok());
  EXPECT_DOUBLE_EQ(c.seconds(1e3), 1e-3);
  EXPECT_DOUBLE_EQ(c.seconds(3e6), 3e-3);
}

TEST(CommCurve, PointAtAnExistingSizeReplacesIt) {
  CommCurve c;
  ASSERT_TRUE(c.add_point(1e6, 1e-3).ok());
  ASSERT_TRUE(c.add_point(1e6, 2e-3).ok());
  EXPECT_EQ(c.points().size(), 1u);
  EXPECT_DOUBLE_EQ(c.seconds(1e6), 2e-3);
}

TEST(CommCurve, RejectsNonPositiveOrNonFinitePoints) {
  CommCurve c;
  EXPECT_EQ(c.add_point(0, 1).code(), TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(c.add_point(1, 0).code(), TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(c.add_point(1, -1).code(), TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(c.add_point(NAN, 1).code(), TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_TRUE(c.empty());
}

TEST(CommCurve, AlphaBetaFormReplacesPoints) {
  CommCurve c;
  ASSERT_TRUE(c.add_point(1e6, 1).ok());
  ASSERT_TRUE(c.set_alpha_beta(2e-6, 1e9).ok());
  EXPECT_TRUE(c.points().empty());
  EXPECT_DOUBLE_EQ(c.seconds(1e6), 2e-6 + 1e-3);
  EXPECT_EQ(c.set_alpha_beta(-1, 1e9).code(), TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(c.set_alpha_beta(0, 0).code(), TIDAL_ERR_INVALID_ARGUMENT);
}

TEST(CommProfile, AllGatherBorrowsTheReduceScatterCurveButAllReduceDoesNot) {
  CommProfile p;
  EXPECT_TRUE(p.empty());
  ASSERT_TRUE(p.curve(CommKind::kReduceScatter).set_alpha_beta(1e-6, 1e9).ok());
  const CommCurve* c = nullptr;
  ASSERT_TRUE(p.curve_for(CommKind::kAllGather, &c).ok());
  EXPECT_EQ(c, &p.curve(CommKind::kReduceScatter));
  EXPECT_EQ(p.curve_for(CommKind::kAllReduce, &c).code(), TIDAL_ERR_INVALID_ARGUMENT);
}

}  // namespace
}  // namespace tuning
}  // namespace tidal
