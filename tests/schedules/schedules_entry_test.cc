// The entry point: routing on a backend without native collectives, the
// auto choice, bad input, determinism, pipelined chunks and trace output.
#include <gtest/gtest.h>

#include <cmath>
#include <thread>

#include "collectives/schedules/schedule_entry.h"
#include "tests/common/exact_values.h"
#include "tests/common/local_ranks.h"
#include "lib/transport/local/local_transport.h"
#include "tests/schedules/p2p_only_transport.h"
#include "tests/schedules/schedule_check.h"

namespace {

// Runs body(comm) on communicators built over p2p-only transports.
void run_p2p_only(int n, const std::function<void(tidal::Communicator&)>& body) {
  auto transports = tidal_testing::P2POnlyTransport::group(n);
  std::vector<std::unique_ptr<tidal::Communicator>> comms(static_cast<size_t>(n));
  for (int r = 0; r < n; ++r) {
    ASSERT_TRUE(tidal::Communicator::create(std::move(transports[r]), tidal::Config(),
                                            &comms[r]).ok());
  }
  std::vector<std::thread> threads;
  for (int r = 0; r < n; ++r) threads.emplace_back([&, r] { body(*comms[r]); });
  for (auto& t : threads) t.join();
}

TEST(ScheduleEntry, NativeOnABackendWithoutCollectivesRunsTheRing) {
  run_p2p_only(5, [](tidal::Communicator& comm) {
    const size_t count = 13;
    auto in = tidal_testing::make_input(TIDAL_F32, TIDAL_SUM, comm.rank(), count, 5);
    std::vector<float> out(count, -1);
    tidal::CollectiveCall call{tidal::CollKind::kAllReduce, in.data(), out.data(), count,
                               TIDAL_F32, TIDAL_SUM, 0};
    tidal::RequestPtr r;
    ASSERT_TRUE(tidal::queue_collective(comm, call, TIDAL_SCHEDULE_NATIVE, &r).ok());
    tidal::Status s = comm.wait(r);
    ASSERT_TRUE(s.ok()) << s.message();
    for (size_t i = 0; i < count; ++i) {
      float want = 0;
      tidal_testing::expected_reduction(TIDAL_F32, TIDAL_SUM, i, 5, &want);
      EXPECT_EQ(out[i], want) << i;
    }
  });
}

TEST(ScheduleEntry, AutoOnABackendWithoutCollectivesStillRuns) {
  run_p2p_only(4, [](tidal::Communicator& comm) {
    std::vector<int32_t> in(3, comm.rank()), out(12, -1);
    tidal::CollectiveCall call{tidal::CollKind::kAllGather, in.data(), out.data(), 3,
                               TIDAL_I32, TIDAL_SUM, 0};
    tidal::RequestPtr r;
    ASSERT_TRUE(tidal::queue_collective(comm, call, TIDAL_SCHEDULE_AUTO, &r).ok());
    ASSERT_TRUE(comm.wait(r).ok());
    for (int i = 0; i < 12; ++i) EXPECT_EQ(out[i], i / 3);
  });
}

TEST(ScheduleEntry, AutoMatchesNativeBitwiseAcrossNodes) {
  tidal_config_t config = TIDAL_CONFIG_INITIALIZER;
  config.topology = "2x4";
  tidal_testing::run_local_ranks(8, [](tidal_comm_t comm, int) {
    tidal_testing::check_all_schedules(comm, {TIDAL_F32, TIDAL_BF16}, {0, 5, 1031},
                                       {TIDAL_SCHEDULE_AUTO});
  }, &config);
}

TEST(ScheduleEntry, ConfigScheduleAppliesToThePlainCollectives) {
  tidal_config_t config = TIDAL_CONFIG_INITIALIZER;
  config.topology = "3x2";
  config.schedule = TIDAL_SCHEDULE_TORUS2D;
  tidal_testing::run_local_ranks(6, [](tidal_comm_t comm, int rank) {
    std::vector<int64_t> in(6 * 4), out(4);
    for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<int64_t>(i) * (rank + 1);
    ASSERT_EQ(tidal_reduce_scatter(in.data(), out.data(), 4, TIDAL_I64, TIDAL_SUM, comm,
                                   nullptr), TIDAL_SUCCESS) << tidal_last_error();
    for (size_t i = 0; i < 4; ++i) EXPECT_EQ(out[i], static_cast<int64_t>(rank * 4 + i) * 21);
  }, &config);
}

TEST(ScheduleEntry, UnknownScheduleAndMismatchedTopologyAreInvalidArguments) {
  tidal_config_t config = TIDAL_CONFIG_INITIALIZER;
  config.topology = "2x3";
  tidal_testing::run_local_ranks(4, [](tidal_comm_t comm, int) {
    float x = 1, y = 0;
    EXPECT_EQ(tidal_all_reduce_ex(&x, &y, 1, TIDAL_F32, TIDAL_SUM,
                                  static_cast<tidal_schedule_t>(17), comm, nullptr),
              TIDAL_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(tidal_all_reduce_ex(&x, &y, 1, TIDAL_F32, TIDAL_SUM, TIDAL_SCHEDULE_RING, comm,
                                  nullptr),
              TIDAL_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(tidal_last_error()).find("2x3 has 6 ranks"), std::string::npos)
        << tidal_last_error();
    // Nothing was queued, so the communicator still works natively.
    EXPECT_EQ(tidal_all_reduce_ex(&x, &y, 1, TIDAL_F32, TIDAL_SUM, TIDAL_SCHEDULE_NATIVE, comm,
                                  nullptr), TIDAL_SUCCESS);
    EXPECT_EQ(y, 4.0f);
  }, &config);
}

TEST(ScheduleEntry, AScheduleOnADeviceMemoryBackendIsUnsupportedBeforeQueuing) {
  auto group = tidal_testing::P2POnlyTransport::group(1, tidal::MemoryKind::kDevice);
  std::unique_ptr<tidal::Communicator> comm;
  tidal::Status made = tidal::Communicator::create(std::move(group[0]), tidal::Config(), &comm);
  if (!made.ok()) GTEST_SKIP() << "no device engine in this build: " << made.message();
  float x = 1, y = 0;
  tidal::CollectiveCall call{tidal::CollKind::kAllReduce, &x, &y, 1, TIDAL_F32, TIDAL_SUM, 0};
  for (int s : {TIDAL_SCHEDULE_RING, TIDAL_SCHEDULE_TORUS2D, TIDAL_SCHEDULE_NDRING,
                TIDAL_SCHEDULE_NATIVE}) {
    tidal::RequestPtr r;
    tidal::Status st = tidal::queue_collective(*comm, call, s, &r);
    EXPECT_EQ(st.code(), TIDAL_ERR_UNSUPPORTED) << s;  // native routes to the ring here
    EXPECT_NE(st.message().find("device memory"), std::string::npos) << st.message();
    EXPECT_EQ(r, nullptr);
  }
}

TEST(ScheduleEntry, ScheduleNamesRoundTrip) {
  tidal_schedule_t s = TIDAL_SCHEDULE_UNSET;
  ASSERT_EQ(tidal_schedule_from_name("torus2d", &s), TIDAL_SUCCESS);
  EXPECT_EQ(s, TIDAL_SCHEDULE_TORUS2D);
  EXPECT_STREQ(tidal_schedule_name(TIDAL_SCHEDULE_NDRING), "ndring");
  EXPECT_EQ(tidal_schedule_from_name("tree", &s), TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tidal_schedule_from_name(nullptr, &s), TIDAL_ERR_INVALID_ARGUMENT);
}

TEST(ScheduleEntry, RepeatedScheduledReductionsAreBitwiseIdentical) {
  tidal_config_t config = TIDAL_CONFIG_INITIALIZER;
  config.topology = "2x3";
  tidal_testing::run_local_ranks(6, [](tidal_comm_t comm, int rank) {
    const size_t count = 5000;  // inexact sums: the fold order matters
    std::vector<float> in(count * 6), a(count * 6), b(count * 6);
    for (size_t i = 0; i < in.size(); ++i) in[i] = 1.0f / static_cast<float>(1 + (i * 7 + rank * 13) % 101);
    for (tidal_schedule_t s : {TIDAL_SCHEDULE_RING, TIDAL_SCHEDULE_TORUS2D}) {
      ASSERT_EQ(tidal_all_reduce_ex(in.data(), a.data(), in.size(), TIDAL_F32, TIDAL_SUM, s,
                                    comm, nullptr), TIDAL_SUCCESS);
      ASSERT_EQ(tidal_all_reduce_ex(in.data(), b.data(), in.size(), TIDAL_F32, TIDAL_SUM, s,
                                    comm, nullptr), TIDAL_SUCCESS);
      EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * 4), 0);
    }
  }, &config);
}

