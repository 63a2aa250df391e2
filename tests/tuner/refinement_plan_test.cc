// The pure parts of the measurements: stream lengths, the synthetic
// backward, the sizes a refinement times, the auto profile and summaries.
#include <gtest/gtest.h>

#include "topology/tuning/refinement_plan.h"

namespace tidal {
namespace tuning {
namespace {

TEST(RefinementPlan, StreamsMoveAboutSixtyFourMiBPerSizeByDefault) {
  EXPECT_EQ(stream_length(64 << 10), 1024u);
  EXPECT_EQ(stream_length(1 << 20), 64u);
  EXPECT_EQ(stream_length(64 << 20), 1u);
  EXPECT_EQ(stream_length(size_t(512) << 20), 1u);
  EXPECT_EQ(stream_length(1 << 20, 0), 64u);  // 0 = the default
}

TEST(RefinementPlan, StreamsCoverTheGivenWorkingSetUpToTheBucketCap) {
  EXPECT_EQ(stream_length(256 << 10, size_t(256) << 20), 1024u);
  EXPECT_EQ(stream_length(16 << 20, size_t(256) << 20), 16u);
  EXPECT_EQ(stream_length(4 << 10, size_t(1) << 30), kMaxStreamBuckets);
  EXPECT_EQ(stream_length(size_t(1) << 30, 1 << 20), 1u);
}

TEST(RefinementPlan, UniformSyntheticBackwardSpreadsTensorsOverTheBackward) {
  StepInputs in;
  in.grad_bytes = 4000;
  in.bwd_s = 1.0;
  SyntheticBackward m = synthetic_backward(in, 4);
  ASSERT_EQ(m.counts, (std::vector<size_t>{250, 250, 250, 250}));
  // Forward order: the first tensor is produced last.
  EXPECT_EQ(m.ready_s, (std::vector<double>{1.0, 0.75, 0.5, 0.25}));
}

TEST(RefinementPlan, LayerProfileGivesOneTensorPerLayerWithBytes) {
  StepInputs in;
  in.grad_bytes = 400;
  in.bwd_s = 2.0;
  in.grad_layers = {{1, 1}, {0, 2}, {3, 1}};  // backward order; the middle one has no bytes
  SyntheticBackward m = synthetic_backward(in, 64);
  ASSERT_EQ(m.counts, (std::vector<size_t>{75, 25}));
  EXPECT_EQ(m.ready_s, (std::vector<double>{2.0, 0.5}));
}

TEST(RefinementPlan, RefinementSizesAreFactorsOfTwoAroundThePickCappedAtPhi) {
  const double g = 64 * 1024;
  EXPECT_EQ(refinement_sizes(4 << 20, 10 << 20, 2, {}, g),
            (std::vector<size_t>{1 << 20, 2 << 20, 4 << 20, 8 << 20, 10 << 20}));
  EXPECT_EQ(refinement_sizes(100 * 1024, 1e9, 1, {}, g),
            (std::vector<size_t>{64 << 10, 128 << 10, 192 << 10}));
  EXPECT_EQ(refinement_sizes(3 << 20, 1e9, 2, {1 << 20, 1 << 20}, g),
            (std::vector<size_t>{1 << 20, 3 << 20}));  // given sizes plus the pick
}

TEST(RefinementPlan, APickAtPhiOrAtTheGranularitySlidesTheWindowToKeepItsWidth) {
  const double g = 64 * 1024;
  // The pick is phi: the two sizes above it would be phi again, so two more below.
  EXPECT_EQ(refinement_sizes(2 << 20, 2 << 20, 2, {}, g),
            (std::vector<size_t>{128 << 10, 256 << 10, 512 << 10, 1 << 20, 2 << 20}));
  // The pick is the granularity: two more above instead.
  EXPECT_EQ(refinement_sizes(64 << 10, 1e9, 2, {}, g),
            (std::vector<size_t>{64 << 10, 128 << 10, 256 << 10, 512 << 10, 1 << 20}));
  // Only three sizes fit between the granularity and phi.
  EXPECT_EQ(refinement_sizes(128 << 10, 256 << 10, 2, {}, g),
            (std::vector<size_t>{64 << 10, 128 << 10, 256 << 10}));
}

TEST(RefinementPlan, AutoProfileEndsAtTheModelOrTwoHundredFiftySixMiB) {
  EXPECT_EQ(auto_profile_sizes(4 << 20), (std::vector<size_t>{256 << 10, 1 << 20, 4 << 20}));
  EXPECT_EQ(auto_profile_sizes(size_t(1) << 30).back(), size_t(256) << 20);
  EXPECT_EQ(auto_profile_sizes(1000), (std::vector<size_t>{1000}));
}

TEST(RefinementPlan, BandwidthKneeIsTheFirstSizeNearThePeak) {
  // 1, 2.5, 3.8 and 4 GB/s: 90% of the peak is 3.6 GB/s.
  std::vector<size_t> sizes = {1000000, 4000000, 16000000, 64000000};
  std::vector<double> seconds = {1e-3, 1.6e-3, 16e-3 / 3.8, 16e-3};
  EXPECT_EQ(bandwidth_knee(sizes, seconds, 0.9), 16000000);
}

TEST(RefinementPlan, MedianOfOddAndEvenCounts) {
  EXPECT_EQ(median({3, 1, 2}), 2);
  EXPECT_EQ(median({4, 1, 3, 2}), 2.5);
  EXPECT_EQ(median({}), 0);
}

}  // namespace
}  // namespace tuning
}  // namespace tidal
