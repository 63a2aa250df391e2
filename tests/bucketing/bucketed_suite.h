// bucketed_suite.h — bucketed reduce-scatter and all-gather against the
// per-tensor reference, bitwise, for every case below; plus the counts that
// prove one pack and one collective per bucket, and calls queued back to
// back on one list. Runs on any communicator.
#pragma once

#include <algorithm>

#include <gtest/gtest.h>

#include "tests/bucketing/bucket_test_data.h"

namespace tidal_testing {

inline const std::vector<ListCase>& bucketed_cases() {
  static const std::vector<ListCase> cases = {
      {"f32", TIDAL_F32, -1},
      {"f32-avg", TIDAL_F32, -1, 1.0f, 1.0f, 0, TIDAL_AVG},
      {"f32-scaled", TIDAL_F32, -1, 0.5f, 0.25f},
      {"bf16", TIDAL_BF16, -1},
      {"bf16-scaled", TIDAL_BF16, -1, 0.5f, 2.0f},
      {"f32-as-bf16", TIDAL_F32, TIDAL_BF16},
      {"f32-as-bf16-scaled", TIDAL_F32, TIDAL_BF16, 0.5f, 0.125f},
      {"f32-zero-copy", TIDAL_F32, -1, 1.0f, 1.0f, 1},
      {"f32-zero-copy-scaled", TIDAL_F32, -1, 0.5f, 2.0f, 1},
      {"mixed-reverse", TIDAL_F32, -1, 1.0f, 1.0f, 0, TIDAL_SUM, TIDAL_BUCKET_ORDER_REVERSE, true},
      {"mixed-as-bf16", TIDAL_F32, TIDAL_BF16, 0.5f, 1.0f, 0, TIDAL_SUM,
       TIDAL_BUCKET_ORDER_FORWARD, true},
  };
  return cases;
}

inline void fill_grads(const ListCase& c, int rank, const std::vector<size_t>& counts,
                       TensorSet* set, int step) {
  for (size_t t = 0; t < counts.size(); ++t) {
    for (size_t e = 0; e < counts[t]; ++e) {
      store(dtype_of(c, t), set->data(t), e, grad_value(c, rank, t, e, step));
    }
  }
}

// `serial`: packs/unpacks on the progress thread (passes_on_progress_thread).
inline void check_bucketed_reduce_scatter(tidal_comm_t comm, const ListCase& c, int serial = 0) {
  int rank = 0;
  tidal_comm_rank(comm, &rank);
  const auto counts = test_counts();
  TensorSet set(c, counts);
  tidal_tensor_list_t list = make_list(comm, c, &set);
  ASSERT_NE(list, nullptr);
  fill_grads(c, rank, counts, &set, 0);
  std::vector<unsigned char> shard(shard_bytes_of(list), 0xEE);
  tidal_bucketed_options_t o = TIDAL_BUCKETED_OPTIONS_INITIALIZER;
  o.pre_scale = c.pre;
  o.post_scale = c.post;
  o.passes_on_progress_thread = serial;
  tidal_request_t req = nullptr;
  ASSERT_EQ(tidal_bucketed_reduce_scatter(list, shard.data(), c.op, &o, &req), TIDAL_SUCCESS)
      << c.name << ": " << tidal_last_error();
  ASSERT_EQ(tidal_wait(req), TIDAL_SUCCESS) << c.name << ": " << tidal_last_error();
  tidal_request_free(req);
  auto want = per_tensor_reference(comm, c, counts, [&](size_t t, size_t e) {
    return grad_value(c, rank, t, e, 0);
  });
  expect_shard_matches(list, c, shard.data(), want, "bucketed reduce-scatter");

  // Deterministic counts: one pack and one collective per bucket, never
  // one per tensor (no pack for a direct bucket); an unpack pass only when
  // casting or post-scaling.
  const size_t nb = num_buckets(list);
  const size_t direct = expected_direct(comm, list, c, /*gather=*/false);
  tidal_bucket_counters_t k;
  ASSERT_EQ(tidal_tensor_list_get_counters(list, &k), TIDAL_SUCCESS);
  EXPECT_LT(nb, counts.size()) << c.name;
  EXPECT_EQ(k.collective_calls, nb) << c.name;
  EXPECT_EQ(k.buckets_launched, nb) << c.name;
  EXPECT_EQ(k.direct_buckets, direct) << c.name;
  const bool packs = !c.zero_copy || c.pre != 1.0f;
  EXPECT_EQ(k.pack_calls, packs ? nb - direct : 0u) << c.name;
  size_t unpacking = 0;
  for (size_t b = 0; b < nb; ++b) {
    tidal_bucket_info_t info;
    ASSERT_EQ(tidal_tensor_list_bucket_info(list, b, &info), TIDAL_SUCCESS);
    if (info.dtype != info.comm_dtype || c.post != 1.0f) ++unpacking;
  }
  EXPECT_EQ(k.unpack_calls, unpacking) << c.name;
  // Host lists pack on the list's pack worker, overlapping the collectives.
  EXPECT_EQ(k.overlapped_passes, c.zero_copy || serial ? 0u : nb - direct) << c.name;
  EXPECT_EQ(tidal_tensor_list_destroy(list), TIDAL_SUCCESS);
}

// This rank's shard of the parameters: the values of the runs it owns.
inline void write_param_shard(tidal_tensor_list_t list, const ListCase& c,
                              const std::vector<size_t>& counts, unsigned char* shard) {
  write_owned_values(
      list, counts.size(), [&](size_t t) { return dtype_of(c, t); },
      [&](size_t t, size_t e) { return param_value(c, t, e); }, shard);
}

inline void check_bucketed_all_gather(tidal_comm_t comm, const ListCase& c, int serial = 0) {
  int rank = 0;
  tidal_comm_rank(comm, &rank);
  const auto counts = test_counts();
  TensorSet set(c, counts);
  tidal_tensor_list_t list = make_list(comm, c, &set);
  ASSERT_NE(list, nullptr);
  std::vector<unsigned char> shard(shard_bytes_of(list), 0);
  write_param_shard(list, c, counts, shard.data());
  tidal_bucketed_options_t o = TIDAL_BUCKETED_OPTIONS_INITIALIZER;
  o.pre_scale = c.pre;
  o.post_scale = c.post;
  o.passes_on_progress_thread = serial;
  ASSERT_EQ(tidal_bucketed_all_gather(list, shard.data(), &o, nullptr), TIDAL_SUCCESS)
      << c.name << ": " << tidal_last_error();
  for (size_t t = 0; t < counts.size(); ++t) {
    const tidal_dtype_t sd = dtype_of(c, t), cd = comm_dtype_of(c, t);
    for (size_t e = 0; e < counts[t]; ++e) {
      unsigned char a[4], b[4];
      store(sd, a, 0, param_value(c, t, e));
      store(cd, b, 0, load(sd, a, 0) * c.pre);
      store(sd, a, 0, load(cd, b, 0) * c.post);
      if (std::memcmp(a, static_cast<char*>(set.data(t)) + e * tidal_dtype_size(sd),
                      tidal_dtype_size(sd)) != 0) {
        ADD_FAILURE() << c.name << " all-gather: tensor " << t << " element " << e
                      << " rank " << rank;
        break;
      }
    }
  }
  tidal_bucket_counters_t k;
  ASSERT_EQ(tidal_tensor_list_get_counters(list, &k), TIDAL_SUCCESS);
  const size_t nb = num_buckets(list);
  const size_t direct = expected_direct(comm, list, c, /*gather=*/true);
  EXPECT_EQ(k.collective_calls, nb) << c.name;
  EXPECT_EQ(k.direct_buckets, direct) << c.name;
  // Host lists unpack on the list's pack worker, overlapping the collectives.
  EXPECT_EQ(k.unpack_calls, c.zero_copy && c.post == 1.0f ? 0u : nb - direct) << c.name;
  EXPECT_EQ(k.overlapped_passes, c.zero_copy || serial ? 0u : nb - direct) << c.name;
  EXPECT_EQ(tidal_tensor_list_destroy(list), TIDAL_SUCCESS);
}

// An all-gather and then, without waiting, a reduce-scatter of the same
// list: the second finds the first pending, so it packs on the progress
// thread after the first's unpacks — it reduces the gathered parameters.
// Then the other way round: the all-gather's unpacks wait for the packs.
inline void check_back_to_back_calls(tidal_comm_t comm) {
  ListCase c{"back-to-back", TIDAL_F32, -1, 1.0f, 1.0f, 0, TIDAL_SUM};
  int world = 1;
  tidal_comm_size(comm, &world);
  const auto counts = test_counts();
  TensorSet set(c, counts);
  tidal_tensor_list_t list = make_list(comm, c, &set);
  ASSERT_NE(list, nullptr);
  std::vector<unsigned char> params(shard_bytes_of(list), 0), reduced(params.size(), 0xEE);
  write_param_shard(list, c, counts, params.data());
  tidal_request_t gathered = nullptr, scattered = nullptr;
  ASSERT_EQ(tidal_bucketed_all_gather(list, params.data(), nullptr, &gathered), TIDAL_SUCCESS);
  ASSERT_EQ(tidal_bucketed_reduce_scatter(list, reduced.data(), TIDAL_SUM, nullptr, &scattered),
            TIDAL_SUCCESS);
  ASSERT_EQ(tidal_wait(gathered), TIDAL_SUCCESS) << tidal_last_error();
  ASSERT_EQ(tidal_wait(scattered), TIDAL_SUCCESS) << tidal_last_error();
  tidal_request_free(gathered);
  tidal_request_free(scattered);
  auto want = per_tensor_reference(comm, c, counts, [&](size_t t, size_t e) {
    return param_value(c, t, e);
  });
  expect_shard_matches(list, c, reduced.data(), want, "reduce-scatter queued behind an all-gather");
  // Reduce-scatter then all-gather of the shard it writes (garbage until
  // then): the tensors end up holding the reduction only if the gather ran
  // after the reduce-scatter's packs and collectives.
  std::fill(reduced.begin(), reduced.end(), 0xEE);
  ASSERT_EQ(tidal_bucketed_reduce_scatter(list, reduced.data(), TIDAL_SUM, nullptr, &scattered),
            TIDAL_SUCCESS);
  ASSERT_EQ(tidal_bucketed_all_gather(list, reduced.data(), nullptr, &gathered), TIDAL_SUCCESS);
  ASSERT_EQ(tidal_wait(scattered), TIDAL_SUCCESS) << tidal_last_error();
  ASSERT_EQ(tidal_wait(gathered), TIDAL_SUCCESS) << tidal_last_error();
  tidal_request_free(gathered);
  tidal_request_free(scattered);
  for (size_t t = 0; t < counts.size(); ++t) {
    const float* g = static_cast<const float*>(set.data(t));
    for (size_t e = 0; e < counts[t]; ++e) {
      if (g[e] != static_cast<float>(world) * param_value(c, t, e)) {  // exact: small integers
        ADD_FAILURE() << "tensor " << t << " element " << e << ": " << g[e];
        break;
      }
    }
  }
  EXPECT_EQ(tidal_tensor_list_destroy(list), TIDAL_SUCCESS);
}

inline void run_bucketed_suite(tidal_comm_t comm) {
  for (const ListCase& c : bucketed_cases()) {
    check_bucketed_reduce_scatter(comm, c);
    check_bucketed_all_gather(comm, c);
  }
  check_bucketed_reduce_scatter(comm, bucketed_cases()[6], /*serial=*/1);
  check_bucketed_all_gather(comm, bucketed_cases()[6], /*serial=*/1);
  check_back_to_back_calls(comm);
}

}  // namespace tidal_testing
