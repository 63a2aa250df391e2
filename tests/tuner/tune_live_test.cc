// The tuner on a live communicator (2 local ranks): a profile sweep, the
// refinement with the real grad reducer, and the auto bucket size. Times
// are only checked against deterministic bounds (a step cannot be shorter
// than its synthetic forward + backward sleeps), never against a speed.
#include <atomic>
#include <initializer_list>
#include <mutex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/common/local_ranks.h"
#include "tidal/tune.h"

namespace {

using tidal_testing::run_local_ranks;

// A profile with alpha-beta curves for `kinds` and an empty result, freed
// (and checked) at scope end.
struct TuneHandles {
  tidal_comm_profile_t profile = nullptr;
  tidal_tune_result_t result = nullptr;
  explicit TuneHandles(std::initializer_list<tidal_tune_collective_t> kinds) {
    EXPECT_EQ(tidal_comm_profile_create(&profile), TIDAL_SUCCESS);
    EXPECT_EQ(tidal_tune_result_create(&result), TIDAL_SUCCESS);
    for (tidal_tune_collective_t c : kinds) {
      EXPECT_EQ(tidal_comm_profile_set_alpha_beta(profile, c, 2e-5, 1e9), TIDAL_SUCCESS);
    }
  }
  ~TuneHandles() {
    EXPECT_EQ(tidal_tune_result_destroy(result), TIDAL_SUCCESS);
    EXPECT_EQ(tidal_comm_profile_destroy(profile), TIDAL_SUCCESS);
  }
};

TEST(TuneLive, ProfileSweepIsPositiveAndIdenticalOnEveryRank) {
  const std::vector<size_t> sizes = {64 << 10, 256 << 10, 1 << 20};
  std::vector<std::vector<double>> seconds(2, std::vector<double>(sizes.size(), 0));
  std::atomic<int> progress_calls{0};
  run_local_ranks(2, [&](tidal_comm_t comm, int rank) {
    tidal_measure_options_t o = TIDAL_MEASURE_OPTIONS_INITIALIZER;
    o.repetitions = 2;
    o.progress = [](void* user, size_t, size_t, size_t) {
      ++*static_cast<std::atomic<int>*>(user);
    };
    o.progress_user = &progress_calls;
    ASSERT_EQ(tidal_measure_comm_profile(comm, TIDAL_TUNE_REDUCE_SCATTER, TIDAL_SCHEDULE_UNSET,
                                         sizes.data(), sizes.size(), &o, seconds[rank].data()),
              TIDAL_SUCCESS) << tidal_last_error();
  });
  for (size_t i = 0; i < sizes.size(); ++i) {
    EXPECT_GT(seconds[0][i], 0);
    EXPECT_EQ(seconds[0][i], seconds[1][i]);  // the maximum over ranks
  }
  EXPECT_EQ(progress_calls.load(), 3);  // rank 0 only, once per size
}

// With direct buckets on (the local default) the reducer packs nothing: the
// collectives read the gradients in place, so the pack time is 0; with them
// off it packs every host bucket on the marking thread.
void check_alone_and_pack_times(int direct_buckets) {
  const std::vector<size_t> sizes = {64 << 10, 1 << 20};
  std::vector<std::vector<double>> queued(2, std::vector<double>(sizes.size(), 0));
  std::vector<std::vector<double>> alone(2, std::vector<double>(sizes.size(), 0));
  std::vector<std::vector<double>> pack(2, std::vector<double>(sizes.size(), -1));
  tidal_config_t config = TIDAL_CONFIG_INITIALIZER;
  config.direct_buckets = direct_buckets;
  run_local_ranks(2, [&](tidal_comm_t comm, int rank) {
    tidal_measure_options_t o = TIDAL_MEASURE_OPTIONS_INITIALIZER;
    o.repetitions = 2;
    o.stream_bytes = 4 << 20;
    o.alone_seconds_out = alone[rank].data();
    o.pack_seconds_out = pack[rank].data();
    ASSERT_EQ(tidal_measure_comm_profile(comm, TIDAL_TUNE_REDUCE_SCATTER, TIDAL_SCHEDULE_UNSET,
                                         sizes.data(), sizes.size(), &o, queued[rank].data()),
              TIDAL_SUCCESS) << tidal_last_error();
  }, &config);
  for (size_t i = 0; i < sizes.size(); ++i) {
    EXPECT_GT(alone[0][i], 0);
    EXPECT_EQ(alone[0][i], alone[1][i]);  // the maximum over ranks
    EXPECT_EQ(queued[0][i], queued[1][i]);
    if (direct_buckets) {
      EXPECT_EQ(pack[0][i], 0.0) << "direct buckets pack nothing";
    } else {
      EXPECT_GT(pack[0][i], 0) << "the reducer packs host buckets on the marking thread";
    }
    EXPECT_EQ(pack[0][i], pack[1][i]);
  }
}

TEST(TuneLive, AloneTimesAreMeasuredOnRequestAndAgreeAcrossRanks) {
  check_alone_and_pack_times(/*direct_buckets=*/1);
}

TEST(TuneLive, PackTimesAreMeasuredWhereTheReducerPacks) {
  check_alone_and_pack_times(/*direct_buckets=*/0);
}

TEST(TuneLive, BareAllReduceAndAllGatherProfilesMeasure) {
  const size_t sizes[2] = {128 << 10, 512 << 10};
  run_local_ranks(2, [&](tidal_comm_t comm, int) {
    tidal_measure_options_t o = TIDAL_MEASURE_OPTIONS_INITIALIZER;
    o.repetitions = 1;
    o.include_pack = 0;
    double seconds[2] = {0, 0};
    for (auto kind : {TIDAL_TUNE_ALL_REDUCE, TIDAL_TUNE_ALL_GATHER}) {
      ASSERT_EQ(tidal_measure_comm_profile(comm, kind, TIDAL_SCHEDULE_RING, sizes, 2, &o,
                                           seconds), TIDAL_SUCCESS) << tidal_last_error();
      EXPECT_GT(seconds[0], 0);
      EXPECT_GT(seconds[1], 0);
    }
  });
}

// The two paths the tests above leave: an all-gather profile that includes
// the unpack (a one-bucket tensor list's bucketed all-gather; its pack
// time is 0: the gather packs nothing on the marking thread), and a bare
// reduce-scatter.
TEST(TuneLive, AllGatherWithUnpackAndBareReduceScatterProfilesMeasure) {
  const size_t sizes[2] = {128 << 10, 512 << 10};
  std::vector<std::vector<double>> gathered(2, std::vector<double>(2, 0));
  run_local_ranks(2, [&](tidal_comm_t comm, int rank) {
    tidal_measure_options_t o = TIDAL_MEASURE_OPTIONS_INITIALIZER;
    o.repetitions = 1;
    o.stream_bytes = 4 << 20;
    double pack[2] = {-1, -1};
    o.pack_seconds_out = pack;
    ASSERT_EQ(o.include_pack, 1) << "the default measures what a bucket costs with its pass";
    ASSERT_EQ(tidal_measure_comm_profile(comm, TIDAL_TUNE_ALL_GATHER, TIDAL_SCHEDULE_UNSET, sizes,
                                         2, &o, gathered[rank].data()),
              TIDAL_SUCCESS) << tidal_last_error();
    EXPECT_EQ(pack[0], 0);
    EXPECT_EQ(pack[1], 0);
    o.include_pack = 0;
    o.pack_seconds_out = nullptr;
    double bare[2] = {0, 0};
    ASSERT_EQ(tidal_measure_comm_profile(comm, TIDAL_TUNE_REDUCE_SCATTER, TIDAL_SCHEDULE_RING,
                                         sizes, 2, &o, bare),
              TIDAL_SUCCESS) << tidal_last_error();
    EXPECT_GT(bare[0], 0);
    EXPECT_GT(bare[1], 0);
  });
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_GT(gathered[0][i], 0);
    EXPECT_EQ(gathered[0][i], gathered[1][i]);  // the maximum over ranks
  }
}

