// Ring attention on the rotation equals full attention (f64); gradient
// blocks return to their owners with every rank's partial added once;
// the Ulysses all-to-all re-shards sequence <-> heads; bad input.
#include <gtest/gtest.h>

#include <cmath>

#include "collectives/schedules/rotation_order.h"
#include "tests/common/local_ranks.h"
#include "tests/schedules/schedule_check.h"
#include "tidal/ring_attention.h"

namespace {

constexpr int kQ = 3, kK = 2, kD = 4;  // query rows, key rows per rank, head dim

double q_at(int r, int i, int k) { return std::sin(1.0 + r * 7 + i * 3 + k); }
double k_at(int r, int j, int k) { return std::cos(2.0 + r * 5 + j * 11 + k * 0.5); }
double v_at(int r, int j, int k) { return std::sin(0.3 * (r * 13 + j * 2 + k) + 0.1); }

std::vector<double> kv_block(int owner) {
  std::vector<double> b(2 * kK * kD);
  for (int j = 0; j < kK; ++j) {
    for (int k = 0; k < kD; ++k) {
      b[j * kD + k] = k_at(owner, j, k);
      b[kK * kD + j * kD + k] = v_at(owner, j, k);
    }
  }
  return b;
}

// Online softmax state of one query row.
struct RowState {
  double max = -INFINITY, sum = 0, acc[kD] = {0};
  void add(const double* q, const double* keys, const double* values, int rows) {
    for (int j = 0; j < rows; ++j) {
      double score = 0;
      for (int k = 0; k < kD; ++k) score += q[k] * keys[j * kD + k];
      score /= std::sqrt(static_cast<double>(kD));
      const double next = std::max(max, score);
      const double scale = std::exp(max - next), w = std::exp(score - next);
      sum = sum * scale + w;
      for (int k = 0; k < kD; ++k) acc[k] = acc[k] * scale + w * values[j * kD + k];
      max = next;
    }
  }
};

// Full attention of rank r's queries over every rank's keys, directly.
std::vector<double> full_attention(int r, int world) {
  std::vector<double> out(kQ * kD);
  for (int i = 0; i < kQ; ++i) {
    double q[kD];
    for (int k = 0; k < kD; ++k) q[k] = q_at(r, i, k);
    std::vector<double> scores;
    for (int o = 0; o < world; ++o) {
      for (int j = 0; j < kK; ++j) {
        double s = 0;
        for (int k = 0; k < kD; ++k) s += q[k] * k_at(o, j, k);
        scores.push_back(s / std::sqrt(static_cast<double>(kD)));
      }
    }
    double top = -INFINITY, total = 0;
    for (double s : scores) top = std::max(top, s);
    for (double s : scores) total += std::exp(s - top);
    for (int o = 0, idx = 0; o < world; ++o) {
      for (int j = 0; j < kK; ++j, ++idx) {
        const double p = std::exp(scores[idx] - top) / total;
        for (int k = 0; k < kD; ++k) out[i * kD + k] += p * v_at(o, j, k);
      }
    }
  }
  return out;
}

void ring_attention_matches_full(tidal_comm_t comm, int rank, int world) {
  tidal_ring_rotation_t rot = nullptr;
  ASSERT_EQ(tidal_ring_rotation_create(comm, nullptr, 0, 2 * kK * kD, TIDAL_F64,
                                       TIDAL_ROTATE_BLOCKS, &rot), TIDAL_SUCCESS)
      << tidal_last_error();
  RowState rows[kQ];
  ASSERT_EQ(tidal_ring_rotation_start(rot, kv_block(rank).data()), TIDAL_SUCCESS);
  for (int s = 0; s < world; ++s) {
    if (s > 0) ASSERT_EQ(tidal_ring_rotation_wait(rot), TIDAL_SUCCESS) << tidal_last_error();
    const void* data = nullptr;
    ASSERT_EQ(tidal_ring_rotation_current(rot, &data, nullptr, nullptr), TIDAL_SUCCESS);
    const double* kv = static_cast<const double*>(data);
    for (int i = 0; i < kQ; ++i) {
      double q[kD];
      for (int k = 0; k < kD; ++k) q[k] = q_at(rank, i, k);
      rows[i].add(q, kv, kv + kK * kD, kK);
    }
  }
  const std::vector<double> want = full_attention(rank, world);
  for (int i = 0; i < kQ; ++i) {
    for (int k = 0; k < kD; ++k) {
      const double got = rows[i].acc[k] / rows[i].sum;
      EXPECT_NEAR(got, want[i * kD + k], 1e-12 * (1 + std::fabs(want[i * kD + k])))
          << "rank " << rank << " row " << i << " dim " << k;
    }
  }
  tidal_ring_rotation_destroy(rot);
}

class AttentionLayouts : public ::testing::TestWithParam<std::string> {};

TEST_P(AttentionLayouts, RingAttentionOverRotatedBlocksEqualsFullAttention) {
  tidal_config_t config = TIDAL_CONFIG_INITIALIZER;
  config.topology = GetParam().c_str();
  const int world = tidal_testing::layout_world(GetParam());
  tidal_testing::run_local_ranks(world, [&](tidal_comm_t comm, int rank) {
    ring_attention_matches_full(comm, rank, world);
  }, &config);
}

// Rank r's partial for block b: bit r (split over two doubles so 64 ranks
// stay exact) and (b+1)*(r+1): the owner's total proves every rank added
// exactly once, to the right block.
std::vector<double> partial(int r, int b) {
  return {r < 32 ? std::ldexp(1.0, r) : 0.0, r >= 32 ? std::ldexp(1.0, r - 32) : 0.0,
          static_cast<double>((b + 1) * (r + 1))};
}

void gradients_return_home(tidal_comm_t comm, int rank, int world) {
  tidal_ring_rotation_t fwd = nullptr, bwd = nullptr;
  ASSERT_EQ(tidal_ring_rotation_create(comm, nullptr, 0, 3, TIDAL_F64, TIDAL_ROTATE_BLOCKS,
                                       &fwd), TIDAL_SUCCESS) << tidal_last_error();
  ASSERT_EQ(tidal_ring_rotation_create(comm, nullptr, 0, 3, TIDAL_F64, TIDAL_ROTATE_GRADIENTS,
                                       &bwd), TIDAL_SUCCESS) << tidal_last_error();
  const double mine[3] = {0, 0, 0};
  ASSERT_EQ(tidal_ring_rotation_start(fwd, mine), TIDAL_SUCCESS);
  ASSERT_EQ(tidal_ring_rotation_start(bwd, nullptr), TIDAL_SUCCESS) << tidal_last_error();
  for (int s = 0; s < world; ++s) {
    if (s > 0) ASSERT_EQ(tidal_ring_rotation_wait(fwd), TIDAL_SUCCESS);
    int fid = -1, bid = -2;
    tidal_ring_rotation_current(fwd, nullptr, &fid, nullptr);
    tidal_ring_rotation_current(bwd, nullptr, &bid, nullptr);
    EXPECT_EQ(fid, bid) << "backward steps pair with forward steps";
    ASSERT_EQ(tidal_ring_rotation_accumulate(bwd, partial(rank, bid).data()), TIDAL_SUCCESS)
        << tidal_last_error();
  }
  double total[3] = {-1, -1, -1};
  ASSERT_EQ(tidal_ring_rotation_finish(bwd, total), TIDAL_SUCCESS) << tidal_last_error();
  double lo = 0, hi = 0, weighted = 0;
  for (int r = 0; r < world; ++r) {
    auto p = partial(r, rank);
    lo += p[0];
    hi += p[1];
    weighted += p[2];
  }
  EXPECT_EQ(total[0], lo);
  EXPECT_EQ(total[1], hi);
  EXPECT_EQ(total[2], weighted);
  EXPECT_EQ(tidal_ring_rotation_accumulate(bwd, total), TIDAL_ERR_INVALID_USAGE);
  tidal_ring_rotation_destroy(fwd);
  tidal_ring_rotation_destroy(bwd);
}

TEST_P(AttentionLayouts, GradientBlocksReturnToTheirOwnersWithEveryPartialOnce) {
  tidal_config_t config = TIDAL_CONFIG_INITIALIZER;
  config.topology = GetParam().c_str();
  const int world = tidal_testing::layout_world(GetParam());
  tidal_testing::run_local_ranks(world, [&](tidal_comm_t comm, int rank) {
    gradients_return_home(comm, rank, world);
  }, &config);
}

INSTANTIATE_TEST_SUITE_P(Layouts, AttentionLayouts,
                         ::testing::Values("1", "3", "2x3", "3x2", "4x2", "2x4", "2x2x2",
                                           "8x8"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return "layout_" + info.param;
                         });

TEST(Ulysses, SequenceToHeadsGathersTheSequenceOfThisRanksHeadsAndBack) {
  constexpr int P = 4, S = 3, H = 8, Dh = 2, Hp = H / P;
  tidal_testing::run_local_ranks(P, [](tidal_comm_t comm, int rank) {
    // Element value encodes (global sequence row, head, dim).
    auto value = [](int row, int h, int d) { return static_cast<float>(row * 1000 + h * 10 + d); };
    std::vector<float> in(S * H * Dh), heads(P * S * Hp * Dh, -1), back(S * H * Dh, -1);
    for (int s = 0; s < S; ++s)
      for (int h = 0; h < H; ++h)
        for (int d = 0; d < Dh; ++d) in[(s * H + h) * Dh + d] = value(rank * S + s, h, d);
    ASSERT_EQ(tidal_ulysses_all_to_all(in.data(), heads.data(), S, H, Dh, TIDAL_F32,
                                       TIDAL_ULYSSES_SEQ_TO_HEADS, comm, nullptr), TIDAL_SUCCESS)
        << tidal_last_error();
    for (int row = 0; row < P * S; ++row)
      for (int h = 0; h < Hp; ++h)
        for (int d = 0; d < Dh; ++d)
          ASSERT_EQ(heads[(row * Hp + h) * Dh + d], value(row, rank * Hp + h, d))
              << row << " " << h << " " << d;
    tidal_request_t req = nullptr;
    ASSERT_EQ(tidal_ulysses_all_to_all(heads.data(), back.data(), S, H, Dh, TIDAL_F32,
                                       TIDAL_ULYSSES_HEADS_TO_SEQ, comm, &req), TIDAL_SUCCESS);
    ASSERT_EQ(tidal_wait(req), TIDAL_SUCCESS) << tidal_last_error();
    tidal_request_free(req);
    EXPECT_EQ(back, in);
  });
}

TEST(RingAttentionErrors, BadInputIsAClearErrorNotACrash) {
  tidal_testing::run_local_ranks(4, [](tidal_comm_t comm, int) {
    tidal_ring_rotation_t rot = nullptr;
    const int wrong[2] = {3, 2};
    EXPECT_EQ(tidal_ring_rotation_create(comm, wrong, 2, 4, TIDAL_F32, TIDAL_ROTATE_BLOCKS, &rot),
              TIDAL_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(tidal_last_error()).find("3x2"), std::string::npos);
    const int dims[2] = {2, 2};
    EXPECT_EQ(tidal_ring_rotation_create(comm, dims, 2, 0, TIDAL_F32, TIDAL_ROTATE_BLOCKS, &rot),
              TIDAL_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(tidal_ring_rotation_create(comm, dims, 2, 4, TIDAL_F32,
                                         static_cast<tidal_rotation_direction_t>(5), &rot),
              TIDAL_ERR_INVALID_ARGUMENT);
    // A dim count beyond any world is refused before dims[] is read.
    EXPECT_EQ(tidal_ring_rotation_create(comm, dims, 1 << 20, 4, TIDAL_F32, TIDAL_ROTATE_BLOCKS,
                                         &rot),
              TIDAL_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(tidal_last_error()).find("at most 64"), std::string::npos);
    ASSERT_EQ(tidal_ring_rotation_create(comm, dims, 2, 4, TIDAL_F32, TIDAL_ROTATE_BLOCKS, &rot),
              TIDAL_SUCCESS) << tidal_last_error();
    float block[4] = {0};
    EXPECT_EQ(tidal_ring_rotation_wait(rot), TIDAL_ERR_INVALID_USAGE);  // before start
    EXPECT_EQ(tidal_ring_rotation_start(rot, nullptr), TIDAL_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(tidal_ring_rotation_start_borrowed(rot, nullptr), TIDAL_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(tidal_ring_rotation_start_borrowed(nullptr, block), TIDAL_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(tidal_ring_rotation_accumulate(rot, block), TIDAL_ERR_INVALID_USAGE);
    EXPECT_EQ(tidal_ring_rotation_destroy(rot), TIDAL_SUCCESS);
    tidal_ring_rotation_t grads = nullptr;  // a gradient rotation has nothing to borrow
    ASSERT_EQ(tidal_ring_rotation_create(comm, dims, 2, 4, TIDAL_F32, TIDAL_ROTATE_GRADIENTS,
                                         &grads), TIDAL_SUCCESS) << tidal_last_error();
    EXPECT_EQ(tidal_ring_rotation_start_borrowed(grads, block), TIDAL_ERR_INVALID_USAGE);
    EXPECT_NE(std::string(tidal_last_error()).find("gradient rotation"), std::string::npos);
    EXPECT_EQ(tidal_ring_rotation_destroy(grads), TIDAL_SUCCESS);
    // Gradients mode called out of order: clear errors, and the cycle still
    // completes with every rank's partial summed.
    ASSERT_EQ(tidal_ring_rotation_create(comm, dims, 2, 4, TIDAL_F32, TIDAL_ROTATE_GRADIENTS,
                                         &grads), TIDAL_SUCCESS) << tidal_last_error();
    EXPECT_EQ(tidal_ring_rotation_accumulate(grads, block), TIDAL_ERR_INVALID_USAGE);
    EXPECT_NE(std::string(tidal_last_error()).find("accumulate before start"), std::string::npos);
    EXPECT_EQ(tidal_ring_rotation_finish(grads, block), TIDAL_ERR_INVALID_USAGE);
    EXPECT_EQ(tidal_ring_rotation_start(grads, block), TIDAL_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(tidal_last_error()).find("takes no block"), std::string::npos);
    ASSERT_EQ(tidal_ring_rotation_start(grads, nullptr), TIDAL_SUCCESS) << tidal_last_error();
    const float ones[4] = {1, 1, 1, 1};
    ASSERT_EQ(tidal_ring_rotation_accumulate(grads, ones), TIDAL_SUCCESS) << tidal_last_error();
    EXPECT_EQ(tidal_ring_rotation_finish(grads, block), TIDAL_ERR_INVALID_USAGE);
    EXPECT_NE(std::string(tidal_last_error()).find("finish after 1 of 4 accumulates"),
              std::string::npos) << tidal_last_error();
    EXPECT_EQ(tidal_ring_rotation_finish(grads, nullptr), TIDAL_ERR_INVALID_ARGUMENT);
    for (int s = 1; s < 4; ++s) {
      ASSERT_EQ(tidal_ring_rotation_accumulate(grads, ones), TIDAL_SUCCESS) << tidal_last_error();
    }
    EXPECT_EQ(tidal_ring_rotation_accumulate(grads, ones), TIDAL_ERR_INVALID_USAGE);
    EXPECT_NE(std::string(tidal_last_error()).find("call finish"), std::string::npos);
    ASSERT_EQ(tidal_ring_rotation_finish(grads, block), TIDAL_SUCCESS) << tidal_last_error();
    for (float v : block) EXPECT_EQ(v, 4.0f) << "one partial of 1 from each of 4 ranks";
    EXPECT_EQ(tidal_ring_rotation_destroy(grads), TIDAL_SUCCESS);
    ASSERT_EQ(tidal_ring_rotation_create(comm, dims, 2, 4, TIDAL_F32, TIDAL_ROTATE_BLOCKS, &rot),
              TIDAL_SUCCESS);
    EXPECT_EQ(tidal_ring_rotation_finish(rot, block), TIDAL_ERR_INVALID_USAGE);
    EXPECT_NE(std::string(tidal_last_error()).find("finish on a block rotation"),
              std::string::npos);
    EXPECT_EQ(tidal_ring_rotation_destroy(rot), TIDAL_SUCCESS);
    float in[6] = {0}, out[6];
    EXPECT_EQ(tidal_ulysses_all_to_all(in, out, 1, 6, 1, TIDAL_F32, TIDAL_ULYSSES_SEQ_TO_HEADS,
                                       comm, nullptr), TIDAL_ERR_INVALID_ARGUMENT);  // 6 % 4
  });
}

}  // namespace
