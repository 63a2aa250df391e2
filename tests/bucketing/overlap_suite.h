// overlap_suite.h — the grad reducer (random arrival orders, several marking
// threads, no-sync accumulation, ZeRO-1), the param gatherer (layer helper,
// deferral under a depth and byte cap), bad input and mismatched
// registrations. Runs on any communicator; results are compared bitwise
// with the per-tensor reference.
#pragma once

#include <algorithm>
#include <random>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "tests/bucketing/bucketed_suite.h"
#include "tidal/overlap.h"

namespace tidal_testing {

// Marks every gradient from `threads` threads, in a rank- and
// step-dependent random order (ranks disagree on the order on purpose).
inline void mark_all_shuffled(tidal_grad_reducer_t r, size_t n, int rank, int step,
                              int threads) {
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  std::mt19937 rng(static_cast<unsigned>(rank * 1000 + step));
  std::shuffle(order.begin(), order.end(), rng);
  std::vector<std::thread> pool;
  for (int k = 0; k < threads; ++k) {
    pool.emplace_back([&, k] {
      for (size_t i = static_cast<size_t>(k); i < n; i += static_cast<size_t>(threads)) {
        EXPECT_EQ(tidal_grad_ready(r, order[i]), TIDAL_SUCCESS) << tidal_last_error();
      }
    });
  }
  for (auto& t : pool) t.join();
}

inline tidal_grad_reducer_t make_reducer(tidal_tensor_list_t list, const ListCase& c,
                                         int all_reduce, int pack_on_progress_thread = 0) {
  tidal_grad_reducer_options_t o = TIDAL_GRAD_REDUCER_OPTIONS_INITIALIZER;
  o.all_reduce = all_reduce;
  o.pack_on_progress_thread = pack_on_progress_thread;
  o.op = c.op;
  o.pre_scale = c.pre;
  o.post_scale = c.post;
  tidal_grad_reducer_t r = nullptr;
  EXPECT_EQ(tidal_grad_reducer_create(list, &o, &r), TIDAL_SUCCESS) << tidal_last_error();
  return r;
}

// Two steps of random-order, multi-threaded marking; shard == reference.
// Packs run on the marking threads (host lists that are not zero-copy)
// unless `pack_on_progress_thread`.
inline void check_grad_reducer(tidal_comm_t comm, const ListCase& c,
                               int pack_on_progress_thread = 0) {
  int rank = 0;
  tidal_comm_rank(comm, &rank);
  const auto counts = test_counts();
  TensorSet set(c, counts);
  tidal_tensor_list_t list = make_list(comm, c, &set);
  ASSERT_NE(list, nullptr);
  tidal_grad_reducer_t r = make_reducer(list, c, 0, pack_on_progress_thread);
  ASSERT_NE(r, nullptr);
  void* shard = nullptr;
  size_t bytes = 0;
  ASSERT_EQ(tidal_grad_reducer_shard(r, &shard, &bytes), TIDAL_SUCCESS);
  ASSERT_EQ(bytes, shard_bytes_of(list));
  for (int step = 0; step < 2; ++step) {
    fill_grads(c, rank, counts, &set, step);
    mark_all_shuffled(r, counts.size(), rank, step, 3);
    ASSERT_EQ(tidal_grad_reducer_wait(r), TIDAL_SUCCESS) << c.name << ": " << tidal_last_error();
    auto want = per_tensor_reference(comm, c, counts, [&](size_t t, size_t e) {
      return grad_value(c, rank, t, e, step);
    });
    expect_shard_matches(list, c, shard, want, ("grad reducer step " + std::to_string(step)).c_str());
  }
  const size_t nb = num_buckets(list);
  tidal_bucket_counters_t k;
  ASSERT_EQ(tidal_grad_reducer_get_counters(r, &k), TIDAL_SUCCESS);
  EXPECT_EQ(k.steps, 2u);
  EXPECT_EQ(k.collective_calls, 2 * nb) << "one collective per bucket per step";
  // A direct bucket's reduce-scatter reads the gradients in place: no pack.
  const size_t direct = expected_direct(comm, list, c, /*gather=*/false);
  EXPECT_EQ(k.direct_buckets, 2 * direct);
  EXPECT_EQ(k.pack_calls, c.zero_copy && c.pre == 1.0f ? 0u : 2 * (nb - direct))
      << "one pack per bucket";
  EXPECT_EQ(k.overlapped_passes, c.zero_copy || pack_on_progress_thread ? 0u : 2 * (nb - direct))
      << "where the packs ran";
  EXPECT_LT(nb, counts.size()) << "no per-tensor collectives";
  EXPECT_EQ(tidal_grad_reducer_destroy(r), TIDAL_SUCCESS);
  EXPECT_EQ(tidal_tensor_list_destroy(list), TIDAL_SUCCESS);
}

// A reducer step that starts while a bucketed reduce-scatter of the same
// list is still queued must not write the bucket storage under it: that
// step packs on the progress thread, after the earlier call. Rank 0 joins
// the earlier call 200 ms late, so on every other rank it is still pending
// when the step starts. The next step, on an idle list, packs on the
// marking threads again. Both results equal the reference.
inline void check_reducer_after_unfinished_call(tidal_comm_t comm) {
  ListCase c{"after-unfinished", TIDAL_F32, -1, 0.5f, 1.0f, 0, TIDAL_SUM,
             TIDAL_BUCKET_ORDER_REVERSE};
  int rank = 0;
  tidal_comm_rank(comm, &rank);
  const auto counts = test_counts();
  TensorSet set(c, counts);
  tidal_tensor_list_t list = make_list(comm, c, &set);
  ASSERT_NE(list, nullptr);
  tidal_grad_reducer_t r = make_reducer(list, c, 0);
  ASSERT_NE(r, nullptr);
  const size_t nb = num_buckets(list);
  std::vector<unsigned char> earlier(shard_bytes_of(list));
  fill_grads(c, rank, counts, &set, 0);
  if (rank == 0) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  tidal_bucketed_options_t bo = TIDAL_BUCKETED_OPTIONS_INITIALIZER;
  bo.pre_scale = c.pre;
  tidal_request_t req = nullptr;
  ASSERT_EQ(tidal_bucketed_reduce_scatter(list, earlier.data(), TIDAL_SUM, &bo, &req),
            TIDAL_SUCCESS)
      << tidal_last_error();
  mark_all_shuffled(r, counts.size(), rank, 0, 2);
  ASSERT_EQ(tidal_grad_reducer_wait(r), TIDAL_SUCCESS) << tidal_last_error();
  ASSERT_EQ(tidal_wait(req), TIDAL_SUCCESS) << tidal_last_error();
  tidal_bucket_counters_t k;
  ASSERT_EQ(tidal_grad_reducer_get_counters(r, &k), TIDAL_SUCCESS);
  if (rank != 0) EXPECT_EQ(k.overlapped_passes, 0u) << "packed over a pending call's buckets";
  EXPECT_EQ(k.pack_calls, nb);
  void* shard = nullptr;
  size_t bytes = 0;
  tidal_grad_reducer_shard(r, &shard, &bytes);
  auto want = per_tensor_reference(comm, c, counts, [&](size_t t, size_t e) {
    return grad_value(c, rank, t, e, 0);
  });
  expect_shard_matches(list, c, earlier.data(), want, "the earlier bucketed call");
  expect_shard_matches(list, c, shard, want, "the reducer step after it");
  // The list is idle now: the next step packs on the marking threads.
  fill_grads(c, rank, counts, &set, 1);
  mark_all_shuffled(r, counts.size(), rank, 1, 2);
  ASSERT_EQ(tidal_grad_reducer_wait(r), TIDAL_SUCCESS) << tidal_last_error();
  const uint64_t first_step_callers = k.overlapped_passes;
  tidal_grad_reducer_get_counters(r, &k);
  EXPECT_EQ(k.overlapped_passes - first_step_callers, nb);
  want = per_tensor_reference(comm, c, counts, [&](size_t t, size_t e) {
    return grad_value(c, rank, t, e, 1);
  });
  expect_shard_matches(list, c, shard, want, "the step on an idle list");
  tidal_grad_reducer_destroy(r);
  tidal_tensor_list_destroy(list);
}

// A no-sync step communicates nothing; the next step reduces the sum of
// both steps' gradients (accumulated by the caller in the tensors).
inline void check_no_sync_accumulation(tidal_comm_t comm) {
  ListCase c{"no-sync", TIDAL_F32, -1, 1.0f, 1.0f, 0, TIDAL_SUM, TIDAL_BUCKET_ORDER_REVERSE};
  int rank = 0;
  tidal_comm_rank(comm, &rank);
  const auto counts = test_counts();
  TensorSet set(c, counts);
  tidal_tensor_list_t list = make_list(comm, c, &set);
  ASSERT_NE(list, nullptr);
  tidal_grad_reducer_t r = make_reducer(list, c, 0);
  ASSERT_EQ(tidal_grad_reducer_set_sync(r, 0), TIDAL_SUCCESS);
  fill_grads(c, rank, counts, &set, 0);
  mark_all_shuffled(r, counts.size(), rank, 0, 2);
  ASSERT_EQ(tidal_grad_reducer_wait(r), TIDAL_SUCCESS) << tidal_last_error();
  tidal_bucket_counters_t k;
  tidal_grad_reducer_get_counters(r, &k);
  EXPECT_EQ(k.collective_calls, 0u) << "a no-sync step must not communicate";
  // Backward of the second micro-batch accumulates into the same tensors.
  for (size_t t = 0; t < counts.size(); ++t) {
    float* g = static_cast<float*>(set.data(t));
    for (size_t e = 0; e < counts[t]; ++e) g[e] += grad_value(c, rank, t, e, 1);
  }
  ASSERT_EQ(tidal_grad_reducer_set_sync(r, 1), TIDAL_SUCCESS);
  mark_all_shuffled(r, counts.size(), rank, 1, 2);
  // The stream form waits on the host on a host communicator.
  ASSERT_EQ(tidal_grad_reducer_wait_stream(r, nullptr), TIDAL_SUCCESS) << tidal_last_error();
  void* shard = nullptr;
  size_t bytes = 0;
  tidal_grad_reducer_shard(r, &shard, &bytes);
  auto want = per_tensor_reference(comm, c, counts, [&](size_t t, size_t e) {
    return grad_value(c, rank, t, e, 0) + grad_value(c, rank, t, e, 1);
  });
  expect_shard_matches(list, c, shard, want, "accumulated over a no-sync step");
  tidal_grad_reducer_get_counters(r, &k);
  EXPECT_EQ(k.collective_calls, num_buckets(list));
  EXPECT_EQ(k.steps, 1u);
  tidal_grad_reducer_destroy(r);
  tidal_tensor_list_destroy(list);
}

// ZeRO-1: all-reduce per bucket; the tensors hold the full reduction and
// the shard buffer this rank's part of it.
inline void check_zero1(tidal_comm_t comm, const ListCase& c) {
  int rank = 0;
  tidal_comm_rank(comm, &rank);
  const auto counts = test_counts();
  TensorSet set(c, counts);
  tidal_tensor_list_t list = make_list(comm, c, &set);
  ASSERT_NE(list, nullptr);
  tidal_grad_reducer_t r = make_reducer(list, c, 1);
  fill_grads(c, rank, counts, &set, 0);
  mark_all_shuffled(r, counts.size(), rank, 0, 2);
  ASSERT_EQ(tidal_grad_reducer_wait(r), TIDAL_SUCCESS) << c.name << ": " << tidal_last_error();
  auto want = per_tensor_reference(comm, c, counts, [&](size_t t, size_t e) {
    return grad_value(c, rank, t, e, 0);
  });
  for (size_t t = 0; t < counts.size(); ++t) {
    EXPECT_EQ(std::memcmp(set.data(t), want[t].data(), want[t].size()), 0)
        << c.name << " ZeRO-1 tensor " << t << " is not the full reduction";
  }
  void* shard = nullptr;
  size_t bytes = 0;
  tidal_grad_reducer_shard(r, &shard, &bytes);
  expect_shard_matches(list, c, shard, want, "ZeRO-1 shard");
  // A direct bucket (no scale, no cast) is all-reduced in place on the
  // gradients: no pack. The rule is the all-gather's (nothing scaled).
  const size_t direct = expected_direct(comm, list, c, /*gather=*/true);
  tidal_bucket_counters_t k;
  ASSERT_EQ(tidal_grad_reducer_get_counters(r, &k), TIDAL_SUCCESS);
  EXPECT_EQ(k.direct_buckets, direct) << c.name;
  EXPECT_EQ(k.pack_calls, num_buckets(list) - direct) << c.name;
  tidal_grad_reducer_destroy(r);
  tidal_tensor_list_destroy(list);
}

inline void expect_params_gathered(const ListCase& c, const TensorSet& set, size_t first,
                                   size_t last, const std::vector<size_t>& counts) {
  for (size_t t = first; t <= last; ++t) {
    for (size_t e = 0; e < counts[t]; ++e) {
      if (load(dtype_of(c, t), set.data(t), e) != param_value(c, t, e)) {
        ADD_FAILURE() << "tensor " << t << " element " << e << " not gathered";
        return;
      }
    }
  }
}

// Layer by layer with the helper, then every bucket prefetched at once
// (beyond depth and cap: deferred) and waited in order.
inline void check_param_gatherer(tidal_comm_t comm) {
  ListCase c{"gather", TIDAL_F32, -1};
  const auto counts = test_counts();
  TensorSet set(c, counts);
  tidal_tensor_list_t list = make_list(comm, c, &set);
  ASSERT_NE(list, nullptr);
  std::vector<unsigned char> shard(shard_bytes_of(list), 0);
  write_param_shard(list, c, counts, shard.data());
  tidal_param_gatherer_options_t o = TIDAL_PARAM_GATHERER_OPTIONS_INITIALIZER;
  o.depth = 2;
  o.max_inflight_bytes = 40 << 10;
  tidal_param_gatherer_t g = nullptr;
  ASSERT_EQ(tidal_param_gatherer_create(list, shard.data(), &o, &g), TIDAL_SUCCESS)
      << tidal_last_error();
  const size_t nb = num_buckets(list);
  for (size_t layer = 0; layer * 3 < counts.size(); ++layer) {
    size_t first = layer * 3, last = std::min(counts.size() - 1, first + 2);
    ASSERT_EQ(tidal_param_gather_layer(g, first, last), TIDAL_SUCCESS) << tidal_last_error();
    expect_params_gathered(c, set, first, last, counts);
  }
  tidal_bucket_counters_t k;
  tidal_param_gatherer_get_counters(g, &k);
  EXPECT_EQ(k.collective_calls, nb) << "each bucket gathered once per pass";
  EXPECT_EQ(k.steps, 1u);
  for (auto& s : set.storage) std::fill(s.begin(), s.end(), 0);
  ASSERT_EQ(tidal_param_release(g, SIZE_MAX), TIDAL_SUCCESS);
  for (size_t b = 0; b < nb; ++b) ASSERT_EQ(tidal_param_prefetch(g, b), TIDAL_SUCCESS);
  for (size_t b = 0; b < nb; ++b) ASSERT_EQ(tidal_param_wait_stream(g, b, nullptr), TIDAL_SUCCESS);
  expect_params_gathered(c, set, 0, counts.size() - 1, counts);
  tidal_param_gatherer_get_counters(g, &k);
  EXPECT_EQ(k.collective_calls, 2 * nb);
  EXPECT_EQ(tidal_param_gatherer_destroy(g), TIDAL_SUCCESS);
  EXPECT_EQ(tidal_tensor_list_destroy(list), TIDAL_SUCCESS);
}

// Out-of-range index, double marking, wait too early (documented: an
// error, the step continues), NULLs, unsupported scale, use after destroy.
inline void check_bad_input(tidal_comm_t comm) {
  ListCase c{"bad", TIDAL_F32, -1};
  const auto counts = test_counts();
  TensorSet set(c, counts);
  tidal_tensor_list_t list = make_list(comm, c, &set);
  ASSERT_NE(list, nullptr);
  tidal_grad_reducer_t r = make_reducer(list, c, 0);
  const size_t n = counts.size();
  EXPECT_EQ(tidal_grad_ready(r, n), TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(tidal_last_error()).find("out of range"), std::string::npos);
  EXPECT_EQ(tidal_grad_ready(r, 0), TIDAL_SUCCESS);
  EXPECT_EQ(tidal_grad_ready(r, 0), TIDAL_ERR_INVALID_USAGE);
  EXPECT_NE(std::string(tidal_last_error()).find("twice"), std::string::npos);
  EXPECT_EQ(tidal_grad_reducer_wait(r), TIDAL_ERR_INVALID_USAGE);
  EXPECT_NE(std::string(tidal_last_error()).find("gradient 1 is missing"), std::string::npos)
      << tidal_last_error();
  for (size_t t = 1; t < n; ++t) ASSERT_EQ(tidal_grad_ready(r, t), TIDAL_SUCCESS);
  EXPECT_EQ(tidal_grad_reducer_wait(r), TIDAL_SUCCESS) << tidal_last_error();
  EXPECT_EQ(tidal_grad_reducer_destroy(r), TIDAL_SUCCESS);
  EXPECT_EQ(tidal_grad_ready(r, 0), TIDAL_ERR_INVALID_USAGE) << "use after destroy";
  EXPECT_EQ(tidal_bucketed_reduce_scatter(list, nullptr, TIDAL_SUM, nullptr, nullptr),
            TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tidal_grad_reducer_create(list, nullptr, nullptr), TIDAL_ERR_INVALID_ARGUMENT);
  tidal_param_gatherer_t g = nullptr;
  EXPECT_EQ(tidal_param_gatherer_create(list, nullptr, nullptr, &g), TIDAL_ERR_INVALID_ARGUMENT);
  std::vector<unsigned char> shard(shard_bytes_of(list));
  ASSERT_EQ(tidal_param_gatherer_create(list, shard.data(), nullptr, &g), TIDAL_SUCCESS);
  EXPECT_EQ(tidal_param_wait(g, num_buckets(list)), TIDAL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tidal_param_gather_layer(g, 3, 1), TIDAL_ERR_INVALID_ARGUMENT);
  tidal_param_gatherer_destroy(g);
  EXPECT_EQ(tidal_tensor_list_destroy(list), TIDAL_SUCCESS);
  EXPECT_EQ(tidal_tensor_list_destroy(list), TIDAL_ERR_INVALID_USAGE) << "destroyed twice";

  // Integer tensors cannot be scaled; zero-copy tensors cannot be cast.
  std::vector<int32_t> ints(100);
  tidal_tensor_desc_t d{ints.data(), ints.size(), TIDAL_I32};
  tidal_tensor_list_t il = nullptr;
  ASSERT_EQ(tidal_tensor_list_create(comm, &d, 1, nullptr, &il), TIDAL_SUCCESS);
  std::vector<unsigned char> ishard(shard_bytes_of(il));
  tidal_bucketed_options_t bo = TIDAL_BUCKETED_OPTIONS_INITIALIZER;
  bo.pre_scale = 0.5f;
  EXPECT_EQ(tidal_bucketed_reduce_scatter(il, ishard.data(), TIDAL_SUM, &bo, nullptr),
            TIDAL_ERR_UNSUPPORTED);
  tidal_tensor_list_destroy(il);
  tidal_bucket_options_t zo = TIDAL_BUCKET_OPTIONS_INITIALIZER;
  zo.zero_copy = 1;
  zo.comm_dtype = TIDAL_BF16;
  tidal_tensor_desc_t f{nullptr, 10, TIDAL_F32};
  EXPECT_EQ(tidal_tensor_list_create(comm, &f, 1, &zo, &il), TIDAL_ERR_INVALID_ARGUMENT);
  tidal_tensor_desc_t zero{ints.data(), 0, TIDAL_I32};
  EXPECT_EQ(tidal_tensor_list_create(comm, &zero, 1, nullptr, &il), TIDAL_ERR_INVALID_ARGUMENT);
}

// Rank 0 registers one more tensor: every rank must fail with MISMATCH,
// and the communicator must stay usable.
inline void check_mismatched_registration(tidal_comm_t comm) {
  int rank = 0, size = 0;
  tidal_comm_rank(comm, &rank);
  tidal_comm_size(comm, &size);
  if (size < 2) return;
  std::vector<float> a(100), b(50);
  tidal_tensor_desc_t d[2] = {{a.data(), a.size(), TIDAL_F32}, {b.data(), b.size(), TIDAL_F32}};
  tidal_tensor_list_t list = nullptr;
  EXPECT_EQ(tidal_tensor_list_create(comm, d, rank == 0 ? 2 : 1, nullptr, &list),
            TIDAL_ERR_MISMATCH);
  EXPECT_NE(std::string(tidal_last_error()).find("different tensor list"), std::string::npos)
      << tidal_last_error();
  EXPECT_EQ(list, nullptr);
  int32_t one = 1, total = 0;
  EXPECT_EQ(tidal_all_reduce(&one, &total, 1, TIDAL_I32, TIDAL_SUM, comm, nullptr),
            TIDAL_SUCCESS);
  EXPECT_EQ(total, size);
}

}  // namespace tidal_testing