TEST(ScheduleEntry, PipelinedChunksOfALargeAllReduceMatchNative) {
  tidal_config_t config = TIDAL_CONFIG_INITIALIZER;
  config.topology = "2x2";
  tidal_testing::run_local_ranks(4, [](tidal_comm_t comm, int) {
    // 3 Mi f32 = 12 MiB: three 4 MiB chunks, staggered one round apart.
    tidal_testing::ScheduleCase c{comm, 0, 4, TIDAL_SCHEDULE_TORUS2D, TIDAL_F32,
                                  size_t(3) << 20};
    tidal_comm_rank(comm, &c.rank);
    auto in = tidal_testing::make_input(TIDAL_F32, TIDAL_SUM, c.rank, c.count, 4);
    for (tidal_schedule_t s : {TIDAL_SCHEDULE_RING, TIDAL_SCHEDULE_TORUS2D}) {
      c.schedule = s;
      tidal_testing::compare(c, c.count, c.where("all_reduce"), [&](tidal_schedule_t x, tidal_comm_t cm,
                                                                   void* o) {
        return tidal_all_reduce_ex(in.data(), o, c.count, TIDAL_F32, TIDAL_SUM, x, cm, nullptr);
      });
    }
  }, &config);
}

// A torus reduce-scatter of >= 2 MiB reads its strided input block by block
// (a message per block in the first phase) instead of copying it into
// position order: the same bits as native, for sum, average and max, out of
// place and in place, over 2x2 and 2x3, with the rings of messages
// (TIDAL_SCHEDULE_PHASES auto picks them at this size on local threads).
TEST(ScheduleEntry, LargeTorusReduceScatterReadsItsInputBlockByBlockAndMatchesNative) {
  for (const char* layout : {"2x2", "2x3"}) {
    tidal_config_t config = TIDAL_CONFIG_INITIALIZER;
    config.topology = layout;
    const int n = tidal_testing::layout_world(layout);
    tidal_testing::run_local_ranks(n, [&](tidal_comm_t comm, int) {
      for (tidal_dtype_t dtype : {TIDAL_F32, TIDAL_BF16}) {
        // 3 MiB of input per rank at f32: chunked, and over the threshold.
        const size_t count = (size_t(3) << 20) / 4 / static_cast<size_t>(n) + 7;
        tidal_testing::ScheduleCase c{comm, 0, n, TIDAL_SCHEDULE_TORUS2D, dtype, count};
        tidal_comm_rank(comm, &c.rank);
        for (tidal_op_t op : {TIDAL_SUM, TIDAL_AVG, TIDAL_MAX}) {
          auto in = tidal_testing::make_input(dtype, op, c.rank, count * n, n);
          tidal_testing::compare(c, count, c.where("reduce_scatter", op),
                                 [&](tidal_schedule_t x, tidal_comm_t cm, void* o) {
            return tidal_reduce_scatter_ex(in.data(), o, count, dtype, op, x, cm, nullptr);
          });
        }
        if (dtype == TIDAL_F32) tidal_testing::check_in_place(c);
      }
    }, &config);
  }
}

