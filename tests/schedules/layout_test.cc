// Rank layouts: parsing, coordinates, neighbours, per-dim groups, node
// detection, the layout query of the C API, and bad layouts.
#include <gtest/gtest.h>

#include <set>

#include "lib/transport/local/local_transport.h"
#include "tests/schedules/p2p_only_transport.h"
#include "tests/common/local_ranks.h"
#include "tidal/schedule.h"
#include "topology/layout/node_detection.h"

namespace {

using tidal::RankLayout;

TEST(RankLayout, ParsesDimsInnermostFirst) {
  RankLayout l;
  ASSERT_TRUE(RankLayout::parse("8x16", 128, &l).ok());
  EXPECT_EQ(l.ndims(), 2);
  EXPECT_EQ(l.dim(0), 8);
  EXPECT_EQ(l.dim(1), 16);
  EXPECT_EQ(l.to_string(), "8x16");
  // Rank 19 = 3 + 8*2: local index 3 on node 2.
  EXPECT_EQ(l.coord(19, 0), 3);
  EXPECT_EQ(l.coord(19, 1), 2);
}

TEST(RankLayout, CoordinatesRoundTripForEveryRank) {
  RankLayout l;
  ASSERT_TRUE(RankLayout::parse("2x3x4", 24, &l).ok());
  std::set<std::vector<int>> seen;
  for (int r = 0; r < 24; ++r) {
    auto c = l.coords_of(r);
    EXPECT_EQ(l.rank_of(c), r);
    seen.insert(c);
  }
  EXPECT_EQ(seen.size(), 24u);
}

TEST(RankLayout, ShiftedMovesAlongOneDimAndWraps) {
  RankLayout l;
  ASSERT_TRUE(RankLayout::parse("2x3x4", 24, &l).ok());
  const int r = l.rank_of({1, 2, 3});
  EXPECT_EQ(l.shifted(r, 1, 1), l.rank_of({1, 0, 3}));
  EXPECT_EQ(l.shifted(r, 2, -5), l.rank_of({1, 2, 2}));
  EXPECT_EQ(l.shifted(r, 0, 2), r);
  EXPECT_EQ(l.stride(2), 6);
}

TEST(RankLayout, GroupColorIsSharedExactlyByRanksDifferingInThatDim) {
  RankLayout l;
  ASSERT_TRUE(RankLayout::parse("2x3x4", 24, &l).ok());
  for (int a = 0; a < 24; ++a) {
    for (int b = 0; b < 24; ++b) {
      auto ca = l.coords_of(a), cb = l.coords_of(b);
      const bool same_but_dim1 = ca[0] == cb[0] && ca[2] == cb[2];
      EXPECT_EQ(l.group_color(a, 1) == l.group_color(b, 1), same_but_dim1) << a << " " << b;
    }
  }
}

TEST(RankLayout, RejectsLayoutsThatDoNotMatchTheWorld) {
  RankLayout l;
  auto s = RankLayout::parse("3x3", 8, &l);
  EXPECT_EQ(s.code(), TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_NE(s.message().find("9 ranks but the communicator has 8"), std::string::npos)
      << s.message();
  for (const char* bad : {"", "x4", "4x", "2xx2", "0x8", "8x0", "-2x4", "2*4", "99999999999"}) {
    EXPECT_EQ(RankLayout::parse(bad, 8, &l).code(), TIDAL_ERR_INVALID_ARGUMENT) << bad;
  }
  EXPECT_EQ(RankLayout::create({}, 1, &l).code(), TIDAL_ERR_INVALID_ARGUMENT);
}

TEST(RankLayout, FactorisationsListEveryOrderedSplitIntoDimsOfTwoOrMore) {
  EXPECT_EQ(tidal::factorisations(12, 2),
            (std::vector<std::vector<int>>{{2, 6}, {3, 4}, {4, 3}, {6, 2}}));
  EXPECT_EQ(tidal::factorisations(8, 3), (std::vector<std::vector<int>>{{2, 2, 2}}));
  EXPECT_TRUE(tidal::factorisations(7, 2).empty());
  EXPECT_EQ(tidal::factorisations(7, 1), (std::vector<std::vector<int>>{{7}}));
}

TEST(NodeDetection, EqualConsecutiveNodesGiveRanksPerNodeTimesNodes) {
  std::string why;
  auto l = tidal::layout_from_node_ids({5, 5, 5, 9, 9, 9}, &why);
  EXPECT_EQ(l.to_string(), "3x2");
  EXPECT_TRUE(why.empty());
  EXPECT_EQ(tidal::layout_from_node_ids({1, 1, 1, 1}, &why).to_string(), "4");
}

TEST(NodeDetection, UnevenOrInterleavedNodesFallBackToOneFlatDim) {
  std::string why;
  EXPECT_EQ(tidal::layout_from_node_ids({1, 1, 2, 2, 2, 2}, &why).to_string(), "6");
  EXPECT_FALSE(why.empty());
  why.clear();
  EXPECT_EQ(tidal::layout_from_node_ids({1, 2, 1, 2}, &why).to_string(), "4");
  EXPECT_FALSE(why.empty());
  why.clear();
  EXPECT_EQ(tidal::layout_from_node_ids({1, 1, 2, 2, 1, 1}, &why).to_string(), "6");
  EXPECT_FALSE(why.empty());
}

TEST(NodeDetection, LocalRanksAreOneNodeAndTopologyOverridesDetection) {
  tidal_testing::run_local_ranks(6, [](tidal_comm_t comm, int) {
    int dims[4], ndims = 0;
    ASSERT_EQ(tidal_comm_get_layout(comm, dims, 4, &ndims), TIDAL_SUCCESS) << tidal_last_error();
    ASSERT_EQ(ndims, 1);
    EXPECT_EQ(dims[0], 6);
  });
  tidal_config_t config = TIDAL_CONFIG_INITIALIZER;
  config.topology = "3x2";
  tidal_testing::run_local_ranks(6, [](tidal_comm_t comm, int) {
    int dims[1], ndims = 0;
    EXPECT_EQ(tidal_comm_get_layout(comm, dims, 1, &ndims), TIDAL_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(ndims, 2);
    int two[2];
    ASSERT_EQ(tidal_comm_get_layout(comm, two, 2, &ndims), TIDAL_SUCCESS) << tidal_last_error();
    EXPECT_EQ(two[0], 3);
    EXPECT_EQ(two[1], 2);
  }, &config);
}

TEST(NodeDetection, HostnameExchangeOverPointToPointFindsOneNode) {
  // The path UCX/OOB communicators take, exercised over local transports.
  auto transports = tidal_testing::P2POnlyTransport::group(4);
  std::vector<std::vector<uint64_t>> ids(4);
  std::vector<std::thread> threads;
  for (int r = 0; r < 4; ++r) {
    threads.emplace_back([&, r] {
      tidal::Status s = tidal::detect_node_ids(*transports[r], tidal::Deadline::after(30),
                                               &ids[r]);
      EXPECT_TRUE(s.ok()) << s.message();
    });
  }
  for (auto& t : threads) t.join();
  for (int r = 0; r < 4; ++r) EXPECT_EQ(ids[r], std::vector<uint64_t>(4, ids[0][0]));
}

TEST(NodeDetection, SplitByDimsGivesOneGroupPerDimOrderedByCoordinate) {
  auto transports = tidal::LocalTransport::create_group(12);
  RankLayout l;
  ASSERT_TRUE(RankLayout::parse("2x3x2", 12, &l).ok());
  std::vector<std::thread> threads;
  for (int r = 0; r < 12; ++r) {
    threads.emplace_back([&, r] {
      std::vector<std::unique_ptr<tidal::Transport>> subs;
      tidal::Status s = tidal::split_by_dims(*transports[r], l, tidal::Deadline::after(30), &subs);
      ASSERT_TRUE(s.ok()) << s.message();
      ASSERT_EQ(subs.size(), 3u);
      for (int d = 0; d < 3; ++d) {
        EXPECT_EQ(subs[d]->size(), l.dim(d));
        EXPECT_EQ(subs[d]->rank(), l.coord(r, d));
      }
    });
  }
  for (auto& t : threads) t.join();
}

TEST(NodeDetection, MalformedTopologyIsAnInvalidArgument) {
  tidal_config_t config = TIDAL_CONFIG_INITIALIZER;
  config.topology = "3x3";
  tidal_testing::run_local_ranks(4, [](tidal_comm_t comm, int) {
    int dims[4], ndims = 0;
    EXPECT_EQ(tidal_comm_get_layout(comm, dims, 4, &ndims), TIDAL_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(tidal_last_error()).find("3x3"), std::string::npos)
        << tidal_last_error();
  }, &config);
}

}  // namespace
