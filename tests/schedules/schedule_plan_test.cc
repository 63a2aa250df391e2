// Schedules as data: every rank's steps match its peers' round for round
// for every factorisation up to 64 ranks, the bandwidth and latency terms
// are what the design says, and the printed form lists every step (the
// validator's own rules: schedule_validation_test.cc).
#include <chrono>
#include <cstring>
#include <thread>

#include <gtest/gtest.h>

#include "collectives/schedules/hierarchical_schedule.h"
#include "collectives/schedules/schedule_cost.h"
#include "collectives/schedules/schedule_entry.h"
#include "collectives/schedules/schedule_executor.h"
#include "lib/core/dtype.h"
#include "lib/transport/local/local_transport.h"
#include "tests/schedules/p2p_only_transport.h"
#include "tests/schedules/schedule_sets.h"

namespace {

using tidal::CollectiveCall;
using tidal::CollKind;
using tidal::RankLayout;
using tidal::Schedule;
using tidal_testing::every_rank;

const CollKind kKinds[] = {CollKind::kAllGather, CollKind::kReduceScatter,
                           CollKind::kAllReduce, CollKind::kBroadcast, CollKind::kAllToAll};
const int kSchedules[] = {TIDAL_SCHEDULE_RING, TIDAL_SCHEDULE_TORUS2D, TIDAL_SCHEDULE_NDRING};

TEST(SchedulePlans, SendsMatchReceivesRoundForRoundForEveryFactorisationUpTo64) {
  // 3 Mi f32 elements per block: several pipelined chunks for every kind.
  const size_t counts[] = {5, size_t(3) << 20};
  int layouts = 0;
  std::vector<int> worlds;
  for (int n = 1; n <= 24; ++n) worlds.push_back(n);
  for (int n : {27, 30, 32, 36, 48, 60, 64}) worlds.push_back(n);
  for (int n : worlds) {
    for (int ndims = 1; ndims <= 3; ++ndims) {
      for (const auto& dims : tidal::factorisations(n, ndims)) {
        RankLayout layout;
        ASSERT_TRUE(RankLayout::create(dims, n, &layout).ok());
        ++layouts;
        for (int schedule : kSchedules) {
          for (CollKind kind : kKinds) {
            for (size_t count : counts) {
              if (n > 16 && count > 5) continue;  // chunking is rank-count blind
              CollectiveCall call{kind, nullptr, nullptr, count, TIDAL_F32, TIDAL_SUM, n - 1};
              tidal::Status s = tidal::validate_schedule_set(every_rank(call, schedule, layout));
              ASSERT_TRUE(s.ok()) << layout.to_string() << " " << tidal::coll_kind_name(kind)
                                  << " schedule " << schedule << ": " << s.message();
            }
          }
        }
      }
    }
  }
  EXPECT_GT(layouts, 100);
}

TEST(SchedulePlans, TorusSendsTheRingsBytesInXPlusYRoundsInsteadOfXTimesY) {
  RankLayout layout;
  ASSERT_TRUE(RankLayout::parse("4x8", 32, &layout).ok());
  const size_t count = 1000;
  for (CollKind kind : {CollKind::kAllGather, CollKind::kReduceScatter}) {
    CollectiveCall call{kind, nullptr, nullptr, count, TIDAL_F32, TIDAL_SUM, 0};
    Schedule ring, torus;
    ASSERT_TRUE(tidal::build_schedule(call, 5, TIDAL_SCHEDULE_RING, layout, &ring).ok());
    ASSERT_TRUE(tidal::build_schedule(call, 5, TIDAL_SCHEDULE_TORUS2D, layout, &torus).ok());
    auto rs = tidal::schedule_stats(ring), ts = tidal::schedule_stats(torus);
    EXPECT_EQ(rs.bytes_sent, 31 * count * 4);  // (n-1)/n of the gathered buffer
    EXPECT_EQ(ts.bytes_sent, rs.bytes_sent);
    EXPECT_EQ(rs.messages_sent, 31u);
    EXPECT_EQ(ring.rounds, 31);  // the last fold writes the output: no copy-out round
    if (kind == CollKind::kReduceScatter) {
      EXPECT_EQ(ts.messages_sent, 3u + 7u);  // position-ordered scratch: one per part
      EXPECT_EQ(torus.rounds, 3 + 7);
    } else {
      // Gathered in place: the 7 inter-node messages are single blocks, the
      // intra-node parts are 8 blocks strided in rank order: 3 x 8 messages.
      EXPECT_EQ(ts.messages_sent, 7u + 3u * 8u);
      EXPECT_EQ(torus.rounds, 7 + 3);
    }
  }
}

TEST(SchedulePlans, ChunksArePipelinedStaggerRoundsApart) {
  RankLayout layout;
  ASSERT_TRUE(RankLayout::parse("4x2", 8, &layout).ok());
  // 8 ranks x 1 Mi f32 = 32 MiB gathered: 8 chunks of 4 MiB.
  CollectiveCall call{CollKind::kAllGather, nullptr, nullptr, size_t(1) << 20, TIDAL_F32,
                      TIDAL_SUM, 0};
  EXPECT_EQ(tidal::pipeline_chunks((size_t(1) << 20) * 8 * 4, size_t(1) << 20), 8);
  Schedule torus, ring;
  ASSERT_TRUE(tidal::build_schedule(call, 0, TIDAL_SCHEDULE_TORUS2D, layout, &torus).ok());
  // Per chunk 1 inter-node + 3 intra-node rounds; chunks 3 rounds apart.
  EXPECT_EQ(torus.rounds, 7 * 3 + 4);
  ASSERT_TRUE(tidal::build_schedule(call, 0, TIDAL_SCHEDULE_RING, layout, &ring).ok());
  EXPECT_EQ(ring.rounds, 7 * 1 + 7);  // stagger 1, 7 rounds per chunk, gathers in place
}

TEST(SchedulePlans, PositionsReadDimZeroAsTheMostSignificantDigit) {
  RankLayout layout;
  ASSERT_TRUE(RankLayout::parse("2x3", 6, &layout).ok());
  // rank = c0 + 2*c1; position = c0*3 + c1.
  const int expected[] = {0, 3, 1, 4, 2, 5};
  for (int r = 0; r < 6; ++r) {
    EXPECT_EQ(tidal::position_of(layout, r), expected[r]) << r;
    EXPECT_EQ(tidal::block_at_position(layout, expected[r]), r);
  }
}

TEST(SchedulePlans, PrintedScheduleListsEveryStep) {
  RankLayout layout;
  ASSERT_TRUE(RankLayout::parse("2", 2, &layout).ok());
  CollectiveCall call{CollKind::kReduceScatter, nullptr, nullptr, 3, TIDAL_F32, TIDAL_AVG, 0};
  Schedule s;
  ASSERT_TRUE(tidal::build_schedule(call, 0, TIDAL_SCHEDULE_RING, layout, &s).ok());
  const std::string text = tidal::format_schedule(s);
  EXPECT_NE(text.find("schedule 'ring 2' reduce_scatter rank 0/2"), std::string::npos) << text;
  EXPECT_NE(text.find("send        peer 1 tag 32000 in[3+3]"), std::string::npos) << text;
  EXPECT_NE(text.find("recv-reduce peer 1 tag 32000 -> out[0+3] + in[0+3]"), std::string::npos)
      << text;
  EXPECT_NE(text.find("divide      -> out[0+3]"), std::string::npos) << text;
  EXPECT_EQ(s.steps.size(), 3u);  // send, fold into the output, divide: nothing copied
  EXPECT_EQ(s.scratch_count, 0u);
}

// The first fold of every block reads the input where it lies, the last
// writes the output: a ring reduce-scatter or all-reduce copies nothing,
// and every fold of the first ring phase names its addend.
TEST(SchedulePlans, RingFoldsReadTheInputAndWriteTheOutputWithoutCopies) {
  for (int n : {2, 3, 4, 8}) {
    RankLayout layout;
    ASSERT_TRUE(RankLayout::parse(std::to_string(n), n, &layout).ok());
    for (CollKind kind : {CollKind::kReduceScatter, CollKind::kAllReduce}) {
      // 3 chunks of a 12 MiB reduce-scatter input; one for all-reduce.
      const size_t count = kind == CollKind::kReduceScatter ? (size_t(3) << 20) / n : 1000;
      CollectiveCall call{kind, nullptr, nullptr, count, TIDAL_F32, TIDAL_SUM, 0};
      const auto all = every_rank(call, TIDAL_SCHEDULE_RING, layout);
      ASSERT_TRUE(tidal::validate_schedule_set(all).ok()) << n;
      for (const Schedule& s : all) {
        const auto stats = tidal::schedule_stats(s);
        EXPECT_EQ(stats.bytes_copied, 0u) << n << tidal::format_schedule(s);
        size_t folds = 0, with_addend = 0, from_input = 0;
        for (const auto& st : s.steps) {
          if (st.kind != tidal::StepKind::kRecvReduce) continue;
          ++folds;
          with_addend += st.src.count > 0;
          from_input += st.src.buffer == tidal::BufferId::kInput && st.src.count > 0;
        }
        EXPECT_GT(folds, 0u);
        EXPECT_EQ(with_addend, folds) << "a one-dim ring's every fold is a first touch";
        EXPECT_EQ(from_input, folds);
      }
    }
  }
}

// A torus's first phase sends parts that are strided in the input: reading
// them there would cost a message per block, so it copies the input into
// position order once, as before, and still writes the own block straight
// into the output from its last fold.
TEST(SchedulePlans, TorusCopiesTheInputInOnceAndFoldsItsOwnBlockIntoTheOutput) {
  RankLayout layout;
  ASSERT_TRUE(RankLayout::parse("2x3", 6, &layout).ok());
  CollectiveCall call{CollKind::kReduceScatter, nullptr, nullptr, 10, TIDAL_F32, TIDAL_SUM, 0};
  const auto all = every_rank(call, TIDAL_SCHEDULE_TORUS2D, layout);
  ASSERT_TRUE(tidal::validate_schedule_set(all).ok());
  for (const Schedule& s : all) {
    EXPECT_EQ(tidal::schedule_stats(s).bytes_copied, 6u * 10u * 4u);  // the input, once
    size_t to_output = 0;
    for (const auto& st : s.steps) {
      if (st.kind == tidal::StepKind::kCopy) EXPECT_EQ(st.dst.buffer, tidal::BufferId::kScratch);
      if (st.kind == tidal::StepKind::kRecvReduce && st.dst.buffer == tidal::BufferId::kOutput) {
        ++to_output;
        EXPECT_EQ(st.src.buffer, tidal::BufferId::kScratch);
        EXPECT_EQ(st.src.count, st.dst.count);
      }
    }
    EXPECT_EQ(to_output, 1u) << tidal::format_schedule(s);
  }
}

// From 2 MiB the torus reads its strided input block by block instead:
// nothing copied, one message per block in the first phase (the intra-node
// ring), one per part after it.
TEST(SchedulePlans, LargeTorusReduceScatterReadsItsInputBlockByBlock) {
  RankLayout layout;
  ASSERT_TRUE(RankLayout::parse("2x3", 6, &layout).ok());
  const size_t count = (size_t(1) << 20) / 4;  // 6 MiB of input: over the threshold
  CollectiveCall call{CollKind::kReduceScatter, nullptr, nullptr, count, TIDAL_F32, TIDAL_SUM,
                      0};
  const auto all = every_rank(call, TIDAL_SCHEDULE_TORUS2D, layout);
  ASSERT_TRUE(tidal::validate_schedule_set(all).ok());
  const int chunks = tidal::pipeline_chunks(count * 6 * 4, count);
  for (const Schedule& s : all) {
    const auto stats = tidal::schedule_stats(s);
    EXPECT_EQ(stats.bytes_copied, 0u);
    // Per chunk: the intra-node ring (1 step) sends 3 blocks one by one; the
    // inter-node ring (2 steps) one part each.
    EXPECT_EQ(stats.messages_sent, static_cast<size_t>(chunks) * (3 + 2));
    size_t from_input = 0;
    for (const auto& st : s.steps) {
      from_input += st.kind == tidal::StepKind::kRecvReduce && st.src.count &&
                    st.src.buffer == tidal::BufferId::kInput;
    }
    EXPECT_EQ(from_input, static_cast<size_t>(chunks) * 3);  // the first fold of each block
  }
}

TEST(SchedulePlans, AutoPicksNativeOnOneNodeAndAHierarchyAcrossNodes) {
  RankLayout flat, nodes;
  ASSERT_TRUE(RankLayout::parse("8", 8, &flat).ok());
  ASSERT_TRUE(RankLayout::parse("8x16", 128, &nodes).ok());
  CollectiveCall small{CollKind::kAllReduce, nullptr, nullptr, 256, TIDAL_F32, TIDAL_SUM, 0};
  EXPECT_EQ(tidal::choose_auto(small, flat, true), TIDAL_SCHEDULE_NATIVE);
  EXPECT_EQ(tidal::choose_auto(small, flat, false), TIDAL_SCHEDULE_RING);
  // A backend whose ring beats its own collective (MPI reductions) gets
  // the ring on one node, and wherever the model would pick the flat ring.
  EXPECT_EQ(tidal::choose_auto(small, flat, true, true), TIDAL_SCHEDULE_RING);
  // 1 KiB over 128 ranks: latency-bound, where the torus's 22 rounds beat
  // the ring's 127 inter-node hops.
  EXPECT_EQ(tidal::choose_auto(small, nodes, false), TIDAL_SCHEDULE_TORUS2D);
  CollectiveCall a2a{CollKind::kAllToAll, nullptr, nullptr, 256, TIDAL_F32, TIDAL_SUM, 0};
  EXPECT_EQ(tidal::choose_auto(a2a, nodes, true), TIDAL_SCHEDULE_NATIVE);
  EXPECT_EQ(tidal::choose_auto(a2a, flat, true, true), TIDAL_SCHEDULE_NATIVE);
}

TEST(SchedulePlans, CostFromTheStepListsChargesEveryRoundItsSlowestHop) {
  RankLayout layout;
  ASSERT_TRUE(RankLayout::parse("4x8", 32, &layout).ok());
  // 1 us / 100 GB/s inside a node, 10 us / 10 GB/s between nodes.
  const std::vector<tidal::cost::LinkTier> tiers = {{"intra", 1e-6, 1e11},
                                                    {"inter", 1e-5, 1e10}};
  const size_t count = 256;  // f32 per rank: 1 KiB blocks
  CollectiveCall call{CollKind::kAllGather, nullptr, nullptr, count, TIDAL_F32, TIDAL_SUM, 0};
  double ring = 0, torus = 0;
  ASSERT_TRUE(tidal::estimate_schedule_seconds(every_rank(call, TIDAL_SCHEDULE_RING, layout),
                                               layout, tiers, &ring).ok());
  ASSERT_TRUE(tidal::estimate_schedule_seconds(every_rank(call, TIDAL_SCHEDULE_TORUS2D, layout),
                                               layout, tiers, &torus).ok());
  const double block = count * 4.0;
  // Ring: in each of 31 rounds some rank's hop crosses nodes.
  EXPECT_DOUBLE_EQ(ring, 31 * (1e-5 + block / 1e10));
  // Torus: 7 inter-node rounds of one block, then 3 intra-node rounds of 8.
  EXPECT_DOUBLE_EQ(torus, 7 * (1e-5 + block / 1e10) + 3 * (1e-6 + 8 * block / 1e11));
  EXPECT_EQ(tidal::estimate_schedule_seconds({}, layout, tiers, &ring).code(),
            TIDAL_ERR_INVALID_ARGUMENT);
  // The same torus with native phases (one phase step per dim) is charged
  // as the rings those phases run: the same time, for both directions.
  double native = 0;
  ASSERT_TRUE(tidal::estimate_schedule_seconds(
                  every_rank(call, TIDAL_SCHEDULE_TORUS2D, layout, true), layout, tiers, &native)
                  .ok());
  EXPECT_DOUBLE_EQ(native, torus);
  CollectiveCall rs{CollKind::kReduceScatter, nullptr, nullptr, count, TIDAL_F32, TIDAL_SUM, 0};
  double rs_p2p = 0, rs_native = 0;
  ASSERT_TRUE(tidal::estimate_schedule_seconds(every_rank(rs, TIDAL_SCHEDULE_TORUS2D, layout),
                                               layout, tiers, &rs_p2p).ok());
  ASSERT_TRUE(tidal::estimate_schedule_seconds(
                  every_rank(rs, TIDAL_SCHEDULE_TORUS2D, layout, true), layout, tiers, &rs_native)
                  .ok());
  EXPECT_DOUBLE_EQ(rs_native, rs_p2p);
  // Tiers that do not match the layout, or a tier without bandwidth.
  EXPECT_EQ(tidal::estimate_schedule_seconds(every_rank(call, TIDAL_SCHEDULE_RING, layout), layout,
                                             {tiers[0]}, &ring).code(),
            TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tidal::estimate_schedule_seconds(every_rank(call, TIDAL_SCHEDULE_RING, layout), layout,
                                             {tiers[0], {"inter", 1e-5, 0}}, &ring).code(),
            TIDAL_ERR_INVALID_ARGUMENT);
}

// Native phases: one phase step per dim, each alone in its round, with its
// part one of the equal parts of its whole; valid for every rank; what the
// step list moves is what the rings would; the executor refuses a phase
// without its sub-communicator.
TEST(NativePhasePlans, OnePhaseStepPerDimAloneInItsRound) {
  for (const char* text : {"2x3", "4x2", "2x2x2", "3x1x2", "1x4"}) {
    RankLayout layout;
    const std::string t = text;
    int world = 1;
    for (size_t i = 0, j; i < t.size(); i = j + 1) {
      j = t.find('x', i);
      if (j == std::string::npos) j = t.size();
      world *= std::stoi(t.substr(i, j - i));
    }
    ASSERT_TRUE(RankLayout::parse(text, world, &layout).ok());
    for (int schedule : {TIDAL_SCHEDULE_TORUS2D, TIDAL_SCHEDULE_NDRING}) {
      const int phases_per_direction = schedule == TIDAL_SCHEDULE_TORUS2D
                                           ? layout.collapsed_to_2d().ndims()
                                           : layout.ndims();
      for (CollKind kind : {CollKind::kReduceScatter, CollKind::kAllGather, CollKind::kAllReduce}) {
        const size_t count = static_cast<size_t>(world) * 4;
        CollectiveCall call{kind, nullptr, nullptr, count, TIDAL_F32, TIDAL_SUM, 0};
        for (int r = 0; r < world; ++r) {
          Schedule sched, rings;
          ASSERT_TRUE(tidal::build_schedule(call, r, schedule, layout, &sched, true).ok());
          ASSERT_TRUE(tidal::build_schedule(call, r, schedule, layout, &rings, false).ok());
          ASSERT_TRUE(tidal::validate_schedule(sched).ok())
              << text << " " << tidal::validate_schedule(sched).message();
          int phase_steps = 0;
          for (const tidal::Step& st : sched.steps) {
            phase_steps += st.kind == tidal::StepKind::kPhaseReduceScatter ||
                           st.kind == tidal::StepKind::kPhaseAllGather;
            EXPECT_NE(st.kind, tidal::StepKind::kSend) << "no messages besides the phases";
          }
          const int expected = (kind == CollKind::kAllReduce ? 2 : 1) * phases_per_direction;
          EXPECT_EQ(phase_steps, expected) << text << " " << tidal::coll_kind_name(kind);
          EXPECT_FALSE(sched.phase_dims.empty());
          EXPECT_EQ(tidal::schedule_stats(sched).bytes_sent, tidal::schedule_stats(rings).bytes_sent)
              << text << " " << tidal::coll_kind_name(kind) << " rank " << r;
          EXPECT_NE(tidal::format_schedule(sched).find("phase-"), std::string::npos);
        }
      }
    }
  }
}

TEST(NativePhasePlans, AllReduceOfACountTheWorldDoesNotDivideKeepsTheRings) {
  RankLayout layout;
  ASSERT_TRUE(RankLayout::parse("2x2", 4, &layout).ok());
  CollectiveCall call{CollKind::kAllReduce, nullptr, nullptr, 7, TIDAL_F32, TIDAL_SUM, 0};
  Schedule s;
  ASSERT_TRUE(tidal::build_schedule(call, 1, TIDAL_SCHEDULE_TORUS2D, layout, &s, true).ok());
  EXPECT_TRUE(s.phase_dims.empty());
  EXPECT_EQ(s.name.find("+native"), std::string::npos);
}

TEST(NativePhasePlans, AMalformedPhaseIsRejectedAndTheExecutorNeedsItsSubCommunicator) {
  RankLayout layout;
  ASSERT_TRUE(RankLayout::parse("2x2", 4, &layout).ok());
  float in[8] = {0}, out[2] = {0};
  CollectiveCall call{CollKind::kReduceScatter, in, out, 2, TIDAL_F32, TIDAL_SUM, 0};
  Schedule s;
  ASSERT_TRUE(tidal::build_schedule(call, 0, TIDAL_SCHEDULE_TORUS2D, layout, &s, true).ok());
  auto group = tidal_testing::P2POnlyTransport::group(1, tidal::MemoryKind::kHost);
  tidal::Status st = tidal::execute_schedule(s, *group[0], in, out, tidal::Deadline::after(5),
                                             nullptr);
  EXPECT_EQ(st.code(), TIDAL_ERR_INTERNAL);
  EXPECT_NE(st.message().find("sub-communicator"), std::string::npos) << st.message();
  Schedule bad = s;
  for (tidal::Step& step : bad.steps) {
    if (step.kind == tidal::StepKind::kPhaseReduceScatter) { step.dst.count += 1; break; }
  }
  EXPECT_EQ(tidal::validate_schedule(bad).code(), TIDAL_ERR_INTERNAL);
}

TEST(ScheduleExecutor, RefusesDeviceMemoryTransports) {
  auto group = tidal_testing::P2POnlyTransport::group(1, tidal::MemoryKind::kDevice);
  RankLayout layout;
  ASSERT_TRUE(RankLayout::parse("1", 1, &layout).ok());
  float in = 1, out = 0;
  CollectiveCall call{CollKind::kAllReduce, &in, &out, 1, TIDAL_F32, TIDAL_SUM, 0};
  Schedule s;
  ASSERT_TRUE(tidal::build_schedule(call, 0, TIDAL_SCHEDULE_RING, layout, &s).ok());
  tidal::Status st = tidal::execute_schedule(s, *group[0], &in, &out,
                                             tidal::Deadline::after(5), nullptr);
  EXPECT_EQ(st.code(), TIDAL_ERR_UNSUPPORTED);
  EXPECT_NE(st.message().find("device memory"), std::string::npos) << st.message();
}

// A fold's addend may be read as its message lands: the plan must not have
// another receive of the round write it.
TEST(ScheduleExecutor, FoldingOnReceiveEqualsStagingThenFoldingBitwise) {
  struct Case {
    const char* layout;
    int world;
    CollKind kind;
    tidal_dtype_t dtype;
    tidal_op_t op;
    bool in_place;
    size_t count = 1001;  // per-rank output elements
  };
  const Case cases[] = {
      {"4", 4, CollKind::kReduceScatter, TIDAL_F32, TIDAL_SUM, false},
      {"3", 3, CollKind::kReduceScatter, TIDAL_BF16, TIDAL_AVG, false},
      {"2x3", 6, CollKind::kReduceScatter, TIDAL_F32, TIDAL_SUM, false},
      {"4", 4, CollKind::kAllReduce, TIDAL_F32, TIDAL_AVG, false},
      {"2x2", 4, CollKind::kAllReduce, TIDAL_BF16, TIDAL_SUM, false},
      {"3", 3, CollKind::kAllReduce, TIDAL_F32, TIDAL_SUM, true},
      {"4", 4, CollKind::kReduceScatter, TIDAL_F32, TIDAL_SUM, true},
      // >= 2 MiB: the torus reads its input block by block.
      {"2x2", 4, CollKind::kReduceScatter, TIDAL_F32, TIDAL_SUM, false, 150001},
  };
  for (const Case& c : cases) {
    RankLayout layout;
    ASSERT_TRUE(RankLayout::parse(c.layout, c.world, &layout).ok());
    const size_t count = c.count, es = tidal::dtype_size(c.dtype);
    const size_t in_count = c.kind == CollKind::kReduceScatter ? count * c.world : count;
    auto run = [&](bool staged) {
      std::vector<std::unique_ptr<tidal::Transport>> group;
      if (staged) group = tidal_testing::P2POnlyTransport::group(c.world);
      else group = tidal::LocalTransport::create_group(c.world);
      EXPECT_EQ(group[0]->folds_on_receive(), !staged);
      std::vector<std::vector<unsigned char>> in(c.world), out(c.world);
      std::vector<std::thread> threads;
      for (int r = 0; r < c.world; ++r) {
        in[r].resize(in_count * es);
        for (size_t i = 0; i < in_count; ++i) {
          const float v = static_cast<float>((i * 7 + r * 13) % 17) - 8.0f + 0.375f * r;
          if (c.dtype == TIDAL_F32) std::memcpy(&in[r][i * es], &v, 4);
          else { const uint16_t h = tidal::float_to_bf16(v); std::memcpy(&in[r][i * es], &h, 2); }
        }
        out[r].assign(count * es, 0);
      }
      for (int r = 0; r < c.world; ++r) {
        threads.emplace_back([&, r] {
          void* send = in[r].data();
          void* recv = c.in_place ? (c.kind == CollKind::kReduceScatter
                                         ? in[r].data() + r * count * es
                                         : in[r].data())
                                  : out[r].data();
          CollectiveCall call{c.kind, send, recv, count, c.dtype, c.op, 0};
          Schedule s;
          const int which = layout.ndims() > 1 ? TIDAL_SCHEDULE_TORUS2D : TIDAL_SCHEDULE_RING;
          ASSERT_TRUE(tidal::build_schedule(call, r, which, layout, &s).ok());
          tidal::Status st = tidal::execute_schedule(s, *group[r], send, recv,
                                                     tidal::Deadline::after(30), nullptr);
          EXPECT_TRUE(st.ok()) << st.message();
          if (c.in_place) std::memcpy(out[r].data(), recv, count * es);
        });
      }
      for (auto& t : threads) t.join();
      return out;
    };
    EXPECT_EQ(run(true), run(false)) << c.layout << " " << tidal::coll_kind_name(c.kind);
  }
}

// The local transport's fold on receive: into a separate addend, into the
// target itself, and a message that is not whole elements (an error on
// both sides, not a crash or a hang).
TEST(LocalTransportFold, AReceiveFoldsTheMessageIntoItsTarget) {
  auto group = tidal::LocalTransport::create_group(2);
  const std::vector<float> msg = {1, 2, 3, 4};
  std::vector<float> addend = {10, 20, 30, 40}, out(4, -1), acc = {1, 1, 1, 1};
  std::thread sender([&] {
    tidal::P2POp ops[] = {{tidal::P2POp::kSend, const_cast<float*>(msg.data()), 16, 1, 7},
                          {tidal::P2POp::kSend, const_cast<float*>(msg.data()), 16, 1, 8}};
    EXPECT_TRUE(group[0]->p2p(ops, 2, tidal::Deadline::after(10), nullptr).ok());
  });
  const tidal::P2PFold to_out{TIDAL_F32, TIDAL_SUM, addend.data()};
  const tidal::P2PFold in_place{TIDAL_F32, TIDAL_MAX, acc.data()};
  tidal::P2POp ops[] = {{tidal::P2POp::kRecv, out.data(), 16, 0, 7},
                        {tidal::P2POp::kRecv, acc.data(), 16, 0, 8}};
  ops[0].fold = &to_out;
  ops[1].fold = &in_place;
  EXPECT_TRUE(group[1]->p2p(ops, 2, tidal::Deadline::after(10), nullptr).ok());
  sender.join();
  EXPECT_EQ(out, (std::vector<float>{11, 22, 33, 44}));
  EXPECT_EQ(addend, (std::vector<float>{10, 20, 30, 40}));
  EXPECT_EQ(acc, (std::vector<float>{1, 2, 3, 4}));
}

TEST(LocalTransportFold, FoldingPartOfAnElementIsAnErrorOnBothSides) {
  auto group = tidal::LocalTransport::create_group(2);
  std::vector<float> data = {1, 2};
  tidal::Status send_status;
  std::thread sender([&] {
    tidal::P2POp op{tidal::P2POp::kSend, data.data(), 6, 1, 0};
    send_status = group[0]->p2p(&op, 1, tidal::Deadline::after(10), nullptr);
  });
  std::vector<float> out(2, 0);
  const tidal::P2PFold fold{TIDAL_F32, TIDAL_SUM, out.data()};
  tidal::P2POp op{tidal::P2POp::kRecv, out.data(), 6, 0, 0};
  op.fold = &fold;
  tidal::Status st = group[1]->p2p(&op, 1, tidal::Deadline::after(10), nullptr);
  sender.join();
  EXPECT_EQ(st.code(), TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_NE(st.message().find("not a whole number of f32"), std::string::npos) << st.message();
  EXPECT_EQ(send_status.code(), TIDAL_ERR_INVALID_ARGUMENT) << send_status.message();
  EXPECT_EQ(out, (std::vector<float>{0, 0}));  // nothing folded
}

// A schedule's send waits for its receiver (rendezvous): when no rank ever
// receives it, the sender times out naming the cause, its message is
// withdrawn (the buffer is the caller's again), and the group is failed,
// so the peer's next call reports the failure instead of hanging.
TEST(LocalTransportTimeout, ASendNoRankReceivesTimesOutAndIsWithdrawn) {
  auto group = tidal::LocalTransport::create_group(2);
  std::vector<float> data(4, 1.0f);
  tidal::P2POp send{tidal::P2POp::kSend, data.data(), 16, 1, 3};
  const auto start = std::chrono::steady_clock::now();
  tidal::Status st = group[0]->p2p(&send, 1, tidal::Deadline::after(0.2), nullptr);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 10.0);
  EXPECT_EQ(st.code(), TIDAL_ERR_TIMEOUT);
  EXPECT_NE(st.message().find("rank 0 timed out sending to a peer that never received"),
            std::string::npos) << st.message();
  std::vector<float> out(4, 0.0f);
  tidal::P2POp recv{tidal::P2POp::kRecv, out.data(), 16, 0, 3};
  tidal::Status late = group[1]->p2p(&recv, 1, tidal::Deadline::after(10), nullptr);
  EXPECT_EQ(late.code(), TIDAL_ERR_TIMEOUT) << late.message();
  EXPECT_EQ(out, std::vector<float>(4, 0.0f));  // the withdrawn message was not delivered
}

// A backend that writes what it receives refuses a fold it would ignore.
TEST(LocalTransportFold, OtherBackendsRefuseABatchThatAsksToFold) {
  float x = 0;
  const tidal::P2PFold fold{TIDAL_F32, TIDAL_SUM, &x};
  tidal::P2POp ops[] = {{tidal::P2POp::kSend, &x, 4, 1, 0}, {tidal::P2POp::kRecv, &x, 4, 1, 0}};
  EXPECT_TRUE(tidal::refuse_folds(ops, 2, "mpi").ok());
  ops[1].fold = &fold;
  tidal::Status s = tidal::refuse_folds(ops, 2, "mpi");
  EXPECT_EQ(s.code(), TIDAL_ERR_UNSUPPORTED);
  EXPECT_NE(s.message().find("mpi: a receive cannot fold"), std::string::npos) << s.message();
}

}  // namespace