TEST(ScheduleEntry, TraceLevelPrintsTheStepList) {
  tidal_config_t config = TIDAL_CONFIG_INITIALIZER;
  config.log_level = TIDAL_LOG_TRACE;
  testing::internal::CaptureStderr();
  tidal_testing::run_local_ranks(2, [](tidal_comm_t comm, int) {
    float x = 1, y = 0;
    ASSERT_EQ(tidal_all_reduce_ex(&x, &y, 1, TIDAL_F32, TIDAL_SUM, TIDAL_SCHEDULE_RING, comm,
                                  nullptr), TIDAL_SUCCESS);
  }, &config);
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("schedule 'ring 2' all_reduce rank 1/2"), std::string::npos) << err;
  EXPECT_NE(err.find("recv-reduce"), std::string::npos) << err;
  tidal_config_t quiet = TIDAL_CONFIG_INITIALIZER;
  quiet.log_level = TIDAL_LOG_WARN;
  tidal_testing::run_local_ranks(1, [](tidal_comm_t, int) {}, &quiet);  // restore the level
}

// On local threads `auto` phases run natively below 2 MiB and as rings of
// messages above (where rings that fold on receive are faster): the traced
// schedule name says which ran, and both give the native result.
TEST(ScheduleEntry, LocalAutoPhasesAreNativeWhenSmallAndRingsWhenLarge) {
  tidal_config_t config = TIDAL_CONFIG_INITIALIZER;
  config.log_level = TIDAL_LOG_TRACE;
  config.topology = "2x2";
  const size_t small = 1024, large = (size_t(4) << 20) / sizeof(float);  // 4 KiB, 4 MiB
  testing::internal::CaptureStderr();
  tidal_testing::run_local_ranks(4, [&](tidal_comm_t comm, int rank) {
    for (size_t count : {small, large}) {
      std::vector<float> in(count), out(count), ref(count);
      for (size_t i = 0; i < count; ++i) in[i] = static_cast<float>((i + rank) % 7);
      ASSERT_EQ(tidal_all_reduce_ex(in.data(), out.data(), count, TIDAL_F32, TIDAL_SUM,
                                    TIDAL_SCHEDULE_TORUS2D, comm, nullptr), TIDAL_SUCCESS);
      ASSERT_EQ(tidal_all_reduce(in.data(), ref.data(), count, TIDAL_F32, TIDAL_SUM, comm,
                                 nullptr), TIDAL_SUCCESS);
      EXPECT_EQ(out, ref) << count;
    }
  }, &config);
  const std::string err = testing::internal::GetCapturedStderr();
  tidal_config_t quiet = TIDAL_CONFIG_INITIALIZER;
  quiet.log_level = TIDAL_LOG_WARN;
  tidal_testing::run_local_ranks(1, [](tidal_comm_t, int) {}, &quiet);  // restore the level
  EXPECT_NE(err.find("schedule 'torus2d+native 2x2' all_reduce rank 0/4 dtype f32"),
            std::string::npos);
  EXPECT_NE(err.find("schedule 'torus2d 2x2' all_reduce rank 0/4 dtype f32"), std::string::npos);
  EXPECT_TRUE(tidal::LocalTransport::create_group(1)[0]->native_phases_faster(1 << 20));
  EXPECT_FALSE(tidal::LocalTransport::create_group(1)[0]->native_phases_faster(2 << 20));
}

}  // namespace
