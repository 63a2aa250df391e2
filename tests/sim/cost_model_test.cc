// The alpha-beta cost model against values computed by hand from the
// formulas in docs/cost-model.md, plus the properties the simulator relies
// on (monotonic in size, torus2d beats the flat ring when latency rules).
#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "topology/cost/cost_model.h"

namespace {

using tidal::cost::Algorithm;
using tidal::cost::Cluster;
using tidal::cost::Collective;
using tidal::cost::Machine;

constexpr double kAlphaIntra = 2e-6, kBetaIntra = 100e9;
constexpr double kAlphaInter = 10e-6, kBetaInter = 10e9;

Machine one_tier(int n) {
  Machine m;
  m.dims.push_back({n, {"intra", kAlphaIntra, kBetaIntra}});
  return m;
}

Machine two_tier(int x, int y) {
  Machine m = one_tier(x);
  m.dims.push_back({y, {"inter", kAlphaInter, kBetaInter}});
  return m;
}

double predict(const Machine& m, Algorithm a, Collective c, double bytes) {
  double t = -1;
  tidal::Status s = tidal::cost::predict(m, a, c, bytes, &t);
  EXPECT_TRUE(s.ok()) << s.message();
  return t;
}

TEST(CostModel, RingAllGatherOnOneTierIsStepsTimesAlphaPlusWireBytesOverBeta) {
  for (int n : {2, 3, 4, 8}) {
    const double bytes = 8 << 20;
    const double want = (n - 1) * kAlphaIntra + (n - 1.0) / n * bytes / kBetaIntra;
    EXPECT_NEAR(predict(one_tier(n), Algorithm::kRing, Collective::kAllGather, bytes), want,
                want * 1e-12) << n << " ranks";
    EXPECT_NEAR(predict(one_tier(n), Algorithm::kRing, Collective::kReduceScatter, bytes),
                want, want * 1e-12);
    EXPECT_NEAR(predict(one_tier(n), Algorithm::kRing, Collective::kAllReduce, bytes),
                2 * want, want * 1e-12);
  }
}

// 4 per node x 2 nodes, flat ring: 7 hops of the 8-hop cycle; the cycle
// has 2*3 intra hops and 2 node crossings. The bottleneck is the node's
// aggregate 4 * beta_inter = 40 GB/s (below beta_intra = 100 GB/s).
TEST(CostModel, FlatRingOverTwoNodesPaysEachHopsOwnAlphaAndTheNodeAggregateBandwidth) {
  const double bytes = 64 << 20;
  const double cycle = 6 * kAlphaIntra + 2 * kAlphaInter;
  const double want = 7.0 / 8 * (cycle + bytes / (4 * kBetaInter));
  EXPECT_NEAR(predict(two_tier(4, 2), Algorithm::kRing, Collective::kAllGather, bytes), want,
              want * 1e-12);
}

// Torus 4 x 2: RS over the 4 intra ranks on all data, then over the 2
// nodes on a quarter of it.
TEST(CostModel, Torus2dIsAnIntraRingOnAllDataThenAnInterRingOnOneXth) {
  const double bytes = 64 << 20;
  const double intra = 3 * kAlphaIntra + 3.0 / 4 * bytes / kBetaIntra;
  const double inter = 1 * kAlphaInter + 1.0 / 2 * (bytes / 4) / kBetaInter;
  EXPECT_NEAR(predict(two_tier(4, 2), Algorithm::kTorus2d, Collective::kReduceScatter, bytes),
              intra + inter, (intra + inter) * 1e-12);
  EXPECT_NEAR(predict(two_tier(4, 2), Algorithm::kTorus2d, Collective::kAllReduce, bytes),
              2 * (intra + inter), (intra + inter) * 1e-12);
}

// ndring over 2 x 3 x 2 (all one tier here): each dim on the data the dims
// inside it left.
TEST(CostModel, NdRingPhasesShrinkTheDataByEachInnerDim) {
  Machine m = one_tier(2);
  m.dims.push_back({3, {"b", 3e-6, 50e9}});
  m.dims.push_back({2, {"c", 7e-6, 20e9}});
  const double s = 12e6;
  const double want = (1 * kAlphaIntra + 0.5 * s / kBetaIntra) +
                      (2 * 3e-6 + 2.0 / 3 * (s / 2) / 50e9) + (1 * 7e-6 + 0.5 * (s / 6) / 20e9);
  EXPECT_NEAR(predict(m, Algorithm::kNdRing, Collective::kAllGather, s), want, want * 1e-12);
}

// Recursive doubling over 8 ranks (4 per node): distances 1 and 2 stay in
// the node, distance 4 crosses; step k moves 2^k blocks of S/8.
TEST(CostModel, TreeIsLogStepsEachOnTheTierItsDistanceCrosses) {
  const double s = 8e6;
  const double want = (kAlphaIntra + 1 * s / 8 / kBetaIntra) +
                      (kAlphaIntra + 2 * s / 8 / kBetaIntra) +
                      (kAlphaInter + 4 * s / 8 / kBetaInter);
  EXPECT_NEAR(predict(two_tier(4, 2), Algorithm::kTree, Collective::kAllGather, s), want,
              want * 1e-12);
  // 6 ranks: 3 steps moving 1, 2 and the last 2 of 5 blocks.
  const double six = 3 * kAlphaIntra + 5 * s / 6 / kBetaIntra;
  EXPECT_NEAR(predict(one_tier(6), Algorithm::kTree, Collective::kAllGather, s), six,
              six * 1e-12);
}

TEST(CostModel, OneRankCostsNothing) {
  for (Algorithm a : {Algorithm::kRing, Algorithm::kTorus2d, Algorithm::kNdRing,
                      Algorithm::kTree}) {
    EXPECT_EQ(predict(one_tier(1), a, Collective::kAllReduce, 1e9), 0.0);
  }
}

TEST(CostModel, EveryAlgorithmGrowsWithSize) {
  Machine m = two_tier(8, 16);
  for (Algorithm a : {Algorithm::kRing, Algorithm::kTorus2d, Algorithm::kNdRing,
                      Algorithm::kTree}) {
    double previous = 0;
    for (double bytes = 1024; bytes <= (1u << 30); bytes *= 4) {
      const double t = predict(m, a, Collective::kAllGather, bytes);
      EXPECT_GT(t, previous) << tidal::cost::algorithm_name(a) << " at " << bytes;
      previous = t;
    }
  }
}

TEST(CostModel, Torus2dBeatsTheFlatRingTwiceOverOnSmallBuffersAtScale) {
  Cluster c;
  c.nodes = 128;  // 1024 GPUs, the default NVLink + 8 x 400 Gb/s cluster
  Machine m;
  ASSERT_TRUE(tidal::cost::machine_from_cluster(c, &m).ok());
  for (double bytes : {1e6, 16e6}) {
    const double ring = predict(m, Algorithm::kRing, Collective::kAllGather, bytes);
    const double torus = predict(m, Algorithm::kTorus2d, Collective::kAllGather, bytes);
    EXPECT_GT(ring / torus, 2.0) << bytes << " bytes";
  }
  tidal::cost::Algorithm best;
  ASSERT_TRUE(tidal::cost::choose(m, Collective::kReduceScatter, 1e6,
                                  {Algorithm::kRing, Algorithm::kTorus2d}, &best).ok());
  EXPECT_EQ(best, Algorithm::kTorus2d);
}

TEST(CostModel, InvalidMachinesAndSizesAreRejectedWithAReason) {
  double t = 0;
  Machine empty;
  EXPECT_EQ(tidal::cost::predict(empty, Algorithm::kRing, Collective::kAllGather, 1, &t).code(),
            TIDAL_ERR_INVALID_ARGUMENT);
  Machine zero_beta = one_tier(4);
  zero_beta.dims[0].link.beta_Bps = 0;
  tidal::Status s = tidal::cost::predict(zero_beta, Algorithm::kRing, Collective::kAllGather, 1, &t);
  EXPECT_EQ(s.code(), TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_NE(s.message().find("beta"), std::string::npos) << s.message();
  Machine no_ranks = one_tier(0);
  EXPECT_FALSE(tidal::cost::validate(no_ranks).ok());
  Machine negative_alpha = one_tier(2);
  negative_alpha.dims[0].link.alpha_s = -1;
  EXPECT_FALSE(tidal::cost::validate(negative_alpha).ok());
  EXPECT_EQ(tidal::cost::predict(one_tier(2), Algorithm::kRing, Collective::kAllGather, -5, &t)
                .code(), TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tidal::cost::predict(one_tier(2), Algorithm::kRing, Collective::kAllGather, NAN, &t)
                .code(), TIDAL_ERR_INVALID_ARGUMENT);
  Cluster c;
  c.nodes = 12;
  Machine m;
  EXPECT_EQ(tidal::cost::machine_for_node_dims(c, {5, 2}, &m).code(), TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_TRUE(tidal::cost::machine_for_node_dims(c, {3, 4}, &m).ok());
  EXPECT_EQ(m.world(), 96);
}

TEST(CostModel, NamesParseBackToTheirValues) {
  for (Algorithm a : {Algorithm::kRing, Algorithm::kTorus2d, Algorithm::kNdRing,
                      Algorithm::kTree}) {
    Algorithm parsed;
    ASSERT_TRUE(tidal::cost::parse_algorithm(tidal::cost::algorithm_name(a), &parsed).ok());
    EXPECT_EQ(parsed, a);
  }
  Algorithm a;
  EXPECT_EQ(tidal::cost::parse_algorithm("butterfly", &a).code(), TIDAL_ERR_INVALID_ARGUMENT);
  Collective c;
  ASSERT_TRUE(tidal::cost::parse_collective("rs", &c).ok());
  EXPECT_EQ(c, Collective::kReduceScatter);
  EXPECT_EQ(tidal::cost::parse_collective("gather", &c).code(), TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_DOUBLE_EQ(tidal::cost::bus_factor(Collective::kAllReduce, 4), 1.5);
  EXPECT_DOUBLE_EQ(tidal::cost::bus_factor(Collective::kAllGather, 4), 0.75);
}

}  // namespace

namespace {

// On a CPU the executor's copies and the folding of received bytes cost
// time too: 4 ranks, S = 8 MB, ring.
TEST(CostModel, ReduceAndCopyRatesAddTheExecutorsLocalWork) {
  Machine m = one_tier(4);
  m.reduce_Bps = 5e9;
  m.copy_Bps = 10e9;
  const double s = 8e6;
  const double wire = 3 * kAlphaIntra + 0.75 * s / kBetaIntra;
  const double reduce = 0.75 * s / 5e9;
  EXPECT_NEAR(predict(m, Algorithm::kRing, Collective::kAllGather, s), wire + s / 4 / 10e9, 1e-15);
  // The ring's folds read the input and write the output: nothing copied.
  EXPECT_NEAR(predict(m, Algorithm::kRing, Collective::kReduceScatter, s), wire + reduce, 1e-15);
  EXPECT_NEAR(predict(m, Algorithm::kRing, Collective::kAllReduce, s), 2 * wire + reduce, 1e-15);
  // A 2 x 2 torus's reduce-scatter reads its input block by block from
  // 2 MiB (no copy) and copies it into position order once below; its
  // all-reduce always folds in place.
  Machine torus = m;
  torus.dims = {{2, m.dims[0].link}, {2, m.dims[0].link}};
  double torus_ag = 0, torus_rs = 0, torus_ar = 0;
  ASSERT_TRUE(tidal::cost::predict(torus, Algorithm::kTorus2d, Collective::kAllGather, s,
                                   &torus_ag).ok());
  ASSERT_TRUE(tidal::cost::predict(torus, Algorithm::kTorus2d, Collective::kReduceScatter, s,
                                   &torus_rs).ok());
  ASSERT_TRUE(tidal::cost::predict(torus, Algorithm::kTorus2d, Collective::kAllReduce, s,
                                   &torus_ar).ok());
  const double torus_pass = torus_ag - s / 4 / 10e9;  // AG = pass + its own block's copy
  EXPECT_NEAR(torus_rs, torus_pass + reduce, 1e-12);  // 8 MB: read block by block
  EXPECT_NEAR(torus_ar, 2 * torus_pass + reduce, 1e-12);
  const double small = 1e6;  // below 2 MiB the torus copies its input in once
  double small_ag = 0, small_rs = 0;
  ASSERT_TRUE(tidal::cost::predict(torus, Algorithm::kTorus2d, Collective::kAllGather, small,
                                   &small_ag).ok());
  ASSERT_TRUE(tidal::cost::predict(torus, Algorithm::kTorus2d, Collective::kReduceScatter,
                                   small, &small_rs).ok());
  EXPECT_NEAR(small_rs, (small_ag - small / 4 / 10e9) + 0.75 * small / 5e9 + small / 10e9,
              1e-12);
  // Folding on receive: the received bytes are moved and folded in one
  // pass, at the slower rate (here the fold: 5 GB/s against 100 GB/s).
  Machine fused = m;
  fused.fold_on_receive = true;
  const double latency = 3 * kAlphaIntra;
  EXPECT_NEAR(predict(fused, Algorithm::kRing, Collective::kReduceScatter, s), latency + reduce,
              1e-15);
  EXPECT_NEAR(predict(fused, Algorithm::kRing, Collective::kAllReduce, s),
              latency + reduce + wire, 1e-15);
  EXPECT_NEAR(predict(fused, Algorithm::kRing, Collective::kAllGather, s),
              predict(m, Algorithm::kRing, Collective::kAllGather, s), 1e-15);
  fused.reduce_Bps = 1e15;  // a fold far faster than the wire: the wire bounds it
  EXPECT_NEAR(predict(fused, Algorithm::kRing, Collective::kReduceScatter, s), wire, 1e-12);
  m.reduce_Bps = -1;
  double t = 0;
  EXPECT_EQ(tidal::cost::predict(m, Algorithm::kRing, Collective::kAllGather, s, &t).code(),
            TIDAL_ERR_INVALID_ARGUMENT);
}

}  // namespace