TEST(TuneLive, BadSweepArgumentsAreRejectedBeforeAnyCommunication) {
  run_local_ranks(1, [&](tidal_comm_t comm, int) {
    size_t zero = 0;
    double seconds = 0;
    EXPECT_EQ(tidal_measure_comm_profile(comm, TIDAL_TUNE_REDUCE_SCATTER, TIDAL_SCHEDULE_UNSET,
                                         &zero, 1, nullptr, &seconds),
              TIDAL_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(tidal_measure_comm_profile(comm, TIDAL_TUNE_REDUCE_SCATTER, TIDAL_SCHEDULE_UNSET,
                                         nullptr, 1, nullptr, &seconds),
              TIDAL_ERR_INVALID_ARGUMENT);
    tidal_measure_options_t o = TIDAL_MEASURE_OPTIONS_INITIALIZER;
    o.repetitions = 0;
    size_t one = 1 << 20;
    EXPECT_EQ(tidal_measure_comm_profile(comm, TIDAL_TUNE_REDUCE_SCATTER, TIDAL_SCHEDULE_UNSET,
                                         &one, 1, &o, &seconds),
              TIDAL_ERR_INVALID_ARGUMENT);
  });
}

TEST(TuneLive, BadRefineOptionsAreRejectedBeforeAnyStep) {
  run_local_ranks(1, [&](tidal_comm_t comm, int) {
    TuneHandles h({TIDAL_TUNE_REDUCE_SCATTER});
    tidal_tune_inputs_t in = TIDAL_TUNE_INPUTS_INITIALIZER;
    in.grad_bytes = 2 << 20;
    in.bwd_s = 0.02;
    ASSERT_EQ(tidal_tune_bucket_size(&in, h.profile, h.result), TIDAL_SUCCESS);
    const tidal_tune_refine_options_t good = TIDAL_TUNE_REFINE_OPTIONS_INITIALIZER;
    std::vector<tidal_tune_refine_options_t> bad(5, good);
    bad[0].steps = 0;
    bad[1].warmup_steps = -1;
    bad[2].num_tensors = 0;
    bad[3].neighbours = -2;
    bad[4].num_sizes = 3;  // sizes left NULL
    for (const tidal_tune_refine_options_t& o : bad) {
      EXPECT_EQ(tidal_tune_refine(comm, &o, h.result), TIDAL_ERR_INVALID_ARGUMENT);
      EXPECT_NE(std::string(tidal_last_error()).find("refine options"), std::string::npos)
          << tidal_last_error();
    }
    size_t n = 0;  // nothing was measured
    ASSERT_EQ(tidal_tune_result_num_points(h.result, &n), TIDAL_SUCCESS);
    for (size_t i = 0; i < n; ++i) {
      tidal_tune_point_t p = TIDAL_TUNE_POINT_INITIALIZER;
      ASSERT_EQ(tidal_tune_result_point(h.result, i, &p), TIDAL_SUCCESS);
      EXPECT_LT(p.measured_iteration_s, 0) << p.bucket_bytes;
    }
  });
}

TEST(TuneLive, RefinementMeasuresStepsWithTheGradReducer) {
  const double fwd_s = 0.005, bwd_s = 0.02;
  std::vector<size_t> recommended(2, 0);
  std::vector<int> measured_points(2, 0);
  run_local_ranks(2, [&](tidal_comm_t comm, int rank) {
    TuneHandles h({TIDAL_TUNE_REDUCE_SCATTER});
    tidal_comm_profile_t profile = h.profile;
    tidal_tune_result_t result = h.result;
    tidal_tune_inputs_t in = TIDAL_TUNE_INPUTS_INITIALIZER;
    in.grad_bytes = 2 << 20;
    in.bwd_s = bwd_s;
    in.fwd_s = fwd_s;
    ASSERT_EQ(tidal_tune_bucket_size(&in, profile, result), TIDAL_SUCCESS);
    const size_t sizes[2] = {256 << 10, 1 << 20};
    tidal_tune_refine_options_t o = TIDAL_TUNE_REFINE_OPTIONS_INITIALIZER;
    o.sizes = sizes;
    o.num_sizes = 2;
    o.steps = 2;
    o.num_tensors = 16;
    ASSERT_EQ(tidal_tune_refine(comm, &o, result), TIDAL_SUCCESS) << tidal_last_error();
    ASSERT_EQ(tidal_tune_result_recommended(result, &recommended[rank], nullptr, nullptr),
              TIDAL_SUCCESS);
    size_t n = 0;
    ASSERT_EQ(tidal_tune_result_num_points(result, &n), TIDAL_SUCCESS);
    for (size_t i = 0; i < n; ++i) {
      tidal_tune_point_t p = TIDAL_TUNE_POINT_INITIALIZER;
      ASSERT_EQ(tidal_tune_result_point(result, i, &p), TIDAL_SUCCESS);
      if (p.measured_iteration_s < 0) continue;
      ++measured_points[rank];
      EXPECT_GE(p.measured_iteration_s, fwd_s + bwd_s);  // the sleeps alone take that
      if (p.recommended) EXPECT_GT(p.bucket_bytes, 0u);
    }
  });
  EXPECT_GE(measured_points[0], 2);  // the two sizes, plus the model's pick if it differs
  EXPECT_LE(measured_points[0], 3);
  EXPECT_EQ(measured_points[0], measured_points[1]);
  EXPECT_EQ(recommended[0], recommended[1]);  // maxima over ranks: every rank agrees
}

// ZeRO-3: refinement steps run the forward through the param gatherer
// (gather every bucket, prefetching ahead) before the backward.
TEST(TuneLive, ZeRO3RefinementGathersTheParametersInTheForward) {
  const double fwd_s = 0.01, bwd_s = 0.02;
  std::vector<double> measured(2, 0);
  run_local_ranks(2, [&](tidal_comm_t comm, int rank) {
    TuneHandles h({TIDAL_TUNE_REDUCE_SCATTER, TIDAL_TUNE_ALL_GATHER});
    tidal_comm_profile_t profile = h.profile;
    tidal_tune_result_t result = h.result;
    tidal_tune_inputs_t in = TIDAL_TUNE_INPUTS_INITIALIZER;
    in.grad_bytes = 2 << 20;
    in.gather_bytes = 2 << 20;
    in.prefetch_depth = 2;
    in.bwd_s = bwd_s;
    in.fwd_s = fwd_s;
    ASSERT_EQ(tidal_tune_bucket_size(&in, profile, result), TIDAL_SUCCESS) << tidal_last_error();
    const size_t sizes[1] = {256 << 10};
    tidal_tune_refine_options_t o = TIDAL_TUNE_REFINE_OPTIONS_INITIALIZER;
    o.sizes = sizes;
    o.num_sizes = 1;
    o.neighbours = 0;
    o.steps = 2;
    o.num_tensors = 8;
    ASSERT_EQ(tidal_tune_refine(comm, &o, result), TIDAL_SUCCESS) << tidal_last_error();
    size_t n = 0;
    ASSERT_EQ(tidal_tune_result_num_points(result, &n), TIDAL_SUCCESS);
    for (size_t i = 0; i < n; ++i) {
      tidal_tune_point_t p = TIDAL_TUNE_POINT_INITIALIZER;
      ASSERT_EQ(tidal_tune_result_point(result, i, &p), TIDAL_SUCCESS);
      if (p.bucket_bytes == sizes[0]) measured[rank] = p.measured_iteration_s;
    }
  });
  EXPECT_GE(measured[0], fwd_s + bwd_s);  // the sleeps alone take that
  EXPECT_EQ(measured[0], measured[1]);    // maxima over ranks
}

TEST(TuneLive, AutoBucketBytesAgreeAcrossRanks) {
  std::vector<size_t> with_bwd(2, 0), unknown_bwd(2, 0);
  run_local_ranks(2, [&](tidal_comm_t comm, int rank) {
    ASSERT_EQ(tidal_tune_auto_bucket_bytes(comm, 4 << 20, 0.01, &with_bwd[rank]),
              TIDAL_SUCCESS) << tidal_last_error();
    ASSERT_EQ(tidal_tune_auto_bucket_bytes(comm, 4 << 20, 0, &unknown_bwd[rank]),
              TIDAL_SUCCESS) << tidal_last_error();
  });
  for (auto v : {with_bwd, unknown_bwd}) {
    EXPECT_EQ(v[0], v[1]);
    EXPECT_EQ(v[0] % (64 << 10), 0u);
    EXPECT_GE(v[0], size_t(64) << 10);
    EXPECT_LE(v[0], size_t(4) << 20);
  }
}

}  // namespace
