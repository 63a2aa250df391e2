// The simulator's sweeps: sizes, the ndring node split, and the data-
// parallel efficiency computed by hand from the model.
#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "bench/sim/sim_sweep.h"

namespace {

namespace cost = tidal::cost;
namespace sim = tidal::sim;

TEST(SimSweep, NodesSplitIntoTwoNearEqualFactorsForNdRing) {
  EXPECT_EQ(sim::default_node_dims(128), (std::vector<int>{16, 8}));
  EXPECT_EQ(sim::default_node_dims(16), (std::vector<int>{4, 4}));
  EXPECT_EQ(sim::default_node_dims(12), (std::vector<int>{4, 3}));
  EXPECT_EQ(sim::default_node_dims(7), (std::vector<int>{7}));
  EXPECT_EQ(sim::default_node_dims(1), (std::vector<int>{1}));
}

TEST(SimSweep, SizesDoubleFromMinToMaxInclusive) {
  cost::Cluster c;
  c.nodes = 4;
  sim::SimMachines m;
  ASSERT_TRUE(sim::make_machines(c, {2, 2}, &m).ok());
  std::vector<sim::SweepRow> rows;
  ASSERT_TRUE(sim::sweep_sizes(m, cost::Collective::kAllGather, 1 << 20, 8 << 20, 2, &rows).ok());
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows.front().bytes, 1 << 20);
  EXPECT_EQ(rows.back().bytes, 8 << 20);
  ASSERT_EQ(rows[0].seconds.size(), sim::all_algorithms().size());
  double ring = 0;
  ASSERT_TRUE(cost::predict(m.two_tier, cost::Algorithm::kRing, cost::Collective::kAllGather,
                            1 << 20, &ring).ok());
  EXPECT_DOUBLE_EQ(rows[0].seconds[0], ring);
  EXPECT_EQ(sim::sweep_sizes(m, cost::Collective::kAllGather, 0, 8, 2, &rows).code(),
            TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(sim::sweep_sizes(m, cost::Collective::kAllGather, 8, 4, 2, &rows).code(),
            TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(sim::sweep_sizes(m, cost::Collective::kAllGather, 1, 4, 1, &rows).code(),
            TIDAL_ERR_INVALID_ARGUMENT);
}

// One node of 8 GPUs, 100 MiB of gradients in 25 MiB buckets: 4 full
// all-reduces back to back; the backward pass hides 2/3 of the compute.
TEST(SimSweep, DataParallelEfficiencyIsComputeOverComputePlusExposedComm) {
  cost::Cluster c;
  sim::DataParallelStep step;
  step.compute_s = 0.01;
  step.model_bytes = 100.0 * (1 << 20);
  step.bucket_bytes = 25.0 * (1 << 20);
  std::vector<sim::ScalingRow> rows;
  ASSERT_TRUE(sim::scaling_sweep(c, step, 8, &rows).ok());
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].gpus, 8);
  const double bucket = 2 * (7 * c.intra_alpha_s + 7.0 / 8 * step.bucket_bytes / c.intra_beta_Bps);
  EXPECT_NEAR(rows[0].comm_s[0], 4 * bucket, 1e-12);
  const double exposed = std::max(4 * bucket - step.overlap * step.compute_s, bucket);
  EXPECT_NEAR(rows[0].efficiency[0], step.compute_s / (step.compute_s + exposed), 1e-12);
}

TEST(SimSweep, ScalingGoesFromOneNodeToTheLargestPowerOfTwoNodeCount) {
  cost::Cluster c;
  std::vector<sim::ScalingRow> rows;
  ASSERT_TRUE(sim::scaling_sweep(c, sim::DataParallelStep(), 16384, &rows).ok());
  ASSERT_EQ(rows.size(), 12u);  // 8, 16, ..., 16384 GPUs
  EXPECT_EQ(rows.back().gpus, 16384);
  for (size_t i = 1; i < rows.size(); ++i) {
    // More nodes never make the flat ring more efficient.
    EXPECT_LE(rows[i].efficiency[0], rows[i - 1].efficiency[0] + 1e-12);
  }
  // At 16384 GPUs the torus keeps more of the step than the flat ring.
  EXPECT_GT(rows.back().efficiency[1], rows.back().efficiency[0]);
  EXPECT_EQ(sim::scaling_sweep(c, sim::DataParallelStep(), 4, &rows).code(),
            TIDAL_ERR_INVALID_ARGUMENT);
  sim::DataParallelStep bad;
  bad.overlap = 1.5;
  EXPECT_EQ(sim::scaling_sweep(c, bad, 64, &rows).code(), TIDAL_ERR_INVALID_ARGUMENT);
}

}  // namespace
