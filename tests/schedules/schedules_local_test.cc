// Every schedule x collective x dtype against native, bitwise, on local
// thread ranks, for every factorisation of 1..16 ranks into 1..4 dims and
// for larger layouts up to 64 ranks (fewer dtypes there: 64 threads share
// the test machine's cores). The local backend has native collectives, so
// torus2d and ndring run their phases natively on sub-communicators by
// default (TIDAL_SCHEDULE_PHASES=auto); the P2pPhases tests run the rings
// of messages instead, and the all-reduce counts that divide by the world
// take the native-phase all-reduce.
#include <chrono>
#include <thread>
#include <cstdlib>
#include <string>
#include <vector>

#include "tests/common/local_ranks.h"
#include "tidal/local.h"
#include "tidal/schedule.h"
#include "tests/schedules/schedule_check.h"
#include "topology/layout/rank_layout.h"

namespace {

std::string text_of(const std::vector<int>& dims) {
  std::string s;
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? "x" : "") + std::to_string(dims[i]);
  return s;
}

std::vector<std::string> small_layouts() {
  std::vector<std::string> out;
  for (int n = 1; n <= 16; ++n) {
    for (int ndims = 1; ndims <= 4; ++ndims) {
      for (const auto& dims : tidal::factorisations(n, ndims)) out.push_back(text_of(dims));
    }
  }
  out.push_back("1x4");  // a dim of one rank
  out.push_back("4x1");
  return out;
}

tidal_config_t config_for(const std::string& layout) {
  tidal_config_t config = TIDAL_CONFIG_INITIALIZER;
  config.topology = layout.c_str();
  return config;
}

class SmallLayouts : public ::testing::TestWithParam<std::string> {};

TEST_P(SmallLayouts, EveryScheduleCollectiveAndDtypeMatchesNativeBitwise) {
  const std::string layout = GetParam();
  tidal_config_t config = config_for(layout);
  const int world = tidal_testing::layout_world(layout);
  // Up to 8 ranks every dtype; above, one of each width and kind (the
  // schedule moves bytes; the dtype only enters the fold).
  std::vector<tidal_dtype_t> dtypes(std::begin(tidal_testing::kEveryDtype),
                                    std::end(tidal_testing::kEveryDtype));
  if (world > 8) dtypes = {TIDAL_F32, TIDAL_BF16, TIDAL_I64, TIDAL_FP8_E5M2};
  tidal_testing::run_local_ranks(
      world,
      [&](tidal_comm_t comm, int) {
        // 0, counts that few rank counts divide (7 and 61 are prime), and
        // one that every rank count divides (native-phase all-reduce).
        tidal_testing::check_all_schedules(comm, dtypes,
                                           {0, 7, 61, static_cast<size_t>(world) * 3});
      },
      &config);
}

INSTANTIATE_TEST_SUITE_P(Factorisations, SmallLayouts, ::testing::ValuesIn(small_layouts()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return "layout_" + info.param;
                         });

// The same checks with every phase a ring of messages (TIDAL_SCHEDULE_PHASES=p2p).
class P2pPhases : public ::testing::TestWithParam<std::string> {};

TEST_P(P2pPhases, RingsOfMessagesMatchNativeBitwise) {
  const std::string layout = GetParam();
  tidal_config_t config = config_for(layout);
  const int world = tidal_testing::layout_world(layout);
  setenv("TIDAL_SCHEDULE_PHASES", "p2p", 1);
  tidal_testing::run_local_ranks(
      world,
      [&](tidal_comm_t comm, int) {
        tidal_testing::check_all_schedules(comm, {TIDAL_F32, TIDAL_BF16, TIDAL_I64},
                                           {0, 7, 61, static_cast<size_t>(world) * 3});
      },
      &config);
  unsetenv("TIDAL_SCHEDULE_PHASES");
}

INSTANTIATE_TEST_SUITE_P(Factorisations, P2pPhases,
                         ::testing::Values("2x2", "2x3", "3x2", "1x4", "4x1", "2x2x2", "2x4",
                                           "4x4", "2x2x3"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return "layout_" + info.param;
                         });

// An abort reaches a rank blocked inside a native phase (on a
// sub-communicator), not only the communicator's own transport.
TEST(NativePhases, AbortWakesARankBlockedInAPhase) {
  tidal_config_t config = TIDAL_CONFIG_INITIALIZER;
  config.topology = "2x2";
  config.timeout_s = 120;  // the abort, not the timeout, must end the wait
  std::vector<tidal_comm_t> comms(4);
  ASSERT_EQ(tidal_comm_create_local(4, &config, comms.data()), TIDAL_SUCCESS);
  std::vector<float> in(4 * 8, 1.0f), out(4 * 8, 0.0f);
  // A first torus2d all-reduce on every rank makes the phase sub-communicators.
  std::vector<std::thread> threads;
  for (int r = 0; r < 4; ++r) {
    threads.emplace_back([&, r] {
      EXPECT_EQ(tidal_all_reduce_ex(&in[r * 8], &out[r * 8], 8, TIDAL_F32, TIDAL_SUM,
                                    TIDAL_SCHEDULE_TORUS2D, comms[r], nullptr), TIDAL_SUCCESS)
          << tidal_last_error();
    });
  }
  for (auto& t : threads) t.join();
  // Rank 0 stays away; rank 1 blocks in the first phase, with rank 0.
  tidal_request_t blocked = nullptr;
  ASSERT_EQ(tidal_all_reduce_ex(&in[8], &out[8], 8, TIDAL_F32, TIDAL_SUM, TIDAL_SCHEDULE_TORUS2D,
                                comms[1], &blocked), TIDAL_SUCCESS);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(tidal_comm_abort(comms[1]), TIDAL_SUCCESS);
  EXPECT_EQ(tidal_wait(blocked), TIDAL_ERR_ABORTED) << tidal_comm_last_error(comms[1]);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 10.0);
  tidal_request_free(blocked);
  for (auto c : comms) EXPECT_EQ(tidal_comm_abort(c), TIDAL_SUCCESS);
  for (auto c : comms) EXPECT_EQ(tidal_comm_destroy(c), TIDAL_SUCCESS);
}

class LargeLayouts : public ::testing::TestWithParam<std::string> {};

TEST_P(LargeLayouts, EveryScheduleAndCollectiveMatchesNativeBitwise) {
  const std::string layout = GetParam();
  tidal_config_t config = config_for(layout);
  tidal_testing::run_local_ranks(
      tidal_testing::layout_world(layout),
      [&](tidal_comm_t comm, int) {
        tidal_testing::check_all_schedules(comm, {TIDAL_F32, TIDAL_I64}, {0, 3, 128});
      },
      &config);
}

INSTANTIATE_TEST_SUITE_P(UpTo64, LargeLayouts,
                         ::testing::Values("2x3x4", "4x6", "8x4", "8x8", "2x4x8", "4x4x4"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return "layout_" + info.param;
                         });

}  // namespace
